/**
 * Token buckets keyed by peer: `burst` tokens at most, refilled at `perSecond`; each request takes one.
 *
 * Pure: the clock is injected, nothing is scheduled. Memory is bounded: at most `maxKeys` buckets are
 * kept. When the map is full, buckets that have refilled completely are dropped first (a full bucket and
 * a missing one behave the same), then the least recently inserted. Dropping a drained bucket hands that
 * peer a fresh burst, which is why `maxKeys` should sit well above the connection limit.
 *
 * Nothing here is specific to libp2p; it lives in net/ because net/ is its only user so far.
 */
import { assertInteger } from '../lib/assert.ts';
import type { Clock } from '../lib/deps.ts';
import { CompeerError, ErrorCodes } from '../lib/errors.ts';

export interface RateLimit {
  /** Sustained rate, tokens per second (> 0). */
  readonly perSecond: number;
  /** Bucket size: how many requests may arrive at once after a quiet period (>= 1). */
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  at: number; // ms timestamp of the last refill
}

export interface TokenBuckets {
  /** Takes `cost` tokens from `key`'s bucket; false (and nothing taken) when there are not enough. */
  take(key: string, cost?: number): boolean;
  /** Tokens currently available to `key` (for tests and metrics). */
  available(key: string): number;
  readonly size: number;
}

export function validateRateLimit(limit: RateLimit, name: string): void {
  if (!(limit.perSecond > 0) || !Number.isFinite(limit.perSecond)) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `${name}.perSecond: expected a positive finite number`);
  }
  assertInteger(limit.burst, `${name}.burst`, 1, Number.MAX_SAFE_INTEGER);
}

export function createTokenBuckets(limit: RateLimit, clock: Clock, maxKeys = 4096): TokenBuckets {
  validateRateLimit(limit, 'rateLimit');
  assertInteger(maxKeys, 'maxKeys', 1, Number.MAX_SAFE_INTEGER);
  const buckets = new Map<string, Bucket>();

  const refill = (b: Bucket, now: number): void => {
    // A clock that steps backwards refills nothing (and never drains).
    const elapsed = Math.max(0, now - b.at);
    b.tokens = Math.min(limit.burst, b.tokens + (elapsed * limit.perSecond) / 1000);
    b.at = now;
  };

  const evict = (now: number): void => {
    for (const [k, b] of buckets) {
      refill(b, now);
      if (b.tokens >= limit.burst) buckets.delete(k);
    }
    // Still full: drop the oldest insertions (Map iterates in insertion order).
    for (const k of buckets.keys()) {
      if (buckets.size < maxKeys) break;
      buckets.delete(k);
    }
  };

  const bucketFor = (key: string, now: number): Bucket => {
    let b = buckets.get(key);
    if (b === undefined) {
      if (buckets.size >= maxKeys) evict(now);
      b = { tokens: limit.burst, at: now };
      buckets.set(key, b);
    } else {
      refill(b, now);
    }
    return b;
  };

  return {
    take(key: string, cost = 1): boolean {
      const b = bucketFor(key, clock());
      if (b.tokens < cost) return false;
      b.tokens -= cost;
      return true;
    },
    available(key: string): number {
      const b = buckets.get(key);
      if (b === undefined) return limit.burst;
      refill(b, clock());
      return b.tokens;
    },
    get size() {
      return buckets.size;
    },
  };
}
