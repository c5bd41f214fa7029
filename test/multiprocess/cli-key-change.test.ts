/**
 * A key change, with real `compeer` processes on loopback: bob starts over in a fresh data folder
 * (a new identity) and adds the invite alice made for him (`id --for bob`: only such an invite may move
 * a contact to a new identity — a plain invite would make a new contact). Alice's `contacts` shows
 * bob with keyChanged (and KEY CHANGED in text), `send` is refused with UNTRUSTED_IDENTITY until
 * `verify --confirm`, after which the conversation goes on with the new bob.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ContactInfo, IdentityInfo, MessageInfo } from '../../src/node/types.ts';
import { compeer, compeerJson, eventually, startDaemon, stopAll, tempDirs } from './cli-helpers.ts';

const LOOPBACK = ['--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'];

describe('compeer CLI: key change of a contact', { timeout: 90_000 }, () => {
  after(stopAll);

  it('is detected, shown, enforced and cleared by verify --confirm', async (t) => {
    const path = tempDirs(t);
    const [a, b, b2] = [path('alice'), path('bob'), path('bob-again')];
    await Promise.all([compeer(a, ['init', '--name', 'alice']), compeer(b, ['init', '--name', 'bob']), compeer(b2, ['init', '--name', 'bob'])]);
    const [alice, bob] = await Promise.all([startDaemon(a, LOOPBACK), startDaemon(b, LOOPBACK)]);

    await compeerJson(b, ['add', (await compeerJson<IdentityInfo>(a, ['id'])).invite, '--name', 'alice']);
    await compeerJson(b, ['send', 'alice', 'old keys']);
    const first = await eventually(async () => (await compeerJson<ContactInfo[]>(a, ['contacts']))[0], 'alice learns bob');
    assert.deepEqual(first, { userId: first.userId, name: 'bob', verified: false, keyChanged: false });
    assert.equal(await bob.stop(), 0);

    // bob again: a new identity; alice makes an invite for him (not for a contact she does not have)
    assert.notEqual((await compeer(a, ['id', '--for', 'nobody'])).code, 0, 'an invite for an unknown contact is refused');
    const bob2 = await startDaemon(b2, LOOPBACK);
    await compeerJson(b2, ['add', (await compeerJson<IdentityInfo>(a, ['id', '--for', 'bob'])).invite, '--name', 'alice']);
    await compeerJson(b2, ['send', 'alice', 'it is me, new keys']);
    const changed = await eventually(async () => (await compeerJson<ContactInfo[]>(a, ['contacts'])).find((c) => c.name === 'bob' && c.keyChanged), 'alice sees the key change');
    assert.equal(changed.verified, false);
    assert.match((await compeer(a, ['contacts'])).stdout, /^bob .*KEY CHANGED/m);

    const refused = await compeer(a, ['send', 'bob', 'are you really bob?']);
    assert.equal(refused.code, 37, `UNTRUSTED_IDENTITY: ${refused.stderr}`);
    assert.match(refused.stderr, /UNTRUSTED_IDENTITY/);
    const v = await compeerJson<{ safetyNumber: string; sas: string | null; verified: boolean }>(a, ['verify', 'bob', '--confirm']);
    assert.equal(v.verified, true);
    assert.match(v.safetyNumber.replace(/\s/g, ''), /^\d{60}$/);
    assert.deepEqual(
      (await compeerJson<ContactInfo[]>(a, ['contacts'])).map((c) => [c.name, c.verified, c.keyChanged]),
      [['bob', true, false]],
    );

    await compeerJson(a, ['send', 'bob', 'welcome, new bob']);
    const got = await compeerJson<MessageInfo[]>(b2, ['messages', 'alice', '--wait', '20', '--count', '2']);
    assert.ok(got.some((m) => m.direction === 'in' && m.text === 'welcome, new bob'), JSON.stringify(got.map((m) => m.text)));
    assert.deepEqual(await Promise.all([alice.stop(), bob2.stop()]), [0, 0]);
  });
});
