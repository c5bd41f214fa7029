/**
 * Issue 6, test (1): real `compeer` daemons on three hosts — Linux network namespaces cabled to one
 * bridge (netns-helpers.ts), on the private block 10.213.0.0/24 — Alice, Bob and a relay that also holds
 * mail. Alice adds Bob's invite (he learns her from her first message); messages both ways, direct and
 * through the relay, each `delivered`; the daemons talk over the hosts' addresses (no shared loopback). A private block is a LAN to the
 * partition detector (src/routing/partition.ts, isLocalAddress), so `status` says `local-only` with
 * every LAN attempt ok: what a home network without internet is, where LAN traffic still flows — and
 * does here. Skipped with the reason when namespaces cannot be made (not root, no `ip`, no privilege).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { IdentityInfo, MessageInfo, PeerInfo, StatusInfo } from '../../src/node/types.ts';
import { compeerJson, freePort, introduce, messageWhere, place, startMesh, stopAll, tempDirs, type Daemon } from '../multiprocess/cli-helpers.ts';
import { netns, unsupported, type Netns } from './netns-helpers.ts';

const skip = unsupported();
const SUBNET = '10.213.0';

describe('netns: three hosts on a private LAN (issue 6, test 1)', { skip, timeout: 180_000 }, () => {
  let net: Netns | undefined;
  after(() => {
    stopAll();
    net?.destroy();
  });

  it('invites, messages both ways through a relay on another host, all delivered', async (t) => {
    const path = tempDirs(t);
    const t0 = Date.now();
    const mark = (what: string): void => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    net = netns(['alice', 'bob', 'r1'], SUBNET);
    for (const h of net.hosts.values()) place(path(h.name), h);
    const [a, b] = [path('alice'), path('bob')];
    const mesh = await startMesh(path, 1, [
      { dir: a, name: 'alice', port: await freePort() },
      { dir: b, name: 'bob', port: await freePort() },
    ]);
    const [alice, bob] = mesh.users as [Daemon, Daemon];
    const daemons = new Map([...mesh.relays.map((d, i) => [`r${i + 1}`, d] as const), ['alice', alice], ['bob', bob]]);
    for (const [name, d] of daemons) {
      assert.ok(d.addresses.length > 0 && d.addresses.every((x) => x.startsWith(`/ip4/${net?.host(name).ip}/tcp/`)), `${name} listens on its host's address: ${d.addresses.join(' ')}`);
    }
    mark('3 daemons up, one per host');

    // Alice adds Bob's invite; the hello goes direct, the next message through the relay's host.
    await introduce(a, b, 1, 90_000);
    mark('hello and a 1-hop message delivered');
    const idA = await compeerJson<IdentityInfo>(a, ['id']);
    const toAlice = idA.userId.slice(0, 8);
    await compeerJson(b, ['send', toAlice, 'hello alice']);
    const atAlice = await compeerJson<MessageInfo[]>(a, ['messages', 'bob', '--wait', '60', '--count', '3'], 90_000);
    assert.deepEqual(
      atAlice.map((m) => [m.direction, m.text]),
      [
        ['out', 'hello bob'],
        ['out', 'first through 1 relays'],
        ['in', 'hello alice'],
      ],
    );
    await messageWhere(b, toAlice, 'hello alice', (m) => m.status === 'delivered', "Bob's reply delivered", 60_000);
    const atBob = await compeerJson<MessageInfo[]>(b, ['messages', toAlice]);
    assert.deepEqual(
      atBob.map((m) => [m.direction, m.text, m.status]),
      [
        ['in', 'hello bob', 'delivered'],
        ['in', 'first through 1 relays', 'delivered'],
        ['out', 'hello alice', 'delivered'],
      ],
    );
    mark('both ways delivered');

    // Alice's connections go to the other hosts, at their addresses in the block.
    const peers = await compeerJson<PeerInfo[]>(a, ['peers']);
    const seen = new Set(peers.flatMap((p) => p.addresses).map((x) => /^\/ip4\/([\d.]+)\//.exec(x)?.[1]));
    const others = new Set([net.host('bob').ip, net.host('r1').ip]);
    assert.ok(seen.size > 0 && [...seen].every((x) => x !== undefined && others.has(x)), `Alice's connections: ${JSON.stringify(peers)}`);

    // 10.213/16 is a LAN to the detector: local-only, with every LAN attempt ok and nothing queued. The
    // detector changes state after 3 agreeing observations (hysteresis), so ask until it has (≤ 30 s).
    let status = await compeerJson<StatusInfo>(a, ['status']);
    for (const until = Date.now() + 30_000; status.state !== 'local-only' && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 1_000));
      status = await compeerJson<StatusInfo>(a, ['status']);
    }
    t.diagnostic(`Alice's status: ${JSON.stringify(status)}`);
    assert.equal(status.state, 'local-only', `Alice's status: ${JSON.stringify(status)}; her peers: ${JSON.stringify(peers)}`);
    assert.match(status.reason, /no remote peer reached .*; (\d+) of \1 LAN attempts ok/);
    assert.deepEqual(status.outbox, { queued: 0, held: 0 });

    assert.deepEqual(await Promise.all([alice.stop(), bob.stop(), ...mesh.relays.map((d) => d.stop())]), [0, 0, 0]);
  });
});
