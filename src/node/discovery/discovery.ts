/**
 * Discovery: feeds the peer table from signed announcements on gossip and from net's own discovery
 * (mDNS, bootstrap, DHT walks, identify), and announces this node.
 *
 * Outbound: every `announceIntervalMs` (sooner, with backoff, while nobody hears us) sign a fresh
 * announcement with the node key — addresses, onion key, capabilities, never the user identity — and
 * publish it on ANNOUNCE_TOPIC with hop TTL `ttlHops`.
 *
 * Inbound, in the gossip validator, cheapest checks first:
 *   1. per-source token bucket (the gossip origin, i.e. the last re-publisher)   excess → 'ignore'
 *   2. decode: size, structure, key validity                                       → 'reject'
 *   3. our own, or not newer than the last one seen for that peer (bounded cache)  → 'ignore'
 *   4. verify: peer-ID binding and signature → 'reject'; stale or future timestamp → 'ignore'
 *   5. upsert into the peer table with source `gossip:<origin>`; the table's caps may refuse it
 *   6. accepted and hop TTL > 1: re-publish with hop TTL − 1 (bounded by a forwarding bucket)
 *   7. return 'ignore' even for a good announcement, so gossipsub never forwards it itself: the hop TTL,
 *      not gossipsub's mesh, bounds how far an announcement travels.
 * net.onPeerDiscovered sightings go to the table with their source ('mdns', 'bootstrap', …).
 * Maintenance, every `maintenanceIntervalMs`: prune the table, re-announce when our addresses changed,
 * and dial a few gossip-learned peers to
 * record real outcomes (dial ok / failed) for their reachability scores; identify on a connection we
 * dialled counts as a successful dial.
 */
import { ed25519FromSeed, type Ed25519KeyPair } from '../../crypto/ed25519.ts';
import type { X25519PublicKey } from '../../crypto/x25519.ts';
import type { Clock } from '../../lib/deps.ts';
import { equalBytes } from '../../lib/bytes.ts';
import { CompeerError, CryptoError, ErrorCodes, LimitError, ProtocolError } from '../../lib/errors.ts';
import { silentLogger, type Logger } from '../../lib/log.ts';
import { createTokenBuckets, type RateLimit } from '../../net/rate-limit.ts';
import type { DiscoveredPeer, GossipVerdict, NetNode } from '../../net/types.ts';
import {
  ANNOUNCEMENT_DEFAULT_HOP_TTL,
  ANNOUNCEMENT_INTERVAL_MS,
  ANNOUNCEMENT_MAX_ADDRESS_BYTES,
  ANNOUNCEMENT_MAX_ADDRESSES,
  ANNOUNCEMENT_MAX_HOP_TTL,
} from '../../protocol/wire/constants.ts';
import {
  CAPABILITY_MAILBOX,
  CAPABILITY_RELAY,
  decodeAnnouncement,
  ed25519PeerId,
  encodeAnnouncement,
  verifyDecodedAnnouncement,
  withHopTtl,
  type PeerAnnouncement,
} from '../../protocol/wire/announcement.ts';
import { addressPrefix } from '../../routing/peer-policy.ts';
import { MAX_PEER_ADDRESSES, type PeerRepository, type PeerSource } from '../../store/peers.ts';

export const ANNOUNCE_TOPIC = '/compeer/announce/1';
export const DEFAULT_SOURCE_RATE_LIMIT: RateLimit = { perSecond: 5, burst: 50 };
export const DEFAULT_FORWARD_RATE_LIMIT: RateLimit = { perSecond: 5, burst: 20 };
const DEFAULT_SEEN_CACHE = 4096;
const DEFAULT_MAINTENANCE_MS = 60_000;
const FIRST_RETRY_MS = 500;
const PROBE_QUEUE_MAX = 256;
const PROBE_TIMEOUT_MS = 5_000;

/**
 * The slice of the peer table discovery uses (src/store/peers.ts; its caps per IP prefix, per announcing
 * source and in total come from the PeerPolicy the store was opened with, src/routing/peer-policy.ts).
 */
export type DiscoveryPeerTable = Pick<PeerRepository, 'upsert' | 'recordOutcome' | 'prune'>;

/** The slice of the net node discovery uses. */
export type DiscoveryNet = Pick<NetNode, 'peerId' | 'addresses' | 'publish' | 'subscribe' | 'onPeerDiscovered' | 'connections' | 'dial'>;

export interface DiscoveryOptions {
  readonly net: DiscoveryNet;
  readonly peers: DiscoveryPeerTable;
  /** The libp2p node key as given to createNetNode (32-byte seed or 64-byte seed‖public). */
  readonly nodeKey: Uint8Array;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** How often we announce ourselves (default 5 min). */
  readonly announceIntervalMs?: number;
  /** Hops our announcements travel, 1..8 (default 3). */
  readonly ttlHops?: number;
  /** Our onion key (a getter: it rotates, src/node/onion-keys.ts). */
  readonly onionKey?: X25519PublicKey | (() => X25519PublicKey);
  readonly capabilities?: { readonly relay?: boolean; readonly mailbox?: boolean };
  /** Addresses to announce (default: net.addresses()); at most 8 of at most 256 bytes each are sent. */
  readonly addresses?: () => string[];
  /**
   * Also announce loopback and private-range (LAN) addresses (default false): on the wide-area gossip
   * they are useless to strangers and tell them about our network; LAN peers find us by mDNS anyway.
   * Loopback and LAN tests turn it on.
   */
  readonly announcePrivateAddresses?: boolean;
  /** Announcements older than this are stale (default ANNOUNCEMENT_MAX_AGE_MS). */
  readonly maxAgeMs?: number;
  /** Per gossip origin, before any signature check (default 5/s, burst 50). */
  readonly perSourceRateLimit?: RateLimit;
  /** Re-publications of others' announcements, node-wide (default 5/s, burst 20); excess not forwarded. */
  readonly forwardRateLimit?: RateLimit;
  /** (peer ID → newest timestamp) entries kept for deduplication (default 4096). */
  readonly seenCacheSize?: number;
  /** Prune and probe period (default 60 s). */
  readonly maintenanceIntervalMs?: number;
  /** Gossip-learned peers dialled per maintenance tick to score them (default 2; 0 turns probing off). */
  readonly probesPerTick?: number;
}

export interface DiscoveryStats {
  /** Verified and handed to the table (the table may still have refused them: see `refusedByTable`). */
  verified: number;
  refusedByTable: number;
  rejected: number;
  ignored: number;
  forwarded: number;
  announced: number;
}

export interface Discovery {
  /** Stops timers and subscriptions; resolves when a running maintenance pass has finished. */
  stop(): Promise<void>;
  /** Signs and publishes a fresh announcement now; resolves to the number of peers it was sent to. */
  announceNow(): Promise<number>;
  /** Maintenance now: prune, then probe (tests, and after a network change). */
  maintainNow(): Promise<void>;
  stats(): Readonly<DiscoveryStats>;
}

function nodeKeyPair(raw: Uint8Array): Ed25519KeyPair {
  if (raw.length !== 32 && raw.length !== 64) throw new CompeerError(ErrorCodes.INVALID_LENGTH, `nodeKey: expected 32 or 64 bytes, got ${raw.length}`);
  const key = ed25519FromSeed(raw.subarray(0, 32));
  if (raw.length === 64 && !equalBytes(key.publicKey, raw.subarray(32))) {
    throw new CryptoError(ErrorCodes.INVALID_KEY, 'nodeKey: public half does not match the seed');
  }
  return key;
}

/**
 * The addresses of `peerId` worth keeping, each ending in /p2p/<peerId>. An address whose last /p2p/
 * names another peer is dropped (a relayed address /…/p2p/<relay>/p2p-circuit/p2p/<peerId> is kept).
 */
export function normalizeAddresses(peerId: string, addresses: readonly string[]): string[] {
  const suffix = `/p2p/${peerId}`;
  const out = new Set<string>();
  for (const a of addresses) {
    const last = a.lastIndexOf('/p2p/');
    if (last === -1) out.add(a + suffix);
    else if (a.endsWith(suffix) && last === a.length - suffix.length) out.add(a);
  }
  return [...out];
}

/** Whether an address may go on the wide-area gossip: not loopback, not a private (LAN) range, not memory. */
export function isPublicAddress(addr: string): boolean {
  const p = addressPrefix(addr);
  return p === undefined || !(p === 'loopback' || p === 'memory' || p.startsWith('lan'));
}

/** Capability bits as the peer table's names. */
export function capabilityNames(bits: number): string[] {
  const out: string[] = [];
  if ((bits & CAPABILITY_RELAY) !== 0) out.push('relay');
  if ((bits & CAPABILITY_MAILBOX) !== 0) out.push('mailbox');
  return out;
}

/** net's discovery mechanisms as peer-table sources: identify means a live connection ('direct'). */
function sourceOf(p: DiscoveredPeer): PeerSource {
  return p.source === 'identify' ? 'direct' : p.source;
}

export function startDiscovery(opts: DiscoveryOptions): Discovery {
  const { net, peers, clock } = opts;
  const log = (opts.logger ?? silentLogger).child({ mod: 'discovery' });
  const key = nodeKeyPair(opts.nodeKey);
  if (ed25519PeerId(key.publicKey) !== net.peerId) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'discovery: nodeKey is not the key of this net node');
  }
  const ttlHops = opts.ttlHops ?? ANNOUNCEMENT_DEFAULT_HOP_TTL;
  if (!Number.isInteger(ttlHops) || ttlHops < 1 || ttlHops > ANNOUNCEMENT_MAX_HOP_TTL) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `discovery: ttlHops must be 1..${ANNOUNCEMENT_MAX_HOP_TTL}`);
  }
  const interval = opts.announceIntervalMs ?? ANNOUNCEMENT_INTERVAL_MS;
  const maintenanceMs = opts.maintenanceIntervalMs ?? DEFAULT_MAINTENANCE_MS;
  const probesPerTick = opts.probesPerTick ?? 2;
  const capabilities = (opts.capabilities?.relay === true ? CAPABILITY_RELAY : 0) | (opts.capabilities?.mailbox === true ? CAPABILITY_MAILBOX : 0);
  const ownAddresses = opts.addresses ?? (() => net.addresses());
  const sourceBuckets = createTokenBuckets(opts.perSourceRateLimit ?? DEFAULT_SOURCE_RATE_LIMIT, clock);
  const forwardBucket = createTokenBuckets(opts.forwardRateLimit ?? DEFAULT_FORWARD_RATE_LIMIT, clock, 1);
  const seenCap = opts.seenCacheSize ?? DEFAULT_SEEN_CACHE;
  const seen = new Map<string, number>(); // peer ID → newest timestamp, in insertion (≈ LRU) order
  const toProbe = new Map<string, string[]>();
  const stats: DiscoveryStats = { verified: 0, refusedByTable: 0, rejected: 0, ignored: 0, forwarded: 0, announced: 0 };
  let stopped = false;
  let lastTimestamp = 0;
  let announceTimer: ReturnType<typeof setTimeout> | undefined;
  let retryMs = FIRST_RETRY_MS;

  const ignore = (): GossipVerdict => {
    stats.ignored++;
    return 'ignore';
  };

  const remember = (peerId: string, timestamp: number): void => {
    seen.delete(peerId);
    seen.set(peerId, timestamp);
    for (const k of seen.keys()) {
      if (seen.size <= seenCap) break;
      seen.delete(k);
    }
  };

  const forward = (data: Uint8Array, a: PeerAnnouncement): void => {
    if (a.hopTtl <= 1 || stopped) return;
    if (!forwardBucket.take('all')) {
      log.debug('announcement not forwarded', { peer: a.peerId, err: new LimitError(ErrorCodes.RATE_LIMITED, 'forwarding over its rate') });
      return;
    }
    stats.forwarded++;
    net.publish(ANNOUNCE_TOPIC, withHopTtl(data, a.hopTtl - 1)).catch((err: unknown) => {
      log.debug('announcement forward failed', { peer: a.peerId, err: err instanceof Error ? err : String(err) });
    });
  };

  const validate = async (data: Uint8Array, from: string): Promise<GossipVerdict> => {
    if (stopped) return 'ignore';
    if (!sourceBuckets.take(from)) {
      log.debug('announcement refused', { origin: from, err: new LimitError(ErrorCodes.RATE_LIMITED, 'source over its rate') });
      return ignore();
    }
    let a: PeerAnnouncement;
    try {
      const head = decodeAnnouncement(data);
      if (head.peerId === net.peerId) return ignore();
      const known = seen.get(head.peerId);
      if (known !== undefined && head.timestamp <= known) return ignore(); // duplicate, replay or older
      a = verifyDecodedAnnouncement(head, { now: clock(), ...(opts.maxAgeMs === undefined ? {} : { maxAgeMs: opts.maxAgeMs }) });
    } catch (err) {
      // Stale or future: an honest peer with an old copy or a skewed clock. Anything else is forged.
      const honest = err instanceof ProtocolError;
      log.debug('announcement refused', { origin: from, err: err instanceof Error ? err : String(err) });
      if (honest) return ignore();
      stats.rejected++;
      return 'reject';
    }
    remember(a.peerId, a.timestamp);
    stats.verified++;
    const addresses = normalizeAddresses(a.peerId, a.addresses);
    let accepted = false;
    try {
      const res = peers.upsert({
        peerId: a.peerId,
        addresses,
        capabilities: capabilityNames(a.capabilities),
        routingKey: a.onionKey ?? null,
        source: `gossip:${from}`,
        seenAt: clock(),
      });
      accepted = res.outcome !== 'refused';
      if (res.outcome === 'refused') log.debug('announced peer refused by the table', { peer: a.peerId, origin: from, reason: res.reason });
    } catch (err) {
      log.warn('peer table upsert failed', { peer: a.peerId, err: err instanceof Error ? err : String(err) });
    }
    if (!accepted) {
      stats.refusedByTable++;
      return 'ignore';
    }
    if (addresses.length > 0 && toProbe.size < PROBE_QUEUE_MAX) toProbe.set(a.peerId, addresses);
    forward(data, a);
    return 'ignore'; // handled: propagation is ours, hop by hop (see the header)
  };

  const announceable = (): string[] =>
    ownAddresses()
      .filter((s) => s.length > 0 && Buffer.byteLength(s) <= ANNOUNCEMENT_MAX_ADDRESS_BYTES)
      .filter((s) => opts.announcePrivateAddresses === true || isPublicAddress(s))
      // Once each: receivers refuse an announcement that repeats an address (and the encoder throws).
      .filter((s, i, all) => all.indexOf(s) === i)
      .slice(0, ANNOUNCEMENT_MAX_ADDRESSES);
  let lastAnnounced: string | undefined;

  const announceNow = async (): Promise<number> => {
    const timestamp = Math.max(clock(), lastTimestamp + 1); // strictly increasing: receivers drop repeats
    lastTimestamp = timestamp;
    const addresses = announceable();
    lastAnnounced = addresses.join(' ');
    const bytes = encodeAnnouncement(key, { addresses, onionKey: typeof opts.onionKey === 'function' ? opts.onionKey() : opts.onionKey, capabilities, timestamp, hopTtl: ttlHops });
    const recipients = await net.publish(ANNOUNCE_TOPIC, bytes);
    stats.announced++;
    log.debug('announced', { recipients, addresses: addresses.length });
    return recipients;
  };

  // Announce now; again after `interval`, or sooner (backoff from 0.5 s) while nobody received it.
  const announceLoop = (): void => {
    announceTimer = undefined;
    if (stopped) return;
    announceNow()
      .then((n) => {
        if (n > 0) return interval;
        const next = Math.min(retryMs, interval);
        retryMs = Math.min(retryMs * 2, interval);
        return next;
      })
      .catch((err: unknown) => {
        log.warn('announce failed', { err: err instanceof Error ? err : String(err) });
        return interval;
      })
      .then((next) => {
        if (stopped) return;
        announceTimer = setTimeout(announceLoop, next);
        announceTimer.unref();
      }, () => {});
  };

  const probe = async (): Promise<void> => {
    const connected = new Set(net.connections().map((c) => c.peerId));
    let dials = 0;
    for (const [peerId, addresses] of toProbe) {
      if (stopped || dials >= probesPerTick) break;
      toProbe.delete(peerId);
      if (connected.has(peerId)) {
        peers.recordOutcome(peerId, true, clock());
        continue;
      }
      const addr = addresses[0];
      if (addr === undefined) continue;
      dials++;
      let ok = true;
      try {
        await net.dial(addr, { timeoutMs: PROBE_TIMEOUT_MS });
      } catch (err) {
        ok = false;
        log.debug('probe dial failed', { peer: peerId, err: err instanceof Error ? err : String(err) });
      }
      if (!stopped) peers.recordOutcome(peerId, ok, clock());
    }
  };

  const maintainNow = async (): Promise<void> => {
    try {
      const pruned = peers.prune(clock());
      if (pruned.length > 0) log.debug('peers pruned', { count: pruned.length });
      if (probesPerTick > 0) await probe();
      // Our addresses changed (a new listener, a relay reservation): tell the network now.
      if (!stopped && lastAnnounced !== undefined && announceable().join(' ') !== lastAnnounced) await announceNow();
    } catch (err) {
      log.warn('discovery maintenance failed', { err: err instanceof Error ? err : String(err) });
    }
  };

  const onDiscovered = (p: DiscoveredPeer): void => {
    if (stopped || p.peerId === net.peerId) return;
    const now = clock();
    try {
      const res = peers.upsert({ peerId: p.peerId, addresses: normalizeAddresses(p.peerId, p.addresses).slice(0, MAX_PEER_ADDRESSES), source: sourceOf(p), seenAt: now });
      if (res.outcome === 'refused') {
        log.debug('discovered peer refused by the table', { peer: p.peerId, source: p.source, reason: res.reason });
        return;
      }
      // identify runs over a live connection: when we dialled it, that is a successful dial.
      const outbound = p.source === 'identify' && net.connections().some((c) => c.peerId === p.peerId && c.direction === 'outbound');
      if (outbound) peers.recordOutcome(p.peerId, true, now);
    } catch (err) {
      log.warn('peer table upsert failed', { peer: p.peerId, err: err instanceof Error ? err : String(err) });
    }
  };

  const unsubscribe = net.subscribe(ANNOUNCE_TOPIC, () => {}, { validate });
  const undiscover = net.onPeerDiscovered(onDiscovered);
  let maintaining: Promise<void> | undefined;
  const maintenanceTimer = setInterval(() => {
    maintaining ??= maintainNow().finally(() => (maintaining = undefined));
  }, maintenanceMs);
  maintenanceTimer.unref();
  announceLoop();

  return {
    async stop(): Promise<void> {
      if (!stopped) {
        stopped = true;
        if (announceTimer !== undefined) clearTimeout(announceTimer);
        clearInterval(maintenanceTimer);
        unsubscribe();
        undiscover();
      }
      await maintaining;
    },
    announceNow,
    maintainNow,
    stats: () => ({ ...stats }),
  };
}
