/**
 * A backlog (docs/perf-node.md T1–T6): hundreds of messages queued at once go out as several
 * envelopes per request with several requests in flight, their acks applied a request at a time —
 * and still every message reaches the recipient's application exactly once and is delivered at the
 * sender; nothing stays in the outbox or in the node's kv area.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCompeer, type TestNode } from './node-helpers.ts';
import { waitFor } from './net-helpers.ts';
import type { CompeerEvent } from '../../src/node/types.ts';

const COUNT = 700; // > 4 requests of 3 full envelopes of 1 KiB texts

describe('node: a backlog of messages', () => {
  let alice: TestNode;
  let bob: TestNode;
  before(async () => {
    alice = await startCompeer('alice');
    bob = await startCompeer('bob');
    await alice.node.addContact((await bob.node.id()).invite);
    await alice.node.send('bob', 'hello');
    assert.ok(await waitFor(async () => (await alice.node.messages('bob'))[0]?.status === 'delivered', 10_000), 'first message delivered');
  });
  after(async () => {
    await alice?.node.stop();
    await bob?.node.stop();
  });

  test('every message arrives once, in order, and is delivered; the outbox and its kv rows empty', async () => {
    const arrived: string[] = [];
    const delivered = new Set<string>();
    bob.node.on((e: CompeerEvent) => {
      if (e.type === 'message' && e.message.direction === 'in') arrived.push(e.message.text);
    });
    alice.node.on((e: CompeerEvent) => {
      if (e.type === 'status' && e.status === 'delivered') delivered.add(e.id);
    });
    const texts = Array.from({ length: COUNT }, (_, i) => `${String(i).padStart(4, '0')} ${'x'.repeat(1020)}`);
    const sent = await Promise.all(texts.map((t) => alice.node.send('bob', t)));
    assert.ok(await waitFor(() => sent.every((s) => delivered.has(s.id)), 60_000), `delivered: ${delivered.size} of ${COUNT}`);
    assert.equal(new Set(sent.map((s) => s.id)).size, COUNT);
    // Each message once at Bob; requests in flight together may be processed in either order.
    assert.equal(arrived.length, COUNT);
    assert.deepEqual([...arrived].sort(), texts);
    const atBob = (await bob.node.messages('alice')).filter((m) => m.direction === 'in' && m.text !== 'hello');
    assert.equal(atBob.length, COUNT);
    const atAlice = await alice.node.messages('bob');
    assert.ok(atAlice.every((m) => m.direction !== 'out' || m.status === 'delivered'));
    assert.deepEqual(alice.store.outbox.forContact(bob.node.userId), []);
    assert.deepEqual([...alice.store.meta.keys('node.ctl/'), ...alice.store.meta.keys('node.hops/')], []);
  });
});
