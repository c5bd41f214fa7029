/**
 * The peer table: peers we discovered (mDNS, DHT, gossiped announcements, bootstrap, direct contact),
 * with their addresses, last sighting, announced capabilities and onion routing key, a reachability
 * score fed by real outcomes, who told us about them (source) and the IP prefix they sit in.
 *
 * The decisions — prefix of a set of addresses, score after an outcome, caps per prefix / source /
 * table and who gets evicted, what is stale — are a `PeerPolicy` passed in (the pure one is in
 * src/routing/peer-policy.ts, reusable by the simulator; the store may not import routing, so the
 * node passes it). This module applies a policy to a table and persists the result: `applyUpsert`
 * below is the one upsert algorithm both implementations run, over a small `PeerTableAccess`.
 *
 * Sybil resistance: a newcomer is admitted to a full prefix/source/table only by replacing a
 * strictly worse-scored entry of that group, else refused (a result, not a throw), so a flood of
 * fresh announcements cannot push out peers that have proven themselves. One more group is defined
 * here because both implementations index it: the *unverified* entries — learned from gossip and never
 * reached (`reachedAt` null: no successful dial, probe or relay outcome yet). Anyone can mint identities
 * and announce them, so the policy caps that group as a share of the table (docs/networking.md "Unverified entries").
 * Implementations: peers-memory.ts (indexed by prefix, source and rank, since the simulator's 1,000
 * nodes upsert into ~1,000-peer tables all the time — issue 6) and peers-sqlite.ts;
 * test/unit/store/peers-compliance.ts runs against both.
 */
import { CompeerError, ErrorCodes } from '../lib/errors.ts';

export type PeerSource = 'mdns' | 'dht' | 'bootstrap' | 'direct' | `gossip:${string}`;

export const MAX_PEER_ADDRESSES = 16;
export const MAX_PEER_ADDRESS_LENGTH = 512;
export const MAX_PEER_CAPABILITIES = 16;
export const MAX_CAPABILITY_LENGTH = 64;
export const MAX_ROUTING_KEY_BYTES = 64;
export const MAX_PEER_ID_LENGTH = 128;

export interface PeerRecord {
  readonly peerId: string;
  readonly addresses: readonly string[];
  readonly capabilities: readonly string[];
  /** The peer's onion routing public key, as announced; null when unknown. */
  readonly routingKey: Uint8Array | null;
  /** Reachability score in [0, 1] (policy-defined). */
  readonly score: number;
  /** Who told us about the peer first. */
  readonly source: PeerSource;
  /** The IP prefix of its addresses (policy-defined: 'ip4:a.b', 'ip6:…', 'loopback', …). */
  readonly prefix: string;
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** The last successful outcome with the peer (dial, probe, relay); null while it was never reached. */
  readonly reachedAt: number | null;
}

/**
 * Learned from gossip (hearsay: anyone can mint and announce identities) and never reached. The
 * policy caps these as a share of the table; a successful outcome moves an entry out for good.
 */
export function isUnverified(p: Pick<PeerRecord, 'source' | 'reachedAt'>): boolean {
  return p.reachedAt === null && p.source.startsWith('gossip:');
}

/** A discovery or announcement of a peer. */
export interface PeerSighting {
  readonly peerId: string;
  readonly addresses: readonly string[];
  readonly capabilities?: readonly string[];
  readonly routingKey?: Uint8Array | null;
  readonly source: PeerSource;
  readonly seenAt: number;
}

export type RefusalReason = 'prefix-full' | 'source-full' | 'unverified-full' | 'table-full' | 'invalid';
export type UpsertResult =
  | { readonly outcome: 'added'; readonly evicted: readonly string[] }
  | { readonly outcome: 'updated'; readonly evicted: readonly string[] }
  | { readonly outcome: 'refused'; readonly reason: RefusalReason };

export interface PeerCaps {
  readonly perPrefix: number;
  readonly perSource: number;
  readonly total: number;
  /** Unverified entries (isUnverified): at most this share of the table ... */
  readonly unverifiedShare: number;
  /** ... but always this many. */
  readonly minUnverified: number;
}

/** What the policy sees when deciding whether a peer may enter (or move within) the table. */
export interface AdmissionView {
  readonly candidate: { readonly peerId: string; readonly prefix: string; readonly source: PeerSource; readonly score: number; readonly unverified: boolean };
  readonly caps: PeerCaps;
  /** Entries of the same prefix, without the candidate (empty when that cap is infinite). */
  readonly samePrefix: readonly PeerRecord[];
  /** Entries of the same source, without the candidate (empty when that cap is infinite). */
  readonly sameSource: readonly PeerRecord[];
  /** Entries in the table, without the candidate. */
  readonly total: number;
  /** The few lowest-scored entries of the table, without the candidate. */
  readonly worst: readonly PeerRecord[];
  /** How many unverified entries (isUnverified) the table holds, without the candidate. */
  readonly unverified: number;
  /** The few lowest-scored unverified entries, without the candidate (empty when it is not unverified). */
  readonly worstUnverified: readonly PeerRecord[];
}

export type Admission = { readonly admit: true; readonly evict: readonly string[] } | { readonly admit: false; readonly reason: RefusalReason };

export interface PeerPolicy {
  readonly initialScore: number;
  prefixOf(addresses: readonly string[]): string;
  caps(prefix: string, source: PeerSource): PeerCaps;
  admit(view: AdmissionView): Admission;
  scoreAfter(score: number, ok: boolean): number;
  /** Whether prune() removes the peer (not seen for too long, or score below a floor). */
  isStale(peer: PeerRecord, now: number): boolean;
}

export interface PeerRepository {
  /** Adds or refreshes a peer under the policy's caps; never throws for bad or excess input. */
  upsert(sighting: PeerSighting): UpsertResult;
  /** Updates the score from an outcome (ok also refreshes lastSeen); returns the new score, or undefined for an unknown peer. */
  recordOutcome(peerId: string, ok: boolean, now: number): number | undefined;
  /** Removes stale peers; returns their ids. */
  prune(now: number): string[];
  get(peerId: string): PeerRecord | undefined;
  /** Best first: score, then lastSeen (newest), then peerId. */
  list(limit?: number): PeerRecord[];
  count(): number;
  remove(peerId: string): boolean;
}

/** How many lowest-scored entries an AdmissionView carries (enough for one eviction per cap). */
export const WORST_SAMPLE = 4;

/** The storage operations applyUpsert needs; each implementation provides them. */
export interface PeerTableAccess {
  get(peerId: string): PeerRecord | undefined;
  /** The entries of a prefix, in no particular order. */
  byPrefix(prefix: string): PeerRecord[];
  /** The entries from a source, in no particular order. */
  bySource(source: PeerSource): PeerRecord[];
  total(): number;
  /** The n worst entries other than `exceptPeerId`, in byWorst order. */
  worst(n: number, exceptPeerId: string): PeerRecord[];
  /** How many entries are unverified (isUnverified). */
  unverified(): number;
  /** The n worst unverified entries other than `exceptPeerId`, in byWorst order. */
  worstUnverified(n: number, exceptPeerId: string): PeerRecord[];
  put(peer: PeerRecord): void;
  delete(peerId: string): void;
}

function validSighting(s: PeerSighting): boolean {
  const okString = (v: unknown, max: number): boolean => typeof v === 'string' && v.length > 0 && v.length <= max;
  if (!okString(s.peerId, MAX_PEER_ID_LENGTH) || !Number.isSafeInteger(s.seenAt)) return false;
  if (!okString(s.source, MAX_PEER_ID_LENGTH + 7)) return false;
  if (!Array.isArray(s.addresses) || s.addresses.length > MAX_PEER_ADDRESSES) return false;
  if (!s.addresses.every((a) => okString(a, MAX_PEER_ADDRESS_LENGTH))) return false;
  const caps = s.capabilities ?? [];
  if (!Array.isArray(caps) || caps.length > MAX_PEER_CAPABILITIES || !caps.every((c) => okString(c, MAX_CAPABILITY_LENGTH))) return false;
  const key = s.routingKey ?? null;
  return key === null || (key instanceof Uint8Array && key.length <= MAX_ROUTING_KEY_BYTES);
}

/** The one upsert algorithm: validate, derive the prefix, ask the policy, evict and write. */
export function applyUpsert(t: PeerTableAccess, policy: PeerPolicy, s: PeerSighting): UpsertResult {
  if (!validSighting(s)) return { outcome: 'refused', reason: 'invalid' };
  const prefix = policy.prefixOf(s.addresses);
  const old = t.get(s.peerId);
  const source = old?.source ?? s.source;
  const score = old?.score ?? policy.initialScore;
  const reachedAt = old?.reachedAt ?? null;
  let evict: readonly string[] = [];
  if (old === undefined || old.prefix !== prefix) {
    const caps = policy.caps(prefix, source);
    const others = (rows: PeerRecord[]): PeerRecord[] => rows.filter((r) => r.peerId !== s.peerId);
    const unverified = isUnverified({ source, reachedAt });
    const decision = policy.admit({
      candidate: { peerId: s.peerId, prefix, source, score, unverified },
      caps,
      samePrefix: Number.isFinite(caps.perPrefix) ? others(t.byPrefix(prefix)) : [],
      sameSource: Number.isFinite(caps.perSource) ? others(t.bySource(source)) : [],
      total: t.total() - (old ? 1 : 0),
      worst: t.worst(WORST_SAMPLE, s.peerId),
      unverified: t.unverified() - (old !== undefined && isUnverified(old) ? 1 : 0),
      worstUnverified: unverified ? t.worstUnverified(WORST_SAMPLE, s.peerId) : [],
    });
    if (!decision.admit) return { outcome: 'refused', reason: decision.reason };
    evict = decision.evict;
  }
  for (const id of evict) t.delete(id);
  t.put({
    peerId: s.peerId,
    addresses: [...s.addresses],
    capabilities: [...(s.capabilities ?? old?.capabilities ?? [])],
    routingKey: s.routingKey !== undefined ? (s.routingKey?.slice() ?? null) : (old?.routingKey ?? null),
    score,
    source,
    prefix,
    firstSeen: old?.firstSeen ?? s.seenAt,
    lastSeen: Math.max(old?.lastSeen ?? 0, s.seenAt),
    reachedAt,
  });
  return { outcome: old ? 'updated' : 'added', evicted: [...evict] };
}

export function checkScore(score: number): number {
  if (!Number.isFinite(score)) throw new CompeerError(ErrorCodes.INTERNAL, 'peer policy produced a non-finite score');
  return score;
}

/** A peer after an outcome: the policy's new score; a success also refreshes lastSeen and reachedAt. */
export function afterOutcome(policy: PeerPolicy, p: PeerRecord, ok: boolean, now: number): PeerRecord {
  const score = checkScore(policy.scoreAfter(p.score, ok));
  if (!ok) return { ...p, score };
  return { ...p, score, lastSeen: Math.max(p.lastSeen, now), reachedAt: Math.max(p.reachedAt ?? now, now) };
}

/** Best first: score desc, lastSeen desc, peerId asc. */
export function byRank(a: PeerRecord, b: PeerRecord): number {
  return b.score - a.score || b.lastSeen - a.lastSeen || (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0);
}

/** Worst first: score asc, lastSeen asc, peerId asc (the order of PeerTableAccess.worst). */
export function byWorst(a: PeerRecord, b: PeerRecord): number {
  return a.score - b.score || a.lastSeen - b.lastSeen || (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0);
}

export function copyPeer(p: PeerRecord): PeerRecord {
  return { ...p, addresses: [...p.addresses], capabilities: [...p.capabilities], routingKey: p.routingKey?.slice() ?? null };
}

/**
 * Stands in when a store is opened without a policy (commands that never touch the peer table):
 * reads work, writes fail loudly rather than run without Sybil caps.
 */
export const NO_PEER_POLICY: PeerPolicy = {
  initialScore: 0,
  prefixOf: () => missingPolicy(),
  caps: () => missingPolicy(),
  admit: () => missingPolicy(),
  scoreAfter: () => missingPolicy(),
  isStale: () => missingPolicy(),
};

function missingPolicy(): never {
  throw new CompeerError(ErrorCodes.INTERNAL, 'peer table: the store was opened without a peerPolicy (src/routing/peer-policy.ts)');
}
