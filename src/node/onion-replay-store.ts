/**
 * The relay's onion replay cache across a clean restart (docs/onion.md "Replay cache"). The onion keys
 * of the current and previous epoch survive a restart (onion-keys.ts), so a cache that did not would
 * let every packet recorded before it go through once more — the tracing the cache exists to stop.
 *
 * Stop: after the onion handler can take no more packets, the snapshot (src/routing/replay-snapshot.ts)
 * is written under `node.onion-replay/` in one transaction (meta-chunks.ts: ~6 MiB for two full
 * epochs, 7 values). Start: it is read and its keys deleted in one transaction, before the first
 * packet, and its live epochs (the current and the previous) restored. Deleted at once, because a
 * crash later must not restore it: it lacks every tag recorded since, and a stale cache is the same
 * hole as none — a crash restarts empty (the documented limit). Errors are logged, never thrown: a
 * node that cannot save or restore its cache still stops and starts (empty).
 * This module knows nothing of the cache's inside (src/routing/onion-replay.ts).
 */
import type { Rng } from '../lib/deps.ts';
import type { Logger } from '../lib/log.ts';
import { createReplayCache, type ReplayCache } from '../routing/onion-replay.ts';
import { decodeReplaySnapshot, encodeReplaySnapshot } from '../routing/replay-snapshot.ts';
import { saveChunked, takeChunked } from './meta-chunks.ts';
import type { NodeStore } from './node-store.ts';

export const REPLAY_SNAPSHOT_PREFIX = 'node.onion-replay/';

export interface ReplayStoreDeps {
  readonly store: NodeStore;
  readonly rng: Rng;
  readonly log: Logger;
  /** Tags per epoch (onion-replay.ts default when absent). */
  readonly maxPerEpoch?: number;
}

const errorOf = (e: unknown): Error | string => (e instanceof Error ? e : String(e));

/** The cache saved at the last clean stop, minus the epochs no longer live at `epoch`; else an empty one. */
export function openReplayCache(d: ReplayStoreDeps, epoch: number): ReplayCache {
  const opts = { rng: d.rng, ...(d.maxPerEpoch !== undefined && { maxPerEpoch: d.maxPerEpoch }) };
  try {
    const bytes = takeChunked(d.store, REPLAY_SNAPSHOT_PREFIX);
    if (bytes !== undefined) {
      const saved = decodeReplaySnapshot(bytes);
      // Older epochs' keys are deleted (their packets no longer peel); a later one means the clock went
      // back, and a cache ahead of it would refuse every packet as of a retired epoch until it caught up.
      const live = saved.epochs.filter((e) => e.epoch === epoch || e.epoch === epoch - 1);
      const cache = createReplayCache({ ...opts, from: { epochs: live } });
      d.log.info('onion replay cache restored', { tags: cache.size(), epochsDropped: saved.epochs.length - live.length });
      return cache;
    }
  } catch (e) {
    d.log.warn('onion replay cache not restored, starting empty', { error: errorOf(e) });
  }
  return createReplayCache(opts);
}

/** Writes `cache`'s snapshot for the next start (nothing when it holds no tag). Call once nothing can check it any more. */
export function saveReplayCache(d: ReplayStoreDeps, cache: ReplayCache): void {
  try {
    if (cache.size() === 0) return;
    const bytes = encodeReplaySnapshot(cache.snapshot());
    const chunks = saveChunked(d.store, REPLAY_SNAPSHOT_PREFIX, bytes, d.rng);
    d.log.info('onion replay cache saved', { tags: cache.size(), bytes: bytes.length, chunks });
  } catch (e) {
    d.log.warn('onion replay cache not saved', { error: errorOf(e) });
  }
}
