/**
 * node/discovery over real nodes on TCP 127.0.0.1: A's announcement reaches C through B with its hop TTL
 * decremented and lands in C's peer table; forged announcements are rejected and never reach the table;
 * a Sybil flood (valid announcements under many fresh keys from one source) is capped by the table.
 *
 * Topology: A — B — C, and two attackers connected to C only: F forges, M floods valid Sybils.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { generateEd25519 } from '../../src/crypto/ed25519.ts';
import { generateX25519 } from '../../src/crypto/x25519.ts';
import { systemRng } from '../../src/lib/system.ts';
import type { NetNode } from '../../src/net/types.ts';
import { ANNOUNCE_TOPIC, normalizeAddresses, startDiscovery, type Discovery } from '../../src/node/discovery/index.ts';
import { createPeerPolicy } from '../../src/routing/peer-policy.ts';
import { type PeerRepository } from '../../src/store/peers.ts';
import { memoryPeerRepository } from '../../src/store/peers-memory.ts';
import { decodeAnnouncement, ed25519PeerId, encodeAnnouncement, withHopTtl } from '../../src/protocol/wire/announcement.ts';
import { sleep, startNode, waitFor } from './net-helpers.ts';

/** The store's in-memory peer repository under the real policy, counting upserts per peer. */
function table(perGossipSource = 16): PeerRepository & { upserts: Map<string, number> } {
  // minUnverified lifted so the prefix and source caps are the ones this flood meets (every Sybil is
  // unverified: the unverified cap would refuse them sooner, and the same way).
  const repo = memoryPeerRepository(createPeerPolicy({ maxPerGossipSource: perGossipSource, minUnverified: 64 }));
  const upserts = new Map<string, number>();
  return {
    ...repo,
    upserts,
    upsert(s) {
      upserts.set(s.peerId, (upserts.get(s.peerId) ?? 0) + 1);
      return repo.upsert(s);
    },
  };
}

interface Peer {
  key: Uint8Array;
  net: NetNode;
  table: ReturnType<typeof table>;
  disco?: Discovery;
}

async function peer(perOrigin = 1000): Promise<Peer> {
  const key = randomBytes(32);
  const net = await startNode({ nodeKey: key, gossip: { perOriginRateLimit: { perSecond: perOrigin, burst: perOrigin } } });
  return { key, net, table: table(16) };
}

function discover(p: Peer, extra: { announceIntervalMs?: number } = {}): Discovery {
  p.disco = startDiscovery({
    net: p.net,
    peers: p.table,
    nodeKey: p.key,
    clock: Date.now,
    announceIntervalMs: extra.announceIntervalMs ?? 1_000,
    ttlHops: 3,
    onionKey: generateX25519(systemRng).publicKey,
    capabilities: { relay: true },
    perSourceRateLimit: { perSecond: 1000, burst: 1000 },
    forwardRateLimit: { perSecond: 1000, burst: 1000 },
    probesPerTick: 0,
    announcePrivateAddresses: true, // loopback only here
    maintenanceIntervalMs: 60_000,
  });
  return p.disco;
}

describe('node/discovery', () => {
  let a: Peer, b: Peer, c: Peer, m: Peer, f: Peer;
  const hopsAtC: Array<{ peerId: string; hopTtl: number; from: string }> = [];
  const forwardedToB = new Set<string>();

  before(async () => {
    [a, b, c, m, f] = await Promise.all([peer(), peer(), peer(), peer(), peer()]);
    // A spy on C, subscribed before C's discovery so it sees every announcement first (and passes it on).
    c.net.subscribe(ANNOUNCE_TOPIC, () => {}, {
      validate: (data, from) => {
        try {
          const h = decodeAnnouncement(data);
          hopsAtC.push({ peerId: h.peerId, hopTtl: h.hopTtl, from });
        } catch {
          // forged garbage: discovery's validator will say so
        }
        return 'accept';
      },
    });
    // And one on B, to see what C forwards.
    b.net.subscribe(ANNOUNCE_TOPIC, () => {}, {
      validate: (data, from) => {
        try {
          if (from === c.net.peerId) forwardedToB.add(decodeAnnouncement(data).peerId);
        } catch {
          // not ours to judge
        }
        return 'accept';
      },
    });
    await b.net.dial(a.net.addresses()[0] ?? '');
    await c.net.dial(b.net.addresses()[0] ?? '');
    await m.net.dial(c.net.addresses()[0] ?? '');
    await f.net.dial(c.net.addresses()[0] ?? '');
    discover(b);
    discover(c);
    discover(a);
  });

  after(async () => {
    await Promise.all([a, b, c, m, f].map((p) => p.disco?.stop()));
    await Promise.all([a, b, c, m, f].map((p) => p.net.stop()));
  });

  test("A's announcement reaches C through B, hop TTL decremented, and lands in C's table", async () => {
    // Only an announcement carries a routing key and capabilities (C may have met A in a DHT walk first).
    assert.ok(await waitFor(() => c.table.get(a.net.peerId)?.routingKey != null, 15_000, 50), "A's announcement entered C's peer table");
    const atC = c.table.get(a.net.peerId);
    assert.deepEqual(atC?.capabilities, ['relay']);
    assert.equal(atC?.routingKey?.length, 32);
    assert.ok(atC?.source === `gossip:${b.net.peerId}` || atC?.source === 'dht', `first heard of from B's gossip or a DHT walk, not ${atC?.source}`);
    assert.ok(atC?.addresses.every((x) => x.endsWith(`/p2p/${a.net.peerId}`)));
    const seen = hopsAtC.filter((h) => h.peerId === a.net.peerId);
    assert.ok(seen.length > 0);
    assert.ok(seen.every((h) => h.hopTtl === 2 && h.from === b.net.peerId), `C only ever saw A's announcement at TTL 2 from B: ${JSON.stringify(seen)}`);
    // Nobody stores itself.
    assert.equal(a.table.get(a.net.peerId), undefined);
    assert.equal(c.table.get(c.net.peerId), undefined);
  });

  test('a flood of forged announcements is rejected and never enters the table', async () => {
    // Make sure F's publications reach C at all (C's subscription is known to F).
    assert.ok(await waitFor(async () => (await f.net.publish(ANNOUNCE_TOPIC, Uint8Array.of(0))) > 0, 10_000, 100));
    const before = c.disco?.stats().rejected ?? 0;
    const victim = generateEd25519(systemRng);
    const liar = generateEd25519(systemRng);
    const forged: Uint8Array[] = [];
    for (let i = 0; i < 30; i++) {
      const good = encodeAnnouncement(victim, { addresses: [`/ip4/10.9.9.${i}/tcp/1`], capabilities: 0, timestamp: Date.now() + i, hopTtl: 1 });
      const bad = Uint8Array.from(good);
      bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0x01; // signature
      forged.push(bad);
      const spliced = encodeAnnouncement(liar, { addresses: [`/ip4/10.8.8.${i}/tcp/1`], capabilities: 0, timestamp: Date.now() + i, hopTtl: 1 });
      spliced.set(victim.publicKey, 10); // the key no longer derives the announced peer ID
      forged.push(spliced);
      forged.push(randomBytes(64 + i)); // garbage
    }
    for (const bytes of forged) await f.net.publish(ANNOUNCE_TOPIC, bytes);
    assert.ok(await waitFor(() => (c.disco?.stats().rejected ?? 0) - before >= 60, 10_000), `C rejected ${(c.disco?.stats().rejected ?? 0) - before}`);
    await sleep(200);
    const victimId = decodeAnnouncement(encodeAnnouncement(victim, { addresses: [], capabilities: 0, timestamp: 1, hopTtl: 1 })).peerId;
    assert.equal(c.table.get(victimId), undefined, 'the victim never entered the table');
    assert.equal(c.table.upserts.get(victimId), undefined, 'nor was it ever handed to the table');
    assert.ok(c.table.list().every((p) => p.source !== `gossip:${f.net.peerId}`), 'nothing from F entered the table');
  });

  test("a Sybil flood from one source is capped by the table's prefix and source caps, and not forwarded beyond them", async () => {
    assert.ok(await waitFor(async () => (await m.net.publish(ANNOUNCE_TOPIC, Uint8Array.of(1))) > 0, 10_000, 100));
    const fromM = (): number => c.table.list().filter((p) => p.source === `gossip:${m.net.peerId}`).length;
    const refused = (): number => c.disco?.stats().refusedByTable ?? 0;
    const refusedBefore = refused();
    const sybils = new Set<string>();
    const flood = async (n: number, addr: (i: number) => string): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const k = generateEd25519(systemRng);
        sybils.add(ed25519PeerId(k.publicKey));
        await m.net.publish(ANNOUNCE_TOPIC, encodeAnnouncement(k, { addresses: [addr(i)], capabilities: 3, timestamp: Date.now(), hopTtl: 2 }));
      }
    };
    // 1. Twenty Sybils in one public /16: the prefix cap (8) holds.
    await flood(20, (i) => `/ip4/203.0.113.${i + 1}/tcp/4001`);
    assert.ok(await waitFor(() => fromM() + refused() - refusedBefore >= 20, 10_000), `${fromM()} in, ${refused() - refusedBefore} refused`);
    assert.equal(fromM(), 8, 'prefix cap: 8 per public /16');
    // 2. Sixty more, each in its own /16: the per-source cap (16 in this test) holds.
    await flood(60, (i) => `/ip4/${20 + i}.${i}.0.1/tcp/4001`);
    assert.ok(await waitFor(() => fromM() + refused() - refusedBefore >= 80, 15_000), `${fromM()} in, ${refused() - refusedBefore} refused`);
    assert.equal(fromM(), 16, 'source cap: 16 per gossip source');
    const sybilsAtB = (): number => [...forwardedToB].filter((id) => sybils.has(id)).length;
    assert.ok(await waitFor(() => sybilsAtB() >= 16, 5_000), `B got ${sybilsAtB()} Sybils from C`);
    await sleep(300);
    assert.equal(sybilsAtB(), 16, 'C forwarded only the announcements its table admitted');
    // The honest peers are still there.
    assert.ok(c.table.get(a.net.peerId) !== undefined && c.table.get(b.net.peerId) !== undefined);
  });

  test('replays and TTL-reset copies of a known announcement never reach the table twice', async () => {
    const k = generateEd25519(systemRng);
    const ann = encodeAnnouncement(k, { addresses: ['/ip4/10.6.0.1/tcp/1'], capabilities: 0, timestamp: Date.now(), hopTtl: 1 });
    const id = decodeAnnouncement(ann).peerId;
    await m.net.publish(ANNOUNCE_TOPIC, ann);
    assert.ok(await waitFor(() => c.table.upserts.get(id) === 1, 5_000), 'the first copy was handed to the table');
    await m.net.publish(ANNOUNCE_TOPIC, withHopTtl(ann, 5)); // TTL reset: other bytes, same (peer, timestamp)
    await m.net.publish(ANNOUNCE_TOPIC, withHopTtl(ann, 2));
    await sleep(500);
    assert.equal(c.table.upserts.get(id), 1, 'copies were dropped before the table');
  });

  test('normalizeAddresses keeps /p2p/<peer> addresses and relayed ones, drops addresses of other peers', () => {
    const id = a.net.peerId;
    const other = b.net.peerId;
    assert.deepEqual(
      normalizeAddresses(id, ['/ip4/1.2.3.4/tcp/1', `/ip4/1.2.3.4/tcp/2/p2p/${id}`, `/ip4/1.2.3.4/tcp/3/p2p/${other}`, `/ip4/5.6.7.8/tcp/4/p2p/${other}/p2p-circuit/p2p/${id}`, '/ip4/1.2.3.4/tcp/1']),
      [`/ip4/1.2.3.4/tcp/1/p2p/${id}`, `/ip4/1.2.3.4/tcp/2/p2p/${id}`, `/ip4/5.6.7.8/tcp/4/p2p/${other}/p2p-circuit/p2p/${id}`],
    );
  });
});
