/**
 * A relay stopped and started again on the same store (the same onion keys) refuses an onion packet
 * it relayed before the restart (src/node/onion-replay-store.ts; docs/onion.md "Replay cache"): the
 * replay cache is saved at stop and restored at start, and kept in the store. After a crash too —
 * its network gone, no stop, a second node started on its store — for a packet relayed more than the
 * journal's flush interval before: the journal row that holds its tag is in the store.
 * Three real nodes on 127.0.0.1: Alice hands packets built by hand to the relay, which forwards them
 * to Bob.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { systemClock, systemRng } from '../../src/lib/system.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import type { X25519PublicKey } from '../../src/crypto/x25519.ts';
import { buildOnion } from '../../src/protocol/onion/packet.ts';
import { chunkPayload } from '../../src/routing/chunks.ts';
import { decodeHopAnswer, encodeExit, type HopAnswer } from '../../src/routing/exit-frame.ts';
import { CHUNK_CAPACITY } from '../../src/routing/router.ts';
import { ONION_PROTOCOL, startDelivery } from '../../src/node/delivery.ts';
import { createNetNode, type NetNode } from '../../src/net/index.ts';
import { loadOnionKeys } from '../../src/node/onion-keys.ts';
import { openReplayCache, REPLAY_JOURNAL_PREFIX, REPLAY_SNAPSHOT_PREFIX } from '../../src/node/onion-replay-store.ts';
import { memoryNodeStore } from '../../src/node/node-store.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { startCompeer, type TestNode } from './node-helpers.ts';
import { waitFor } from './net-helpers.ts';

/** The node's current onion key, as it reloads it from its store at start. */
const onionKeyOf = (n: TestNode): X25519PublicKey => loadOnionKeys(n.store, systemRng, systemClock).current();

/** A packet for `relay` to forward to `target`, which takes its one chunk. */
function packetVia(relay: TestNode, target: TestNode, text: string): Uint8Array {
  const [chunk] = chunkPayload(utf8(text), CHUNK_CAPACITY, systemRng);
  return buildOnion(
    [
      { routingKey: onionKeyOf(relay), instruction: { kind: 'forward', next: target.node.peerId } },
      { routingKey: onionKeyOf(target), instruction: { kind: 'exit' } },
    ],
    encodeExit({ kind: 'deliver', chunk: chunk as Uint8Array }),
    systemRng,
  );
}

async function hand(from: TestNode, relay: TestNode, packet: Uint8Array): Promise<HopAnswer> {
  return decodeHopAnswer(await from.node.net.request(relay.node.peerId, relay.node.net.addresses(), ONION_PROTOCOL, packet, { timeoutMs: 5_000, maxResponseBytes: 2 }));
}

describe('node: the onion replay cache across a restart', () => {
  const nodes: TestNode[] = [];
  after(async () => {
    for (const n of nodes) await n.node.stop().catch(() => {});
  });

  /** A relay's store holding a saved replay cache with one tag, recorded by 'alice'. */
  const savedCache = () => {
    const store = memoryNodeStore(generateIdentity(systemRng), 'relay');
    const deps = { store, rng: systemRng, log: silentLogger };
    const epoch = loadOnionKeys(store, systemRng, systemClock).epoch();
    const tag = systemRng.bytes(16);
    const saved = openReplayCache(deps, epoch);
    saved.cache.check(tag, epoch, 'alice');
    saved.save();
    return { store, deps, epoch, tag };
  };

  /** Bob, a relay bootstrapped from Bob and connected to him, and Alice (who hands packets to the relay). */
  const threeNodes = async () => {
    const bob = await startCompeer('bob');
    nodes.push(bob);
    const boot = [bob.node.net.addresses()[0] as string];
    const relay = await startCompeer('relay', { bootstrap: boot });
    const alice = await startCompeer('alice');
    nodes.push(relay, alice);
    const linked = (r: TestNode) => () => r.node.net.connections().some((c) => c.peerId === bob.node.peerId);
    assert.ok(await waitFor(linked(relay), 10_000), 'the relay is connected to Bob');
    return { bob, relay, alice, boot, linked };
  };

  test('a relay restarted on its store refuses a packet it relayed before; the saved cache stays in the store', async () => {
    const { bob, relay, alice, boot, linked } = await threeNodes();

    const packet = packetVia(relay, bob, 'before the restart');
    const taken = await hand(alice, relay, packet);
    assert.deepEqual(taken, { status: 'ok', depth: 0 }, 'relayed, and Bob took it');
    assert.equal(relay.logs.find('onion packet relayed').length, 1);
    assert.deepEqual(await hand(alice, relay, packet), { status: 'refused', depth: 0 }, 'a replay before the restart');

    await relay.node.stop();
    assert.ok(relay.store.meta.keys(REPLAY_SNAPSHOT_PREFIX).length >= 1, 'saved at stop');
    const again = await startCompeer('relay', { store: relay.store, bootstrap: boot });
    nodes.push(again);
    assert.equal(again.node.peerId, relay.node.peerId);
    assert.ok(again.store.meta.keys(REPLAY_SNAPSHOT_PREFIX).length >= 1, 'kept at start: with the journal it is half of the state');
    assert.deepEqual(again.store.meta.keys(REPLAY_JOURNAL_PREFIX), [], 'the stop cleared the journal');
    assert.equal(again.logs.find('onion replay cache restored').length, 1);
    assert.ok(await waitFor(linked(again), 10_000), 'the restarted relay is connected to Bob');

    assert.deepEqual(await hand(alice, again, packet), { status: 'refused', depth: 0 }, 'the replay after the restart is refused');
    assert.ok(again.logs.lines.some((l) => l.msg === 'onion packet refused' && l.error === 'replayed layer'));
    assert.equal(again.logs.find('onion packet relayed').length, 0, 'not forwarded');
    assert.deepEqual(await hand(alice, again, packetVia(again, bob, 'after the restart')), { status: 'ok', depth: 0 }, 'a new packet is relayed');
  });

  test('a start that fails after the restore leaves the saved cache in the store', async () => {
    const { store, deps, epoch, tag } = savedCache();
    const busy = await startCompeer('busy');
    nodes.push(busy);
    const taken = (busy.node.net.addresses()[0] as string).replace(/\/p2p\/.*$/, '');
    // Listening where another node already listens: the net node does not start.
    await assert.rejects(startCompeer('relay', { store, net: { listen: [taken] } }), /EADDRINUSE/);
    assert.ok(store.meta.keys(REPLAY_SNAPSHOT_PREFIX).length >= 1, 'still there');
    assert.equal(openReplayCache(deps, epoch).cache.check(tag, epoch, 'mallory'), 'replay');
  });

  test('a start that fails inside startDelivery (a handler not registered) leaves the saved cache in the store', async () => {
    // Before the journal the restore took the snapshot out of the store, and this failure came before
    // the node's catch that put it back: the cache was gone.
    const { store, deps, epoch, tag } = savedCache();
    const net = await createNetNode({ nodeKey: systemRng.bytes(32), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, allowPrivateAddresses: true });
    try {
      const refusing: NetNode = {
        ...net,
        handle: () => Promise.reject(new Error('handler not registered')),
      };
      await assert.rejects(startDelivery({ store, net: refusing, rng: systemRng, clock: systemClock, log: silentLogger, onEnvelope: async () => {} }), /handler not registered/);
    } finally {
      await net.stop();
    }
    assert.ok(store.meta.keys(REPLAY_SNAPSHOT_PREFIX).length >= 1, 'still there');
    assert.equal(openReplayCache(deps, epoch).cache.check(tag, epoch, 'mallory'), 'replay');
  });

  test('a relay that crashed refuses, once started again on its store, a packet it relayed more than a flush interval before', async () => {
    const { bob, relay, alice, boot, linked } = await threeNodes();

    const packet = packetVia(relay, bob, 'before the crash');
    assert.deepEqual(await hand(alice, relay, packet), { status: 'ok', depth: 0 }, 'relayed, and Bob took it');
    // The flush, about a second later (the journal timer): its row holds the packet's tag.
    assert.ok(await waitFor(() => relay.store.meta.keys(REPLAY_JOURNAL_PREFIX).length >= 1, 10_000), 'journalled');
    assert.deepEqual(relay.store.meta.keys(REPLAY_SNAPSHOT_PREFIX), [], 'no snapshot: the relay never stopped');

    // The crash: the network goes, nothing is saved; a new node starts on the same store.
    await relay.node.net.stop();
    const again = await startCompeer('relay', { store: relay.store, bootstrap: boot });
    nodes.push(again);
    assert.equal(again.node.peerId, relay.node.peerId);
    assert.equal(again.logs.find('onion replay cache restored').at(-1)?.tags, 1);
    assert.ok(await waitFor(linked(again), 10_000), 'the restarted relay is connected to Bob');

    assert.deepEqual(await hand(alice, again, packet), { status: 'refused', depth: 0 }, 'the replay after the crash is refused');
    assert.ok(again.logs.lines.some((l) => l.msg === 'onion packet refused' && l.error === 'replayed layer'));
    assert.equal(again.logs.find('onion packet relayed').length, 0, 'not forwarded');
    assert.deepEqual(await hand(alice, again, packetVia(again, bob, 'after the crash')), { status: 'ok', depth: 0 }, 'a new packet is relayed');
  });
});
