/**
 * The in-memory peer table (src/store/peers.ts has the model, the policy seam and the one upsert
 * algorithm): indexed by prefix, source and rank, since the simulator's 1,000 nodes upsert into
 * ~1,000-peer tables all the time (issue 6). test/unit/store/peers-compliance.ts runs it against
 * peers-sqlite.ts.
 */
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import { noUndo, type UndoLog } from './memory-tx.ts';
import { type PeerPolicy, type PeerRecord, type PeerRepository, type PeerTableAccess, afterOutcome, applyUpsert, byWorst, copyPeer, isUnverified } from './peers.ts';

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
