/**
 * The benchmark harness's vocabulary: a Suite is a list of Cases; each Case measures our code and a
 * named baseline doing the same work, in the same process and run, so the ratio means something on any
 * machine. The runner (bench/run.ts) repeats each side, warmup first, alternating sides, and reports the
 * median. Benchmarks measure; tests never assert timings.
 */
import { performance } from 'node:perf_hooks';

export type Better = 'higher' | 'lower';

/** One measured run of one side, in the case's unit; it should take about `budgetMs`. */
export type Sample = (budgetMs: number) => number | Promise<number>;

export interface Prepared {
  ours: Sample;
  baseline: Sample;
  close?(): void | Promise<void>;
}

export interface Case {
  name: string;
  /** e.g. "ops/s", "MB/s", "µs". */
  unit: string;
  better: Better;
  baselineName: string;
  /** Builds fixtures (databases, keys) outside the measured time. */
  prepare(): Prepared | Promise<Prepared>;
}

export interface Suite {
  description: string;
  cases: Case[];
}

export function defineSuite(suite: Suite): Suite {
  return suite;
}

/**
 * Operations per second of `op` over the time budget. Sync ops are run in a sync loop (no await
 * overhead in the measurement); `batch` calls run between clock reads, for ops well under 1 µs.
 */
export function opsPerSecond(op: () => unknown, batch = 1): Sample {
  return async (budgetMs) => {
    let n = 0;
    const start = performance.now();
    const end = start + budgetMs;
    let now: number;
    const first = op();
    if (first instanceof Promise) {
      await first;
      n++;
      while ((now = performance.now()) < end) {
        for (let i = 0; i < batch; i++) await op();
        n += batch;
      }
    } else {
      n++;
      while ((now = performance.now()) < end) {
        for (let i = 0; i < batch; i++) op();
        n += batch;
      }
    }
    return (n * 1000) / (now - start);
  };
}

/** Megabytes (10^6 bytes) per second of an op that processes `bytesPerOp` bytes. */
export function megabytesPerSecond(op: () => unknown, bytesPerOp: number): Sample {
  const ops = opsPerSecond(op);
  return async (budgetMs) => ((await ops(budgetMs)) * bytesPerOp) / 1e6;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
