/**
 * A backlog (docs/perf-node.md T1–T6): hundreds of messages queued at once go out as several
 * envelopes per request with several requests in flight, their acks applied a request at a time —
 * and still every message reaches the recipient's application exactly once and is delivered at the
 * sender; nothing stays in the outbox or in the node's kv area.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sendAllDelivered, suiteNodes } from './node-helpers.ts';
import { waitFor } from './net-helpers.ts';

const COUNT = 700; // > 4 requests of 3 full envelopes of 1 KiB texts

describe('node: a backlog of messages', () => {
  const nodes = suiteNodes(async (alice, bob) => {
    await alice.node.addContact((await bob.node.id()).invite);
    await alice.node.send('bob', 'hello');
    assert.ok(await waitFor(async () => (await alice.node.messages('bob'))[0]?.status === 'delivered', 10_000), 'first message delivered');
  });

  test('every message arrives once, in order, and is delivered; the outbox and its kv rows empty', async () => {
    const { alice, bob } = nodes;
    const sent = await sendAllDelivered(alice.node, bob.node, COUNT);
    assert.equal(new Set(sent.map((s) => s.id)).size, COUNT);
    const atBob = (await bob.node.messages('alice')).filter((m) => m.direction === 'in' && m.text !== 'hello');
    assert.equal(atBob.length, COUNT);
    const atAlice = await alice.node.messages('bob');
    assert.ok(atAlice.every((m) => m.direction !== 'out' || m.status === 'delivered'));
    assert.deepEqual(alice.store.outbox.forContact(bob.node.userId), []);
    assert.deepEqual([...alice.store.meta.keys('node.ctl/'), ...alice.store.meta.keys('node.hops/')], []);
  });
});
