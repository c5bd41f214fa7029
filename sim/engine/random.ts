/**
 * The simulator's seeded randomness: sfc32 (Chris Doty-Humphrey's "small fast counter", PractRand-clean
 * to 2^42 bytes), seeded from SHA-256(seed ‖ label) (src/crypto/hash.ts).
 *
 * Why not src/lib/deps.ts deterministicRng for every draw: a run of 1,000 nodes × 1 simulated hour makes
 * millions of draws (latency, loss, timers, choices); hash-in-counter-mode costs ~2 µs and an allocation
 * per draw, sfc32 a few nanoseconds. The hash still fixes the seeds, and `asRng()` hands real code the
 * `Rng` interface it expects (byte draws from this generator, `system: false`).
 *
 * `fork(label)` derives an independent stream (network, traffic, faults, each node), so adding a draw in
 * one part of the model does not shift the draws of every other part.
 */
import { sha256 } from '../../src/crypto/hash.ts';
import type { Rng } from '../../src/lib/deps.ts';

export interface SimRandom {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** Exponentially distributed with the given mean (mean 0 gives 0). */
  exp(mean: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** k distinct elements (all of them when k ≥ length), in random order. */
  sample<T>(items: readonly T[], k: number): T[];
  /** An independent stream derived from this one's seed and `label`. */
  fork(label: string): SimRandom;
  /** The `Rng` interface of src/lib/deps.ts over this stream, for real code that takes one. */
  asRng(): Rng;
}

const encoder = new TextEncoder();

export function seededRandom(seed: string): SimRandom {
  const digest = sha256(encoder.encode(seed));
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
  let a = view.getUint32(0);
  let b = view.getUint32(4);
  let c = view.getUint32(8);
  let d = view.getUint32(12) | 1;
  const u32 = (): number => {
    // sfc32: a, b, c state words and a counter d.
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) u32();
  const next = (): number => u32() / 4294967296;
  const self: SimRandom = {
    next,
    int: (n) => Math.floor(next() * n),
    chance: (p) => p > 0 && next() < p,
    exp: (mean) => (mean <= 0 ? 0 : -mean * Math.log(1 - next())),
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError('pick: expected a non-empty array');
      return items[Math.floor(next() * items.length)] as T;
    },
    sample<T>(items: readonly T[], k: number): T[] {
      const copy = [...items];
      const n = Math.min(k, copy.length);
      for (let i = 0; i < n; i++) {
        const j = i + Math.floor(next() * (copy.length - i));
        const tmp = copy[i] as T;
        copy[i] = copy[j] as T;
        copy[j] = tmp;
      }
      return copy.slice(0, n);
    },
    fork: (label) => seededRandom(`${seed}/${label}`),
    asRng: () => ({
      system: false,
      bytes(length: number): Uint8Array {
        const out = new Uint8Array(length);
        for (let i = 0; i < length; i += 4) {
          const w = u32();
          for (let k = 0; k < 4 && i + k < length; k++) out[i + k] = (w >>> (8 * k)) & 0xff;
        }
        return out;
      },
    }),
  };
  return self;
}
