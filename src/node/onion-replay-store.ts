/**
 * The relay's onion replay cache across a restart, clean or not (docs/onion.md "Replay cache"). The
 * onion keys of the current and previous epoch survive a restart (onion-keys.ts), so a cache that did
 * not would let every packet recorded before it go through once more — the tracing the cache exists
 * to stop.
 *
 * What the store holds is a snapshot plus a journal, and the two together are the cache as of the
 * last flush:
 * - the snapshot (src/routing/replay-snapshot.ts) under `node.onion-replay/` (meta-chunks.ts: ~6 MiB
 *   for two full epochs, 7 values), written at a clean stop and at a compaction;
 * - the journal under `node.onion-replay-j/`: one row per flush (`flush()`, about once a second from
 *   the node's timer, only when something was recorded since the last one), holding what was recorded
 *   since — per live epoch the new fingerprints and the per-hop counter increments (a row has the
 *   snapshot's format; onion-replay.ts `recent()`). A crash loses at most the tags of the last
 *   interval.
 * - Stop (`save()`, once nothing can check the cache any more): the full snapshot and the journal
 *   cleared, in one transaction. Compaction: a flush that would take the journal past
 *   JOURNAL_LIMITS (1 MiB or 4,096 rows; a row over 1 MiB too) does the same instead, so a node that
 *   never stops cleanly does not grow it without bound.
 * - Start (`openReplayCache`): the snapshot, then every journal row on top (`add`), live epochs only
 *   (the current and the previous: older keys are deleted, and an epoch ahead of the clock would
 *   refuse every packet as of a retired epoch until it caught up). Nothing is deleted at start. The
 *   code before the journal deleted the snapshot there, because a crash later would have restored it
 *   without the tags recorded since — a stale cache, the same hole as none. With the journal those
 *   tags are in the store within a flush, so the snapshot must stay: it is half of the state, and a
 *   start that fails or crashes before its first flush finds the old state whole.
 * - A journal row is input from disk: one that does not decode, or that no cache could have produced
 *   on top of what is restored so far, is refused (DecodeError), logged, and the other rows are used.
 *   Rows are independent additions (tags to refuse), each checked whole, so a bad one loses the tags
 *   of one interval — starting empty instead would lose them all, the hole this module closes. A bad
 *   snapshot likewise: logged, and the journal used on an empty cache.
 * Errors are logged, never thrown: a node that cannot save or restore its cache still starts and stops.
 * A flush that fails leaves its tags unsaved: the next one carries them.
 * This module knows nothing of the cache's inside (src/routing/onion-replay.ts).
 */
import type { Rng } from '../lib/deps.ts';
import { errorOf, type Logger } from '../lib/log.ts';
import { createReplayCache, type ReplayCache } from '../routing/onion-replay.ts';
import { decodeReplaySnapshot, encodeReplaySnapshot } from '../routing/replay-snapshot.ts';
import { MAX_KV_VALUE_BYTES } from '../store/kv.ts';
import { readChunked, saveChunked } from './meta-chunks.ts';
import type { NodeStore } from './node-store.ts';

export const REPLAY_SNAPSHOT_PREFIX = 'node.onion-replay/';
export const REPLAY_JOURNAL_PREFIX = 'node.onion-replay-j/';
/** How often the node flushes (delivery.ts): what a crash can lose. */
export const REPLAY_JOURNAL_MS = 1_000;
/**
 * A flush past either bound compacts. 1 MiB: ~256k tags, 2.5 min of a flood of 8 peers × 200
 * packets/s (its rows are ~6.9 KB); 4,096 rows: at most that many values to unseal at start, 68 min
 * of one row a second (a trickle's rows of a few hundred bytes reach 1 MiB first, in about an hour).
 */
export const JOURNAL_LIMITS = { bytes: MAX_KV_VALUE_BYTES, rows: 4_096 } as const;
/** Row keys: the prefix and a zero-padded sequence number, so the store lists them in write order. */
const SEQ_DIGITS = 12;

export interface ReplayStoreDeps {
  readonly store: NodeStore;
  readonly rng: Rng;
  readonly log: Logger;
  /** Tags per epoch (onion-replay.ts default when absent). */
  readonly maxPerEpoch?: number;
  /** Compaction bounds (JOURNAL_LIMITS when absent; tests lower them). */
  readonly journalLimits?: { readonly bytes: number; readonly rows: number };
}

/** 'idle': nothing new; 'appended': one journal row; 'compacted': snapshot written, journal cleared; 'failed': logged, retried next time. */
export type FlushResult = 'idle' | 'appended' | 'compacted' | 'failed';

export interface StoredReplayCache {
  readonly cache: ReplayCache;
  /** Saves what was recorded since the last flush: a journal row, or a compaction. Never throws. */
  flush(): FlushResult;
  /** The full snapshot and the journal cleared, in one transaction. Call once nothing can check the cache any more. Never throws. */
  save(): void;
  /** The journal as this cache knows it: rows and bytes (before sealing). */
  journal(): { readonly rows: number; readonly bytes: number };
}

const rowKey = (seq: number): string => REPLAY_JOURNAL_PREFIX + String(seq).padStart(SEQ_DIGITS, '0');

/** The cache as the store holds it (snapshot and journal, the epochs live at `epoch`), or an empty one; the store is left as it is. */
export function openReplayCache(d: ReplayStoreDeps, epoch: number): StoredReplayCache {
  const { store, log } = d;
  const limits = d.journalLimits ?? JOURNAL_LIMITS;
  const opts = { rng: d.rng, ...(d.maxPerEpoch !== undefined && { maxPerEpoch: d.maxPerEpoch }) };
  const isLive = (e: { epoch: number }): boolean => e.epoch === epoch || e.epoch === epoch - 1;

  let cache: ReplayCache | undefined;
  let epochsDropped = 0;
  try {
    const bytes = readChunked(store, REPLAY_SNAPSHOT_PREFIX);
    if (bytes !== undefined) {
      const saved = decodeReplaySnapshot(bytes);
      const live = saved.epochs.filter(isLive);
      epochsDropped = saved.epochs.length - live.length;
      cache = createReplayCache({ ...opts, from: { epochs: live } });
    }
  } catch (e) {
    log.warn('onion replay snapshot not restored', { error: errorOf(e) });
  }
  cache ??= createReplayCache(opts);
  const fromSnapshot = cache.size();

  let seq = 0;
  let rows = 0;
  let journalBytes = 0;
  let refused = 0;
  try {
    // Sorted here too: the memory store lists keys in insertion order.
    for (const key of store.meta.keys(REPLAY_JOURNAL_PREFIX).sort()) {
      const n = Number(key.slice(REPLAY_JOURNAL_PREFIX.length));
      if (Number.isSafeInteger(n) && n >= seq) seq = n + 1;
      rows++;
      try {
        const value = store.meta.get(key);
        if (value === undefined) continue;
        journalBytes += value.length;
        const row = decodeReplaySnapshot(value);
        cache.add({ epochs: row.epochs.filter(isLive) });
      } catch (e) {
        refused++;
        log.warn('onion replay journal row refused', { row: key, error: errorOf(e) });
      }
    }
  } catch (e) {
    log.warn('onion replay journal not read', { error: errorOf(e) });
  }
  if (fromSnapshot > 0 || cache.size() > 0 || rows > 0) {
    log.info('onion replay cache restored', { tags: cache.size(), fromSnapshot, journalRows: rows, refused, epochsDropped });
  }

  const c = cache;
  let failing = false;
  const failed = (what: string, e: unknown): FlushResult => {
    // Once per run of failures: a store that is gone would otherwise log every second.
    if (!failing) log.warn(what, { error: errorOf(e) });
    failing = true;
    return 'failed';
  };

  /** Snapshot and journal cleared in one transaction; everything held is then saved. */
  const writeSnapshot = (): number => {
    const bytes = c.size() > 0 ? encodeReplaySnapshot(c.snapshot()) : undefined;
    store.transaction(() => {
      if (bytes !== undefined) saveChunked(store, REPLAY_SNAPSHOT_PREFIX, bytes, d.rng);
      else for (const k of store.meta.keys(REPLAY_SNAPSHOT_PREFIX)) store.meta.delete(k);
      for (const k of store.meta.keys(REPLAY_JOURNAL_PREFIX)) store.meta.delete(k);
    });
    c.markSaved();
    rows = 0;
    journalBytes = 0;
    return bytes?.length ?? 0;
  };

  return {
    cache: c,
    flush() {
      if (c.unsaved() === 0) return 'idle';
      try {
        const row = encodeReplaySnapshot(c.recent());
        if (rows + 1 > limits.rows || journalBytes + row.length > limits.bytes) {
          const bytes = writeSnapshot();
          log.debug('onion replay journal compacted', { tags: c.size(), bytes });
          failing = false;
          return 'compacted';
        }
        store.transaction(() => store.meta.set(rowKey(seq), row));
        seq++;
        rows++;
        journalBytes += row.length;
        c.markSaved();
        failing = false;
        return 'appended';
      } catch (e) {
        return failed('onion replay journal not written', e);
      }
    },
    save() {
      try {
        const bytes = writeSnapshot();
        log.info('onion replay cache saved', { tags: c.size(), bytes });
      } catch (e) {
        log.warn('onion replay cache not saved', { error: errorOf(e) });
      }
    },
    journal: () => ({ rows, bytes: journalBytes }),
  };
}
