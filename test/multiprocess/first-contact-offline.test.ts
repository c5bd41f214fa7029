/**
 * First contact while the inviter is offline, with real `compeer` daemons on TCP loopback: three relays
 * (DHT servers and mail holders), Alice and Bob (docs/mailboxes.md "First contact"). Bob hands over his
 * invite and stops. Alice adds it — Bob's prekey bundle comes from the DHT — and writes to him; her
 * `hello` cannot reach his node, so it is deposited in the mailbox derived from the invite. Bob starts
 * again, fetches that mailbox (3 s after start), accepts Alice as a contact and shows her message, which
 * followed the hello; Alice sees it `delivered`.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { IdentityInfo, MessageInfo } from '../../src/node/types.ts';
import { aliceAndBob, compeerJson, eventually, meshArgs, messageWhere, startDaemon, stopAll } from './cli-helpers.ts';

describe('first contact: the inviter offline', { timeout: 240_000 }, () => {
  after(stopAll);

  it("Bob hands over his invite and leaves; Alice adds it and writes; Bob back: Alice is his contact, her message shown once, delivered", async (t) => {
    const { a, b, bobPort, mesh, alice, bob, mark } = await aliceAndBob(t, 3, { bob: ['--log-level', 'debug'] });
    // Bob's node publishes its bundle until a DHT peer stores it (src/node/compeer.ts).
    await eventually(async () => (/"msg":"bundle published"[^\n]*"stored":[1-9]/.test(bob.stderr()) ? true : undefined), "Bob's bundle stored in the DHT", 60_000);
    mark('5 daemons up, Bob\'s bundle in the DHT');
    const idB = await compeerJson<IdentityInfo>(b, ['id']);
    assert.equal(await bob.stop(), 0);
    mark('Bob gone');

    const added = await compeerJson<{ userId: string; name: string }>(a, ['add', idB.invite, '--name', 'bob']);
    assert.equal(added.userId, idB.userId);
    await compeerJson(a, ['send', 'bob', 'found you through the DHT']);
    await eventually(async () => ((await compeerJson<{ outbox: { held: number } }>(a, ['status'])).outbox.held >= 1 ? true : undefined), "the hello held in the invite's mailbox", 60_000);
    assert.equal((await compeerJson<MessageInfo[]>(a, ['messages', 'bob'])).find((m) => m.text === 'found you through the DHT')?.status, 'queued', 'the text waits behind the hello');
    mark('hello held');

    const bob2 = await startDaemon(b, meshArgs(bobPort, [mesh.bootstrap]));
    await eventually(async () => ((await compeerJson<{ userId: string }[]>(b, ['contacts']).catch(() => [])).some((c) => c.userId === alice.userId) ? true : undefined), "Alice among Bob's contacts", 60_000);
    mark('Bob accepted the hello from the invite mailbox');
    await messageWhere(b, 'alice', 'found you through the DHT', (m) => m.direction === 'in', 'the message at Bob', 60_000);
    await messageWhere(a, 'bob', 'found you through the DHT', (m) => m.status === 'delivered', '`delivered` at Alice', 60_000);
    mark('delivered');
    const shown = (await compeerJson<MessageInfo[]>(b, ['messages', 'alice'])).filter((m) => m.text === 'found you through the DHT');
    assert.equal(shown.length, 1, 'exactly once');
    assert.equal(await bob2.stop(), 0);
  });
});
