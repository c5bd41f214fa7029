import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, systemRng } from '../../src/lib/system.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { storedIdentityOf } from '../../src/store/identity-keys.ts';
import { openStore } from '../../src/store/store.ts';
import { nodeStoreFrom } from '../../src/node/store-adapter.ts';
import { startCompeer, type TestNode } from './node-helpers.ts';
import { waitFor } from './net-helpers.ts';

function diskStore(dir: string, create: boolean, name: string) {
  const s = openStore({ dir, create, rng: systemRng, clock: systemClock });
  if (create) s.identities.create(storedIdentityOf(generateIdentity(systemRng), name, Date.now()));
  return nodeStoreFrom(s);
}

describe('node: restart and key change', () => {
  const dirs: string[] = [];
  const nodes: TestNode[] = [];
  after(async () => {
    for (const n of nodes) await n.node.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('restart one node on the same store: same peer ID, the conversation continues', async () => {
    const dirA = mkdtempSync(join(tmpdir(), 'compeer-node-'));
    const dirB = mkdtempSync(join(tmpdir(), 'compeer-node-'));
    dirs.push(dirA, dirB);
    let alice = await startCompeer('alice', { store: diskStore(dirA, true, 'alice') });
    const first = alice;
    const bob = await startCompeer('bob', { store: diskStore(dirB, true, 'bob') });
    nodes.push(bob, first);
    await alice.node.addContact((await bob.node.id()).invite);
    assert.ok(await waitFor(async () => (await bob.node.contacts()).length === 1, 5_000));
    await alice.node.send('bob', 'before restart');
    assert.equal((await bob.node.messages('alice', { waitMs: 5_000, count: 1 })).length, 1);
    const peerId = alice.node.peerId;
    await alice.node.stop();

    alice = await startCompeer('alice', { store: diskStore(dirA, false, 'alice') });
    nodes.push(alice);
    assert.equal(alice.node.peerId, peerId, 'the node key survived');
    assert.equal((await alice.node.messages('bob')).length, 1, 'history survived');
    await alice.node.send('bob', 'after restart');
    const got = await bob.node.messages('alice', { waitMs: 5_000, count: 2 });
    assert.deepEqual(got.map((m) => m.text), ['before restart', 'after restart']);
    // Bob answers to the restarted node (he learned its addresses inside the channel).
    await bob.node.send('alice', 'welcome back');
    const back = await alice.node.messages('bob', { waitMs: 5_000, count: 3 });
    assert.equal(back[2]?.text, 'welcome back');
    assert.ok(await waitFor(async () => (await alice.node.messages('bob')).filter((m) => m.direction === 'out').every((m) => m.status === 'delivered'), 5_000));
  });

  test('key change: a contact comes back under a new identity with the invite made for it', async () => {
    const bob = await startCompeer('bob');
    const alice1 = await startCompeer('alice');
    nodes.push(bob, alice1);
    await alice1.node.addContact((await bob.node.id()).invite);
    assert.ok(await waitFor(async () => (await bob.node.contacts()).length === 1, 5_000));
    await alice1.node.send('bob', 'first identity');
    await bob.node.messages('alice', { waitMs: 5_000, count: 1 });
    await alice1.node.stop();

    const alice2 = await startCompeer('alice'); // new identity
    nodes.push(alice2);
    // Bob makes an invite for her (a plain one would make a new contact: node-hello-takeover.test.ts).
    await alice2.node.addContact((await bob.node.id({ forContact: 'alice' })).invite);
    assert.ok(await waitFor(async () => (await bob.node.contacts())[0]?.keyChanged === true, 5_000), 'key change detected');
    const contacts = await bob.node.contacts();
    assert.equal(contacts.length, 1, 'the same contact, not a new one');
    assert.equal(bob.store.contacts.keyHistory(contacts[0]?.userId ?? '').length, 1);
    await assert.rejects(bob.node.send('alice', 'x'), (e) => (e as { code?: string }).code === 'UNTRUSTED_IDENTITY');
    const v = await bob.node.verify('alice', true);
    assert.equal(v.verified, true);
    assert.equal((await bob.node.contacts())[0]?.keyChanged, false);
    await alice2.node.send('bob', 'second identity');
    const msgs = await bob.node.messages('alice', { waitMs: 5_000, count: 2 });
    assert.deepEqual(msgs.map((m) => m.text), ['first identity', 'second identity'], 'history kept');
  });
});
