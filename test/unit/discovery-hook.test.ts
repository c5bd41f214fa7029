/**
 * discoveryHook wired into createCompeer: three Compeer nodes in a line on TCP 127.0.0.1 (A — B — C);
 * C's peer table, and its public peers() API, learn A from B's re-gossip of A's announcement. A store
 * without a peer table runs without discovery.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { systemRng } from '../../src/lib/system.ts';
import { discoveryHook } from '../../src/node/discovery/index.ts';
import { memoryNodeStore, type NodeStore } from '../../src/node/node-store.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { createPeerPolicy } from '../../src/routing/peer-policy.ts';
import { memoryPeerRepository } from '../../src/store/peers-memory.ts';
import { waitFor } from './net-helpers.ts';
import { startCompeer, type TestNode } from './node-helpers.ts';

function storeWithPeers(name: string): NodeStore {
  return { ...memoryNodeStore(generateIdentity(systemRng), name), peers: memoryPeerRepository(createPeerPolicy()) };
}

const hook = discoveryHook({ announcePrivateAddresses: true, announceIntervalMs: 1_000, probesPerTick: 0, capabilities: { mailbox: true } });

describe('node/discovery hook in createCompeer', () => {
  let a: TestNode, b: TestNode, c: TestNode, bare: TestNode;

  before(async () => {
    a = await startCompeer('a', { store: storeWithPeers('a'), discovery: hook });
    b = await startCompeer('b', { store: storeWithPeers('b'), discovery: hook, bootstrap: [a.node.net.addresses()[0] ?? ''] });
    c = await startCompeer('c', { store: storeWithPeers('c'), discovery: hook, bootstrap: [b.node.net.addresses()[0] ?? ''] });
    bare = await startCompeer('bare', { discovery: hook });
  });

  after(async () => {
    await Promise.all([a, b, c, bare].map((n) => n.node.stop()));
  });

  test("C learns A's announcement through B; peers() lists A", async () => {
    const table = c.store.peers;
    assert.ok(table);
    assert.ok(await waitFor(() => table.get(a.node.peerId)?.capabilities.includes('mailbox') === true, 15_000, 100), 'A announced itself to C via B');
    const listed = await c.node.peers();
    assert.ok(listed.some((p) => p.peerId === a.node.peerId && p.addresses.length > 0));
  });

  test('a store without a peer table: discovery off, with a warning', () => {
    assert.equal(bare.logs.find('discovery off: the store has no peer table').length, 1);
  });
});
