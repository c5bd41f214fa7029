import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCompeer, suiteNodes, type TestNode } from './node-helpers.ts';
import { waitFor } from './net-helpers.ts';

describe('node: two people talk', () => {
  const nodes = suiteNodes();

  test('invite → add → hello accepted → both send → both see messages once → delivered', async () => {
    const { alice, bob } = nodes;
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

  test('safety numbers agree; confirm marks verified', async () => {
    const { alice, bob } = nodes;
    const v = await alice.node.verify('bob', false);
    const w = await bob.node.verify('alice', true);
    assert.equal(v.safetyNumber, w.safetyNumber);
    assert.equal(w.verified, true);
  });
});

describe('node: both add each other at the same time', () => {
  let carol: TestNode;
  let dave: TestNode;
  before(async () => {
    carol = await startCompeer('carol');
    dave = await startCompeer('dave');
  });
  after(async () => {
    await carol?.node.stop();
    await dave?.node.stop();
  });

  test('simultaneous initiations converge on one session; messages flow both ways', async () => {
    const [ic, id] = [await carol.node.id(), await dave.node.id()];
    await Promise.all([carol.node.addContact(id.invite), dave.node.addContact(ic.invite)]);
    assert.equal((await carol.node.contacts()).length, 1);
    assert.equal((await dave.node.contacts()).length, 1);
    await carol.node.send('dave', 'c1');
    await dave.node.send('carol', 'd1');
    const atDave = await dave.node.messages('carol', { waitMs: 8_000, count: 2 });
    const atCarol = await carol.node.messages('dave', { waitMs: 8_000, count: 2 });
    assert.deepEqual(atDave.filter((m) => m.direction === 'in').map((m) => m.text), ['c1']);
    assert.deepEqual(atCarol.filter((m) => m.direction === 'in').map((m) => m.text), ['d1']);
    assert.ok(
      await waitFor(async () => [...(await carol.node.messages('dave')), ...(await dave.node.messages('carol'))].filter((m) => m.direction === 'out').every((m) => m.status === 'delivered'), 8_000),
      'both delivered',
    );
    // Adding a known contact again is a no-op that returns the contact.
    assert.equal((await carol.node.addContact(id.invite)).userId, dave.node.userId);
    await assert.rejects(carol.node.addContact(id.invite, 'bad\u0007name'), (e) => (e as { code?: string }).code === 'INVALID_ARGUMENT');
  });
});

describe('node: start failure', () => {
  test('a failing discovery hook rejects createCompeer and leaves nothing running', async () => {
    await assert.rejects(
      startCompeer('erin', {
        discovery: async () => {
          throw new Error('discovery failed');
        },
      }),
      /discovery failed/,
    );
  });
});

describe('node: invites are bounded', () => {
  test('at most 100 outstanding; an expired invite is refused', async () => {
    let now = Date.now();
    const frank = await startCompeer('frank', { clock: () => now });
    const gina = await startCompeer('gina');
    try {
      for (let i = 0; i < 105; i++) await frank.node.id();
      assert.equal(frank.store.meta.keys('node.invite/').length, 100);
      const link = (await frank.node.id()).invite;
      now += 31 * 24 * 3600_000;
      await gina.node.addContact(link);
      await gina.node.retryNow();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await frank.node.contacts()).length, 0, 'expired invite refused');
      assert.ok(frank.logs.find('message refused').length > 0);
      assert.equal((await frank.node.messages('frank').catch((e: { code?: string }) => e.code)), 'NOT_FOUND');
      await assert.rejects(frank.node.messages('x', { count: -1 }), (e) => (e as { code?: string }).code !== undefined);
    } finally {
      await frank.node.stop();
      await gina.node.stop();
    }
  });
});
