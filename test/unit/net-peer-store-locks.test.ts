/**
 * Per-node peer-store locks (src/net/peer-store-locks.ts) on libp2p's own peer store: two nodes in one
 * process each write a record about the same remote peer; the first node's write is held (its datastore
 * stalls) — the second's must not wait for it. With the lock named by the remote peer alone (mortice's
 * process-wide mutexes) it did: every /compeer/ stream of the simulator's 40 nodes waited seconds for
 * the others' peer-store writes before libp2p handed it over.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { defaultLogger } from '@libp2p/logger';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { persistentPeerStore } from '@libp2p/peer-store';
import { MemoryDatastore } from 'datastore-core';
import type { Key } from 'interface-datastore';
import { ownPeerStoreLocks } from '../../src/net/peer-store-locks.ts';

/** A datastore whose next write waits for `hold` (a node busy elsewhere while holding the lock). */
class GatedDatastore extends MemoryDatastore {
  hold: Promise<void> | undefined;
  override async put(key: Key, val: Uint8Array): Promise<Key> {
    const hold = this.hold;
    this.hold = undefined;
    if (hold !== undefined) await hold;
    return super.put(key, val);
  }
}

const newPeerId = async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'));

async function node() {
  const datastore = new GatedDatastore();
  const peerId = await newPeerId();
  const peerStore = persistentPeerStore({ peerId, datastore, logger: defaultLogger(), events: { safeDispatchEvent: () => true, dispatchEvent: () => true } } as unknown as Parameters<typeof persistentPeerStore>[0]);
  return { peerId, datastore, peerStore };
}

describe('peer-store locks', () => {
  it("two nodes in one process: one node's held write about a peer does not hold back the other's", async () => {
    const [a, b, remote] = [await node(), await node(), await newPeerId()];
    assert.equal(ownPeerStoreLocks(a.peerStore, a.peerId.toString()), true, "libp2p's peer store has the shape the fix expects");
    assert.equal(ownPeerStoreLocks(b.peerStore, b.peerId.toString()), true);

    let release = (): void => {};
    a.datastore.hold = new Promise<void>((r) => (release = r));
    const held = a.peerStore.merge(remote, { protocols: ['/compeer/msg/1'] });
    const other = b.peerStore.merge(remote, { protocols: ['/compeer/msg/1'] });
    const first = await Promise.race([other.then(() => 'other node' as const), new Promise<'held'>((r) => setTimeout(() => r('held'), 500))]);
    release();
    await Promise.all([held, other]);
    assert.equal(first, 'other node', "the second node's write went while the first's was held");
    assert.deepEqual((await a.peerStore.get(remote)).protocols, ['/compeer/msg/1']);
    assert.deepEqual((await b.peerStore.get(remote)).protocols, ['/compeer/msg/1']);
  });

  it('one node: its own writes about a peer still take turns (the lock still guards the record)', async () => {
    const [a, remote] = [await node(), await newPeerId()];
    ownPeerStoreLocks(a.peerStore, a.peerId.toString());
    let release = (): void => {};
    a.datastore.hold = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    const one = a.peerStore.merge(remote, { protocols: ['/a/1'] }).then(() => order.push('one'));
    const two = a.peerStore.merge(remote, { protocols: ['/b/1'] }).then(() => order.push('two'));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(order, [], 'the second write waits for the first');
    release();
    await Promise.all([one, two]);
    assert.deepEqual(order, ['one', 'two']);
    assert.deepEqual((await a.peerStore.get(remote)).protocols.sort(), ['/a/1', '/b/1']);
  });

  it('a peer store of another shape is left alone', () => {
    assert.equal(ownPeerStoreLocks({}, 'self'), false);
    assert.equal(ownPeerStoreLocks(undefined, 'self'), false);
  });
});
