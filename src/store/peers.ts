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
 * Implementations: memory (below; indexed by prefix, source and rank, since the simulator's 1,000
 * nodes upsert into ~1,000-peer tables all the time — issue 6) and peers-sqlite.ts;
 * test/unit/store/peers-compliance.ts runs against both.
 */
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import { noUndo, type UndoLog } from './memory-tx.ts';

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

/** The in-memory table: PeerTableAccess plus what the repository's reads need, all from the indexes. */
export interface MemoryPeerTable extends PeerTableAccess {
  /** Every entry, in the order first written (a replaced row keeps its place): prune reports in it. */
  values(): IterableIterator<PeerRecord>;
  /** The best `limit` entries in byRank order. */
  ranked(limit: number): PeerRecord[];
}

/**
 * The memory table with indexes, so an admission reads only what it needs instead of scanning and
 * sorting the table: rows by id; their ids grouped by prefix and by source; every row in one
 * array kept in byWorst order (binary search, then a splice or a one-pass shift on each write: cheap
 * at 2,000 rows), from which `worst(n)` is the first n and `ranked` walks back from the end; and the
 * unverified rows in a second byWorst array (the unverified cap's count and victims). Rows are immutable and
 * replaced whole; each write or delete updates all five together and records one undo that restores
 * them together (undos run newest first, so an undo always sees the state its write left).
 * Cost: ~80 KiB more heap per 950-peer table than the bare Map (measured, issue 6).
 */
/** A group of an index: the peer id of its one member, or the ids of two or more. */
type Group = string | string[];

function outOfStep(): CompeerError {
  return new CompeerError(ErrorCodes.INTERNAL, 'peer table: an index is out of step with the rows');
}

function missingRow(): never {
  throw outOfStep();
}

function firstExcept(sorted: readonly PeerRecord[], n: number, except: string): PeerRecord[] {
  const out: PeerRecord[] = [];
  for (let i = 0; i < sorted.length && out.length < n; i++) {
    const p = sorted[i] as PeerRecord;
    if (p.peerId !== except) out.push(p);
  }
  return out;
}

export function memoryPeerTable(log: UndoLog = noUndo): MemoryPeerTable {
  const rows = new Map<string, PeerRecord>();
  const prefixes = new Map<string, Group>();
  const sources = new Map<string, Group>();
  const ordered: PeerRecord[] = [];
  const unverified: PeerRecord[] = [];

  /** The first index of `rows` (byWorst order) whose row is not byWorst-before `p`. */
  const lowerBoundIn = (sorted: readonly PeerRecord[], p: PeerRecord): number => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (byWorst(sorted[mid] as PeerRecord, p) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const lowerBound = (p: PeerRecord): number => lowerBoundIn(ordered, p);
  /** Keeps `unverified` in step: out goes prev if it was unverified, in goes next if it is. */
  const reclassify = (prev: PeerRecord | undefined, next: PeerRecord | undefined): void => {
    if (prev !== undefined && isUnverified(prev)) {
      const at = lowerBoundIn(unverified, prev);
      if (unverified[at] !== prev) throw outOfStep();
      unverified.splice(at, 1);
    }
    if (next !== undefined && isUnverified(next)) unverified.splice(lowerBoundIn(unverified, next), 0, next);
  };
  /**
   * Moves a peer's id between groups of an index when its key changes (an update that keeps the key
   * touches nothing: groups hold ids, rows hold the records); groups are unordered, so removal swaps
   * in the last id. In a large network most prefixes and gossip sources hold one peer, so a group of
   * one is the id itself and larger ones are arrays (a one-entry Map costs ~10x); the scan on removal
   * is bounded by the policy's caps, except in the uncapped groups (loopback, direct, bootstrap).
   */
  const regroup = (index: Map<string, Group>, key: (p: PeerRecord) => string, prev?: PeerRecord, next?: PeerRecord): void => {
    if (prev !== undefined && next !== undefined && key(prev) === key(next)) return;
    if (prev !== undefined) {
      const k = key(prev);
      const g = index.get(k);
      if (g === prev.peerId) index.delete(k);
      else {
        const at = Array.isArray(g) ? g.indexOf(prev.peerId) : -1;
        if (!Array.isArray(g) || at < 0) throw outOfStep();
        const last = g.pop() as string;
        if (at < g.length) g[at] = last;
        if (g.length === 1) index.set(k, g[0] as string);
      }
    }
    if (next !== undefined) {
      const k = key(next);
      const g = index.get(k);
      if (g === undefined) index.set(k, next.peerId);
      else if (Array.isArray(g)) g.push(next.peerId);
      else index.set(k, [g, next.peerId]);
    }
  };
  const members = (g: Group | undefined): PeerRecord[] => {
    if (g === undefined) return [];
    const row = (id: string): PeerRecord => rows.get(id) ?? missingRow();
    return Array.isArray(g) ? g.map(row) : [row(g)];
  };
  /** Replaces one peer's row `prev` by `next` (either absent) in the rows and every index. */
  const replace = (prev: PeerRecord | undefined, next: PeerRecord | undefined): void => {
    regroup(prefixes, (p) => p.prefix, prev, next);
    regroup(sources, (p) => p.source, prev, next);
    reclassify(prev, next);
    const from = prev === undefined ? -1 : lowerBound(prev);
    if (prev !== undefined && ordered[from] !== prev) throw outOfStep();
    if (next === undefined) {
      if (prev !== undefined) ordered.splice(from, 1);
    } else if (prev === undefined) ordered.splice(lowerBound(next), 0, next);
    else {
      // A move (an update's new lastSeen or score): shift the rows between, one pass, no splices.
      const to = lowerBound(next); // counts prev when prev sorts before next
      const target = to > from ? to - 1 : to;
      for (let i = from; i < target; i++) ordered[i] = ordered[i + 1] as PeerRecord;
      for (let i = from; i > target; i--) ordered[i] = ordered[i - 1] as PeerRecord;
      ordered[target] = next;
    }
    if (next !== undefined) rows.set(next.peerId, next);
    else if (prev !== undefined) rows.delete(prev.peerId);
  };
  const sameRank = (a: PeerRecord, b: PeerRecord): boolean => a.score === b.score && a.lastSeen === b.lastSeen;

  return {
    get: (id) => rows.get(id),
    byPrefix: (prefix) => members(prefixes.get(prefix)),
    bySource: (source) => members(sources.get(source)),
    total: () => rows.size,
    worst: (n, except) => firstExcept(ordered, n, except),
    unverified: () => unverified.length,
    worstUnverified: (n, except) => firstExcept(unverified, n, except),
    put(p) {
      const prev = rows.get(p.peerId);
      replace(prev, p);
      log.record(() => replace(p, prev));
    },
    delete(id) {
      const prev = rows.get(id);
      if (prev === undefined) return;
      replace(prev, undefined);
      log.record(() => replace(undefined, prev));
    },
    values: () => rows.values(),
    ranked(limit) {
      // byRank is byWorst reversed except on (score, lastSeen) ties, where both put peerId ascending:
      // walk the runs of equal (score, lastSeen) from the end, each run front to back.
      const out: PeerRecord[] = [];
      let end = ordered.length;
      while (end > 0 && out.length < limit) {
        const last = ordered[end - 1] as PeerRecord;
        let start = end - 1;
        while (start > 0 && sameRank(ordered[start - 1] as PeerRecord, last)) start--;
        for (let i = start; i < end && out.length < limit; i++) out.push(ordered[i] as PeerRecord);
        end = start;
      }
      return out;
    },
  };
}

export function memoryPeerRepository(policy: PeerPolicy, log: UndoLog = noUndo): PeerRepository {
  const table = memoryPeerTable(log);
  return {
    upsert: (s) => applyUpsert(table, policy, s),
    recordOutcome(peerId, ok, now) {
      const p = table.get(peerId);
      if (!p) return undefined;
      const next = afterOutcome(policy, p, ok, now);
      table.put(next);
      return next.score;
    },
    prune(now) {
      const stale = [...table.values()].filter((p) => policy.isStale(p, now)).map((p) => p.peerId);
      for (const id of stale) table.delete(id);
      return stale;
    },
    get: (id) => {
      const p = table.get(id);
      return p ? copyPeer(p) : undefined;
    },
    list: (limit = Number.MAX_SAFE_INTEGER) => table.ranked(limit).map(copyPeer),
    count: () => table.total(),
    remove(id) {
      if (table.get(id) === undefined) return false;
      table.delete(id);
      return true;
    },
  };
}
