/**
 * Issue 6, test (2): a partition and its heal, with real `compeer` daemons on five hosts — Linux network
 * namespaces cabled to one bridge (netns-helpers.ts): Alice, Bob and three relays (which also hold mail).
 * Alice's cable is pulled (her switch port goes down: she sees no carrier, her connections die by
 * timeout); she sends while cut; her partition detector (src/routing/partition.ts) says `local-only`;
 * the cable goes back; every message reaches Bob exactly once and is `delivered` at Alice.
 *
 * Addresses: 198.51.100.0/24 (RFC 5737 TEST-NET-2, never routed on the internet; the namespaces have no
 * route anywhere but the bridge). Not a private block on purpose: to the detector a 10/8 peer is a LAN
 * peer and a LAN-only node is `local-only` from the start (hosts.test.ts shows it), so the cut would not
 * change what `status` says. With these the peers count as remote: the node is not local-only before
 * the cut, becomes local-only once no remote peer was reached for the detector's window (60 s), holds
 * the messages to Bob (no LAN address) meanwhile, and flushes them when the state heals.
 * Skipped with the reason when namespaces cannot be made (not root, no `ip`, no privilege).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { IdentityInfo, MessageInfo, StatusInfo } from '../../src/node/types.ts';
import { compeerJson, eventually, freePort, introduce, messageWhere, place, startMesh, stopAll, tempDirs, type Daemon } from '../multiprocess/cli-helpers.ts';
import { netns, unsupported, type Netns } from './netns-helpers.ts';

const skip = unsupported();
const SUBNET = '198.51.100';
const WHILE_CUT = 5;

describe('netns: a partition and its heal (issue 6, test 2)', { skip, timeout: 480_000 }, () => {
  let net: Netns | undefined;
  after(() => {
    stopAll();
    net?.destroy();
  });

  it('Alice cut: local-only, her messages wait; healed: each reaches Bob once, all delivered', async (t) => {
    const path = tempDirs(t);
    const t0 = Date.now();
    const mark = (what: string): void => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    net = netns(['alice', 'bob', 'r1', 'r2', 'r3'], SUBNET);
    for (const h of net.hosts.values()) place(path(h.name), h);
    const [a, b] = [path('alice'), path('bob')];
    const mesh = await startMesh(path, 3, [
      { dir: a, name: 'alice', port: await freePort() },
      { dir: b, name: 'bob', port: await freePort() },
    ]);
    const [alice, bob] = mesh.users as [Daemon, Daemon];
    assert.ok(alice.addresses.every((x) => x.startsWith(`/ip4/${net?.host('alice').ip}/tcp/`)), `Alice listens on her host's address: ${alice.addresses.join(' ')}`);
    mark('5 daemons up, one per host');
    await introduce(a, b, 2, 90_000);
    mark('hello and a 2-hop message delivered');
    const toAlice = (await compeerJson<IdentityInfo>(a, ['id'])).userId.slice(0, 8);
    const status = (): Promise<StatusInfo> => compeerJson<StatusInfo>(a, ['status']);
    const before = await status();
    t.diagnostic(`Alice's status before the cut: ${JSON.stringify(before)}`);
    assert.notEqual(before.state, 'local-only', 'remote peers reached: not local-only before the cut');

    net.cut('alice');
    mark('Alice cut');
    const texts = Array.from({ length: WHILE_CUT }, (_, i) => `while cut ${i}`);
    for (const text of texts) await compeerJson(a, ['send', 'bob', text]);
    // The detector keeps successes for its 60 s window: it says local-only once they have aged out.
    let last: string | undefined;
    const cut = await eventually(
      async () => {
        const s = await status();
        if (s.state !== last) mark(`Alice's status while cut: ${JSON.stringify(s)}`);
        last = s.state;
        return s.state === 'local-only' ? s : undefined;
      },
      'Alice local-only while cut',
      150_000,
    );
    assert.match(cut.reason, /no remote peer reached in the last 60 s \(\d+ remote attempts failed, 0 remote \/ 0 LAN connections\)/);
    assert.equal(cut.outbox.queued, WHILE_CUT, 'her messages wait in the outbox');
    const atBob = (await compeerJson<MessageInfo[]>(b, ['messages', toAlice])).filter((m) => m.direction === 'in').map((m) => m.text);
    assert.deepEqual(atBob, ['hello bob', 'first through 2 relays'], 'nothing sent while cut has reached Bob');

    net.heal('alice');
    mark('Alice healed');
    const want = ['hello bob', 'first through 2 relays', ...texts];
    const got = await compeerJson<MessageInfo[]>(b, ['messages', toAlice, '--wait', '120', '--count', String(want.length)], 150_000);
    mark(`Bob shows ${got.length} messages`);
    for (const text of texts) await messageWhere(a, 'bob', text, (m) => m.status === 'delivered', `"${text}" delivered`, 120_000);
    mark('all delivered at Alice');
    const healed = await status();
    t.diagnostic(`Alice's status after the heal: ${JSON.stringify(healed)}`);
    assert.notEqual(healed.state, 'local-only', 'healed: remote peers reached again');
    assert.deepEqual(healed.outbox, { queued: 0, held: 0 });
    // A late retry of an envelope that had arrived must not show it twice: look again a little later.
    await new Promise((r) => setTimeout(r, 2_000));
    const final = (await compeerJson<MessageInfo[]>(b, ['messages', toAlice])).filter((m) => m.direction === 'in').map((m) => m.text);
    assert.deepEqual([...final].sort(), [...want].sort(), 'each exactly once');
    assert.deepEqual(await Promise.all([alice.stop(), bob.stop(), ...mesh.relays.map((d) => d.stop())]), [0, 0, 0, 0, 0]);
  });
});
