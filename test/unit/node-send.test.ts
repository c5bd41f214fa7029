/**
 * compeer.ts send(): the contact and its session are looked up inside the send queue's transaction;
 * a contact without a session takes the other way (session set-up first, then queued all the same),
 * and an unknown contact fails that send alone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCompeer, type TestNode } from './node-helpers.ts';

describe('node: send', () => {
  let alice: TestNode;
  let bob: TestNode;
  before(async () => {
    alice = await startCompeer('alice', { requestTimeoutMs: 500, dhtTimeoutMs: 500 });
    bob = await startCompeer('bob');
  });
  after(async () => {
    await alice?.node.stop();
    await bob?.node.stop();
  });

  test('to a contact without a session: queued all the same; an unknown contact fails alone', async () => {
    const { invite } = await bob.node.id();
    await bob.node.stop(); // the session cannot be set up: bob's bundle is nowhere to fetch
    await alice.node.addContact(invite);
    assert.equal(alice.store.sessions.has(bob.node.userId), false);
    const [sent, unknown, also] = await Promise.allSettled([
      alice.node.send('bob', 'one'),
      alice.node.send('nobody', 'lost'),
      alice.node.send('bob', 'two'),
    ]);
    assert.equal(sent.status === 'fulfilled' && sent.value.status, 'queued');
    assert.equal(also.status === 'fulfilled' && also.value.status, 'queued');
    assert.equal(unknown.status === 'rejected' && (unknown.reason as { code?: string }).code, 'NOT_FOUND');
    const stored = await alice.node.messages('bob');
    // (Each waited for its own session set-up: they may be stored in either order.)
    assert.deepEqual(stored.map((m) => [m.text, m.status]).sort(), [['one', 'queued'], ['two', 'queued']]);
    assert.ok(alice.logs.find('session setup deferred').length > 0);
  });
});
