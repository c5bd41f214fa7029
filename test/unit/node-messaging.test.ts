import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCompeer, type TestNode } from './node-helpers.ts';
import { waitFor } from './net-helpers.ts';

describe('node: two people talk', () => {
  let alice: TestNode;
  let bob: TestNode;
  before(async () => {
    alice = await startCompeer('alice');
    bob = await startCompeer('bob');
  });
  after(async () => {
    await alice?.node.stop();
    await bob?.node.stop();
  });

  test('invite → add → hello accepted → both send → both see messages once → delivered', async () => {
    const inv = await bob.node.id();
    assert.ok(inv.invite.startsWith('compeer://invite/'));
    const added = await alice.node.addContact(inv.invite);
    assert.equal(added.name, 'bob');
    assert.ok(await waitFor(async () => (await bob.node.contacts()).length === 1, 5_000), 'bob accepts alice');
    const [aliceAtBob] = await bob.node.contacts();
    assert.equal(aliceAtBob?.name, 'alice');
    assert.equal(aliceAtBob?.userId, alice.node.userId);

    const sent = await alice.node.send('bob', 'hello bob');
    assert.equal(sent.status, 'queued');
    const got = await bob.node.messages('alice', { waitMs: 5_000, count: 1 });
    assert.equal(got.length, 1);
    assert.equal(got[0]?.text, 'hello bob');
    assert.equal(got[0]?.direction, 'in');
    assert.ok(await waitFor(async () => (await alice.node.messages('bob'))[0]?.status === 'delivered', 5_000), 'delivered at alice');

    await bob.node.send('alice', 'hi alice');
    const back = await alice.node.messages('bob', { waitMs: 5_000, count: 2 });
    assert.deepEqual(back.map((m) => [m.direction, m.text]), [['out', 'hello bob'], ['in', 'hi alice']]);
    assert.ok(await waitFor(async () => (await bob.node.messages('alice')).every((m) => m.status === 'delivered'), 5_000));
    // The addresses messages arrived inside the channel.
    assert.ok(await waitFor(() => (bob.store.contacts.get(alice.node.userId)?.addresses.length ?? 0) > 0, 5_000));
    const status = await alice.node.status();
    assert.equal(status.outbox.queued, 0);
  });

  test('an invite is accepted once: a second add of the same link by another node is refused', async () => {
    const v = await alice.node.verify('bob', false);
    const w = await bob.node.verify('alice', true);
    assert.equal(v.safetyNumber, w.safetyNumber);
    assert.equal(w.verified, true);
  });
});
