/**
 * node/discovery against a fake net node and a manual clock (no sockets): the validator's verdict for each
 * kind of input, forwarding with hop TTL − 1 and its rate limit, per-source limits, the bounded dedupe
 * cache, net discoveries into the table, probes recording outcomes, and our own announcements.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { ed25519FromSeed, generateEd25519, type Ed25519KeyPair } from '../../src/crypto/ed25519.ts';
import { generateX25519 } from '../../src/crypto/x25519.ts';
import { systemRng } from '../../src/lib/system.ts';
import type { ConnectionInfo, DiscoveredPeer, GossipVerdict, SubscribeOptions } from '../../src/net/types.ts';
import { ANNOUNCE_TOPIC, startDiscovery, type Discovery, type DiscoveryOptions } from '../../src/node/discovery/index.ts';
import { decodeAnnouncement, ed25519PeerId, encodeAnnouncement, withHopTtl } from '../../src/protocol/wire/announcement.ts';
import { ANNOUNCEMENT_MAX_AGE_MS, ANNOUNCEMENT_MAX_CLOCK_SKEW_MS } from '../../src/protocol/wire/constants.ts';
import { createPeerPolicy } from '../../src/routing/peer-policy.ts';
import { type PeerRepository } from '../../src/store/peers.ts';
import { memoryPeerRepository } from '../../src/store/peers-memory.ts';
import { SUBJECTS } from './store/subjects.ts';

const T0 = 1_790_000_000_000;

function fakeNet(peerId: string, recipients = 1) {
  const state = {
    extraAddresses: [] as string[],
    validate: undefined as SubscribeOptions['validate'],
    discovered: undefined as ((p: DiscoveredPeer) => void) | undefined,
    published: [] as Uint8Array[],
    recipients,
    dials: [] as string[],
    failDials: false,
    conns: [] as ConnectionInfo[],
  };
  const net = {
    peerId,
    addresses: () => [`/ip4/127.0.0.1/tcp/4001/p2p/${peerId}`, `/ip4/192.168.1.5/tcp/4001/p2p/${peerId}`, `/ip4/203.0.113.9/tcp/4001/p2p/${peerId}`, `/dns4/node.example/tcp/443/wss/p2p/${peerId}`, ...state.extraAddresses],
    publish: async (topic: string, bytes: Uint8Array) => {
      assert.equal(topic, ANNOUNCE_TOPIC);
      state.published.push(bytes);
      return state.recipients;
    },
    subscribe: (_topic: string, _cb: unknown, opts?: SubscribeOptions) => {
      state.validate = opts?.validate;
      return () => (state.validate = undefined);
    },
    onPeerDiscovered: (cb: (p: DiscoveredPeer) => void) => {
      state.discovered = cb;
      return () => (state.discovered = undefined);
    },
    connections: () => state.conns,
    dial: async (addr: string) => {
      state.dials.push(addr);
      if (state.failDials) throw new Error('unreachable');
      return addr.slice(addr.lastIndexOf('/') + 1);
    },
  };
  return { net, state };
}

let running: Discovery[] = [];
afterEach(async () => {
  await Promise.all(running.map((d) => d.stop()));
  running = [];
});

function setup(extra: Partial<DiscoveryOptions> = {}, recipients = 1, table?: PeerRepository) {
  const seed = randomBytes(32);
  const me = ed25519PeerId(ed25519FromSeed(seed).publicKey);
  const { net, state } = fakeNet(me, recipients);
  const clock = { now: T0 };
  const peers = table ?? memoryPeerRepository(createPeerPolicy());
  const d = startDiscovery({
    net,
    peers,
    nodeKey: seed,
    clock: () => clock.now,
    announceIntervalMs: 3_600_000,
    probesPerTick: 2,
    maintenanceIntervalMs: 3_600_000,
    ...extra,
  });
  running.push(d);
  const validate = async (bytes: Uint8Array, from = 'origin1'): Promise<GossipVerdict> => {
    assert.ok(state.validate, 'subscribed');
    return state.validate(bytes, from);
  };
  return { d, net, state, clock, peers, validate, seed, me };
}

function announcement(k: Ed25519KeyPair, timestamp: number, hopTtl = 3, addresses = ['/ip4/198.51.100.7/tcp/4001']): Uint8Array {
  return encodeAnnouncement(k, { addresses, capabilities: 2, timestamp, hopTtl });
}

describe('node/discovery logic', () => {
  test('our announcement: signed by the node key, our addresses, TTL, capabilities; strictly increasing timestamps', async () => {
    const onion = generateX25519(systemRng).publicKey;
    const { d, state, me } = setup({ ttlHops: 5, onionKey: onion, capabilities: { relay: true, mailbox: true } });
    await d.announceNow();
    await d.announceNow();
    const [x, y] = state.published.slice(-2).map((b) => decodeAnnouncement(b));
    assert.equal(x?.peerId, me);
    assert.equal(x?.hopTtl, 5);
    assert.equal(x?.capabilities, 3);
    assert.deepEqual(x?.onionKey, onion);
    assert.deepEqual(x?.addresses, [`/ip4/203.0.113.9/tcp/4001/p2p/${me}`, `/dns4/node.example/tcp/443/wss/p2p/${me}`], 'no loopback or LAN addresses by default');
    assert.ok((y?.timestamp ?? 0) > (x?.timestamp ?? 0), 'same clock reading, still newer');
  });

  test('announcePrivateAddresses: loopback and LAN addresses too', async () => {
    const { d, state } = setup({ announcePrivateAddresses: true });
    await d.announceNow();
    assert.equal(decodeAnnouncement(state.published.at(-1) ?? new Uint8Array()).addresses.length, 4);
  });

  test('an address libp2p lists twice is announced once (receivers refuse a repeated address)', async () => {
    const { d, state, me } = setup({ announcePrivateAddresses: true });
    state.extraAddresses.push(`/ip4/203.0.113.9/tcp/4001/p2p/${me}`, `/ip4/192.168.1.5/tcp/4001/p2p/${me}`);
    const before = state.published.length;
    await d.announceNow().catch(() => {});
    assert.equal(state.published.length, before + 1, 'announced (not refused by the encoder)');
    const addrs = decodeAnnouncement(state.published.at(-1) ?? new Uint8Array()).addresses;
    assert.equal(new Set(addrs).size, addrs.length);
    assert.equal(addrs.length, 4);
  });

  test('refuses a node key that is not the net node’s, and a hop TTL out of range', () => {
    const { net } = fakeNet(ed25519PeerId(generateEd25519(systemRng).publicKey));
    const peers = memoryPeerRepository(createPeerPolicy());
    assert.throws(() => startDiscovery({ net, peers, nodeKey: randomBytes(32), clock: () => T0 }), /not the key of this net node/);
    const seed = randomBytes(32);
    const own = fakeNet(ed25519PeerId(ed25519FromSeed(seed).publicKey)).net;
    assert.throws(() => startDiscovery({ net: own, peers, nodeKey: seed, clock: () => T0, ttlHops: 0 }), /ttlHops/);
    assert.throws(() => startDiscovery({ net: own, peers, nodeKey: seed, clock: () => T0, ttlHops: 9 }), /ttlHops/);
  });

  test('verdicts: good is handled (ignore to gossipsub) and forwarded with TTL − 1; forged rejects; stale/future/own/duplicate ignore', async () => {
    const { d, state, peers, validate, seed } = setup();
    const k = generateEd25519(systemRng);
    const id = ed25519PeerId(k.publicKey);
    const good = announcement(k, T0);
    state.published.length = 0;
    assert.equal(await validate(good), 'ignore');
    const rec = peers.get(id);
    assert.equal(rec?.source, 'gossip:origin1');
    assert.deepEqual(rec?.capabilities, ['mailbox']);
    assert.deepEqual(rec?.addresses, [`/ip4/198.51.100.7/tcp/4001/p2p/${id}`]);
    assert.equal(state.published.length, 1);
    assert.equal(decodeAnnouncement(state.published[0] ?? new Uint8Array()).hopTtl, 2);

    assert.equal(await validate(good), 'ignore', 'duplicate');
    assert.equal(await validate(withHopTtl(good, 8)), 'ignore', 'TTL reset copy');
    assert.equal(await validate(announcement(k, T0 - 1)), 'ignore', 'older than the last seen');
    assert.equal(state.published.length, 1, 'none of those forwarded');

    const last = announcement(k, T0 + 1, 1);
    assert.equal(await validate(last), 'ignore');
    assert.equal(state.published.length, 1, 'TTL 1: kept, not forwarded');

    const k2 = generateEd25519(systemRng);
    assert.equal(await validate(announcement(k2, T0 - ANNOUNCEMENT_MAX_AGE_MS - 1)), 'ignore', 'stale');
    assert.equal(await validate(announcement(k2, T0 + ANNOUNCEMENT_MAX_CLOCK_SKEW_MS + 1)), 'ignore', 'future');
    assert.equal(peers.get(ed25519PeerId(k2.publicKey)), undefined);

    const forged = announcement(k2, T0);
    forged[forged.length - 5] = (forged[forged.length - 5] as number) ^ 1;
    assert.equal(await validate(forged), 'reject', 'bad signature');
    assert.equal(await validate(randomBytes(100)), 'reject', 'garbage');
    const spliced = announcement(k2, T0);
    spliced.set(k.publicKey, 10);
    assert.equal(await validate(spliced), 'reject', 'peer-ID mismatch');
    assert.equal(peers.get(ed25519PeerId(k2.publicKey)), undefined);

    assert.equal(await validate(announcement(ed25519FromSeed(seed), T0 + 5)), 'ignore', 'our own');
    const s = d.stats();
    assert.equal(s.rejected, 3);
    assert.equal(s.verified, 2);
    assert.equal(s.forwarded, 1);
  });

  test('per-source rate limit comes before any parsing; the forwarding bucket bounds re-publication', async () => {
    const { d, state, validate } = setup({ perSourceRateLimit: { perSecond: 0.001, burst: 3 }, forwardRateLimit: { perSecond: 0.001, burst: 2 } });
    state.published.length = 0;
    for (let i = 0; i < 3; i++) assert.equal(await validate(announcement(generateEd25519(systemRng), T0), 'sybil'), 'ignore');
    assert.equal(await validate(randomBytes(50), 'sybil'), 'ignore', 'over its rate: not even parsed');
    assert.equal(await validate(announcement(generateEd25519(systemRng), T0), 'honest'), 'ignore');
    assert.equal(d.stats().verified, 4);
    assert.equal(state.published.length, 2, 'forwarding bucket of 2');
  });

  for (const [name, subject] of SUBJECTS) {
    test(`the table refusing an announcement (a cap) means it is not forwarded (${name} store)`, async () => {
      // The unverified cap (8 in an empty table) is lifted here to reach the prefix and source caps;
      // it refuses the same way (test/unit/store/peers-compliance.ts).
      const sub = subject({ maxPerGossipSource: 5, minUnverified: 64 });
      try {
        const { d, state, validate, peers } = setup({}, 1, sub.store.peers);
        state.published.length = 0;
        // 8 per public /16 by default: the 9th in 198.51/16 is refused.
        for (let i = 0; i < 9; i++) await validate(announcement(generateEd25519(systemRng), T0, 3, [`/ip4/198.51.100.${i}/tcp/1`]), `src${i}`);
        assert.equal(peers.count(), 8);
        assert.equal(d.stats().refusedByTable, 1);
        assert.equal(state.published.length, 8);
        // 5 per gossip source here: a sixth Sybil from one source, each in its own /16, is refused.
        for (let i = 0; i < 6; i++) await validate(announcement(generateEd25519(systemRng), T0, 3, [`/ip4/${30 + i}.1.0.1/tcp/1`]), 'sybil-source');
        assert.equal(peers.list().filter((p) => p.source === 'gossip:sybil-source').length, 5);
        assert.equal(d.stats().refusedByTable, 2);
        await d.stop();
      } finally {
        sub.close();
      }
    });
  }

  test('the dedupe cache is bounded (oldest entries go first)', async () => {
    const { validate, peers } = setup({ seenCacheSize: 2 });
    const keys = [0, 1, 2].map(() => generateEd25519(systemRng));
    const anns = keys.map((k) => announcement(k, T0));
    for (const a of anns) await validate(a);
    const first = ed25519PeerId(keys[0]?.publicKey ?? generateEd25519(systemRng).publicKey);
    peers.remove(first);
    assert.equal(await validate(anns[2] ?? new Uint8Array()), 'ignore');
    await validate(anns[0] ?? new Uint8Array()); // evicted from the cache: verified again, re-enters the table
    assert.ok(peers.get(first) !== undefined);
  });

  test('net discoveries go to the table with their source; identify over our dial counts as a successful dial', () => {
    const { state, peers } = setup();
    const ids = [0, 1, 2].map(() => ed25519PeerId(generateEd25519(systemRng).publicKey));
    const [m, i1, i2] = ids as [string, string, string];
    state.discovered?.({ peerId: m, addresses: ['/ip4/192.168.1.9/tcp/4001'], source: 'mdns' });
    assert.equal(peers.get(m)?.source, 'mdns');
    assert.deepEqual(peers.get(m)?.addresses, [`/ip4/192.168.1.9/tcp/4001/p2p/${m}`]);
    state.conns = [{ peerId: i1, address: '/ip4/127.0.0.1/tcp/1', direction: 'outbound', limited: false }, { peerId: i2, address: '/ip4/127.0.0.1/tcp/2', direction: 'inbound', limited: false }];
    state.discovered?.({ peerId: i1, addresses: ['/ip4/127.0.0.1/tcp/1'], source: 'identify' });
    state.discovered?.({ peerId: i2, addresses: ['/ip4/127.0.0.1/tcp/2'], source: 'identify' });
    assert.equal(peers.get(i1)?.source, 'direct');
    assert.ok((peers.get(i1)?.score ?? 0) > 0.5, 'outbound: scored up');
    assert.equal(peers.get(i2)?.score, 0.5, 'inbound: no outcome');
  });

  test('maintenance prunes and probes gossip-learned peers, recording real outcomes', async () => {
    const { d, state, validate, peers } = setup({ probesPerTick: 5 });
    const ok = generateEd25519(systemRng);
    const bad = generateEd25519(systemRng);
    await validate(announcement(ok, T0, 1, ['/ip4/198.51.100.1/tcp/1']));
    await d.maintainNow();
    assert.equal(state.dials.length, 1);
    assert.ok((peers.get(ed25519PeerId(ok.publicKey))?.score ?? 0) > 0.5);
    state.failDials = true;
    await validate(announcement(bad, T0, 1, ['/ip4/198.51.100.2/tcp/1']));
    await d.maintainNow();
    assert.ok((peers.get(ed25519PeerId(bad.publicKey))?.score ?? 1) < 0.5);
    await d.maintainNow();
    assert.equal(state.dials.length, 2, 'each learned peer is probed once');
  });

  test('maintenance re-announces when our addresses changed, and only then', async () => {
    const { d, state, me } = setup();
    await d.announceNow();
    const n = state.published.length;
    await d.maintainNow();
    assert.equal(state.published.length, n, 'unchanged: no announcement');
    state.extraAddresses.push(`/ip4/198.51.100.44/tcp/4002/p2p/${me}`);
    await d.maintainNow();
    assert.equal(state.published.length, n + 1);
    assert.ok(decodeAnnouncement(state.published.at(-1) ?? new Uint8Array()).addresses.includes(`/ip4/198.51.100.44/tcp/4002/p2p/${me}`));
  });

  test('while nobody hears us, announcements retry with backoff', async () => {
    const { state } = setup({ announceIntervalMs: 60_000 }, 0);
    await new Promise((r) => setTimeout(r, 1_700)); // t=0, 0.5 s, 1.5 s
    assert.ok(state.published.length >= 3, `${state.published.length} attempts`);
    state.recipients = 2;
    const before = state.published.length;
    const end = Date.now() + 5_000;
    while (state.published.length === before && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const n = state.published.length; // heard: the next one is a full interval away
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(state.published.length, n, 'back to the full interval once heard');
  });
});
