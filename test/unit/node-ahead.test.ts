/**
 * Encryption ahead (outbound.ts prepareAhead): while a contact's flush has requests in flight, each
 * send's commit encrypts the batches the flush will send next. What earlier commits encrypted ahead is
 * noted in memory, so a commit reads the outbox after it — it never reads those entries and their
 * 64 KiB envelopes again (docs/perf-node.md, seventh pass); the flush reads after the last entry it
 * took while everything up to it is in flight. Every message still arrives once and is delivered.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { systemRng } from '../../src/lib/system.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { memoryNodeStore, type NodeStore } from '../../src/node/node-store.ts';
import type { CompeerEvent } from '../../src/node/types.ts';
import type { OutboxRepository } from '../../src/store/outbox.ts';
import { sendAllDelivered, startCompeer, type TestNode } from './node-helpers.ts';
import { waitFor } from './net-helpers.ts';

const COUNT = 2_000; // 8 send commits of 256 while the first requests are in flight

/** Alice's store, watching what the sends' commits (transactions that enqueue) read of the outbox. */
function watched(): { store: NodeStore; reads: { commits: number; cached: number; rows: number; flush: number; skipping: number } } {
  const inner = memoryNodeStore(generateIdentity(systemRng), 'alice');
  const reads = { commits: 0, cached: 0, rows: 0, flush: 0, skipping: 0 };
  let depth = 0;
  let enqueued = false;
  const outbox: OutboxRepository = {
    ...inner.outbox,
    enqueue(item) {
      enqueued = true;
      inner.outbox.enqueue(item);
    },
    forContact(contact, limit, skip, afterId) {
      const items = inner.outbox.forContact(contact, limit, skip, afterId);
      if (depth > 0 && enqueued) {
        reads.rows += items.length;
        reads.cached += items.filter((i) => i.wire.length > 0).length;
      } else if (depth === 0) {
        // The flush's reads (outside any transaction): how many name the entries in flight one by one.
        reads.flush++;
        if ((skip?.length ?? 0) > 0) reads.skipping++;
      }
      return items;
    },
  };
  const store: NodeStore = {
    ...inner,
    outbox,
    transaction(fn, opts) {
      if (depth === 0) enqueued = false;
      depth++;
      try {
        return inner.transaction(fn, opts);
      } finally {
        depth--;
        if (depth === 0 && enqueued) reads.commits++;
      }
    },
  };
  return { store, reads };
}

/**
 * Alice (on a watched store) and Bob, contacts, the first message delivered (the contact acked: the
 * window is open); registers the suite's before/after hooks.
 */
function pair(aliceOpts: { retryIntervalMs?: number } = {}): { nodes: () => { alice: TestNode; bob: TestNode }; reads: ReturnType<typeof watched>['reads'] } {
  let alice: TestNode | undefined;
  let bob: TestNode | undefined;
  const { store, reads } = watched();
  before(async () => {
    alice = await startCompeer('alice', { store, ...aliceOpts });
    bob = await startCompeer('bob');
    await alice.node.addContact((await bob.node.id()).invite);
    await alice.node.send('bob', 'hello');
    const a = alice;
    assert.ok(await waitFor(async () => (await a.node.messages('bob'))[0]?.status === 'delivered', 10_000), 'first message delivered');
  });
  after(async () => {
    await alice?.node.stop();
    await bob?.node.stop();
  });
  return { nodes: () => ({ alice: alice as TestNode, bob: bob as TestNode }), reads };
}

describe('node: encryption ahead of the flush', () => {
  const { nodes, reads } = pair();

  test('a send\'s commit never reads again the envelopes earlier commits encrypted, the flush names no id in flight; all delivered once', async () => {
    const { alice, bob } = nodes();
    await sendAllDelivered(alice.node, bob.node, COUNT);
    assert.ok(reads.commits >= COUNT / 256, `${reads.commits} send commits`);
    assert.ok(reads.rows > 0, 'the commits read the outbox to encrypt ahead');
    assert.equal(reads.cached, 0, `entries with a cached envelope read by the sends' commits (of ${reads.rows} rows)`);
    // The flush reads after the last entry it took while everything up to it is in flight, not through a
    // skip list of every id in flight (12 of 23 reads before; a request answered out of order may
    // still send one read the old way).
    assert.ok(reads.flush > 0 && reads.skipping <= reads.flush / 8, `${reads.skipping} of the flush's ${reads.flush} reads named the entries in flight`);
    assert.deepEqual(alice.store.outbox.forContact(bob.node.userId), []);
  });
});

describe('node: a lone message\'s flush', () => {
  // No outbox tick in the test's window: the test nodes' 200 ms tick flushes a contact with an entry
  // due, and that read is the tick's, not the lone message's own (21 of 20 in ~1 run of 3).
  const { nodes, reads } = pair({ retryIntervalMs: 3_600_000 });

  test('reads the outbox once before its request leaves and once after the ack, not again in between', async () => {
    const { alice } = nodes();
    const delivered = new Set<string>();
    alice.node.on((e: CompeerEvent) => {
      if (e.type === 'status' && e.status === 'delivered') delivered.add(e.id);
    });
    // Once the contact acked (the window opens), one at a time: each send's flush takes its message.
    for (let i = 0; i < 3; i++) {
      const { id } = await alice.node.send('bob', `warm ${i}`);
      assert.ok(await waitFor(() => delivered.has(id), 10_000));
    }
    const before = reads.flush;
    const COUNT_ONE = 10;
    for (let i = 0; i < COUNT_ONE; i++) {
      const { id } = await alice.node.send('bob', `one ${i}`);
      assert.ok(await waitFor(() => delivered.has(id), 10_000), `message ${i} delivered`);
    }
    // Each: the read that takes it and the one after its ack that finds nothing (3 before: a read
    // right after the request, in the same turn, that could find nothing either: 30).
    assert.equal(reads.flush - before, 2 * COUNT_ONE);
  });
});

