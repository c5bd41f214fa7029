/**
 * Two people, real `compeer` processes on TCP loopback with separate data folders (issue 4):
 * init, start (no mDNS, explicit --listen), invites exchanged (`id --json` → `add`), messages both
 * ways, `messages --wait`, delivered status at the sender, both daemons stopped and restarted (history
 * and session survive: sending works again). The key change: cli-key-change.test.ts.
 * Daemons keep their ports across the restart: with mDNS off and no bootstrap peers, the last address
 * each learned from the other is the only way back.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ContactInfo, IdentityInfo, MessageInfo } from '../../src/node/types.ts';
import { compeer, compeerJson, eventually, freePort, startDaemon, stopAll, tempDirs, type Daemon } from './cli-helpers.ts';

const listen = (port: number): string[] => ['--no-mdns', '--listen', `/ip4/127.0.0.1/tcp/${port}`];

async function delivered(dir: string, contact: string, text: string): Promise<MessageInfo> {
  return eventually(async () => {
    const list = await compeerJson<MessageInfo[]>(dir, ['messages', contact]);
    return list.find((m) => m.direction === 'out' && m.text === text && m.status === 'delivered');
  }, `"${text}" delivered`);
}

describe('compeer CLI: two users over loopback', { timeout: 120_000 }, () => {
  after(stopAll);

  it('invite, talk both ways, restart both', async (t) => {
    const path = tempDirs(t);
    const [a, b] = [path('alice'), path('bob')];
    const [pa, pb] = [await freePort(), await freePort()];

    // init
    const [ia, ib] = await Promise.all([compeerJson<{ userId: string }>(a, ['init', '--name', 'alice']), compeerJson<{ userId: string }>(b, ['init', '--name', 'bob'])]);
    let alice: Daemon;
    let bob: Daemon;
    [alice, bob] = await Promise.all([startDaemon(a, listen(pa)), startDaemon(b, listen(pb))]);
    assert.equal(alice.userId, ia.userId);
    assert.ok(alice.addresses.some((x) => x.includes(`/tcp/${pa}/p2p/`)), 'listens where told');
    const info = JSON.parse(readFileSync(join(a, 'daemon.json'), 'utf8')) as { pid: number; api: string };
    assert.deepEqual(info, { pid: alice.proc.pid, api: alice.api });

    // a second start on the same folder is refused
    const twice = await compeer(a, ['start', ...listen(await freePort())]);
    assert.equal(twice.code, 40, twice.stderr);
    assert.match(twice.stderr, /already running/);

    // invite: bob adds alice's invite
    const idA = await compeerJson<IdentityInfo>(a, ['id']);
    assert.deepEqual(Object.keys(idA).sort(), ['addresses', 'invite', 'name', 'safetyFingerprint', 'userId']);
    assert.match(idA.invite, /^compeer:\/\//);
    assert.deepEqual(await compeerJson(b, ['add', idA.invite, '--name', 'alice']), { userId: ia.userId, name: 'alice' });

    // bob → alice; alice learns bob from his first message
    const sent = await compeerJson<{ id: string; status: string }>(b, ['send', 'alice', 'hello alice']);
    assert.match(sent.id, /^[0-9a-f]+$/);
    assert.ok(['queued', 'sent', 'delivered'].includes(sent.status));
    const inA = await compeerJson<MessageInfo[]>(a, ['messages', ib.userId.slice(0, 8), '--wait', '20', '--count', '1']);
    assert.deepEqual(
      inA.map((m) => [m.direction, m.text]),
      [['in', 'hello alice']],
    );
    assert.deepEqual(await compeerJson<ContactInfo[]>(a, ['contacts']), [{ userId: ib.userId, name: 'bob', verified: false, keyChanged: false }]);
    // the other half of the exchange: alice adds bob's invite too — the same contact, not a second one
    const idB = await compeerJson<IdentityInfo>(b, ['id']);
    assert.deepEqual(await compeerJson(a, ['add', idB.invite, '--name', 'bob']), { userId: ib.userId, name: 'bob' });
    assert.equal((await compeerJson<ContactInfo[]>(a, ['contacts'])).length, 1);
    await delivered(b, 'alice', 'hello alice');

    // alice → bob
    await compeerJson(a, ['send', 'bob', 'hi bob']);
    const inB = await compeerJson<MessageInfo[]>(b, ['messages', 'alice', '--wait', '20', '--count', '2']);
    assert.deepEqual(
      inB.map((m) => [m.direction, m.text]),
      [
        ['out', 'hello alice'],
        ['in', 'hi bob'],
      ],
    );
    await delivered(a, 'bob', 'hi bob');
    const status = await compeerJson<{ state: string; peers: number; outbox: { queued: number; held: number } }>(a, ['status']);
    assert.deepEqual(status.outbox, { queued: 0, held: 0 });
    assert.ok(status.peers >= 1);

    // stop both (clean exit, files removed), restart both on the same addresses
    assert.deepEqual(await Promise.all([alice.stop(), bob.stop()]), [0, 0]);
    for (const f of ['daemon.json', 'api.token', 'daemon.lock']) assert.ok(!existsSync(join(a, f)), `${f} removed at stop`);
    assert.equal((await compeer(a, ['status'])).code, 42, 'NOT_RUNNING once stopped');
    [alice, bob] = await Promise.all([startDaemon(a, listen(pa)), startDaemon(b, listen(pb))]);
    const history = await compeerJson<MessageInfo[]>(a, ['messages', 'bob']);
    assert.deepEqual(
      history.map((m) => [m.direction, m.text, m.status]),
      [
        ['in', 'hello alice', 'delivered'],
        ['out', 'hi bob', 'delivered'],
      ],
    );
    await compeerJson(a, ['send', 'bob', 'after restart']);
    await compeerJson(b, ['send', 'alice', 'welcome back']);
    await delivered(a, 'bob', 'after restart');
    await delivered(b, 'alice', 'welcome back');
    const texts = (await compeerJson<MessageInfo[]>(b, ['messages', 'alice'])).map((m) => m.text);
    assert.deepEqual(texts.slice(0, 3), ['hello alice', 'hi bob', 'after restart']);

    assert.deepEqual(await Promise.all([alice.stop(), bob.stop()]), [0, 0]);
  });
});
