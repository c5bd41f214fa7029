/**
 * Full mode's clock: scenario milliseconds are real milliseconds from the start of the run. `at` runs a
 * step at a scenario time (late steps run at once), `after` relative to now; a step may be async and its
 * failure is counted and logged, never thrown into the timer. `stop` cancels what has not run yet and
 * `settle` waits for the steps still running — at most `boundMs`: a step that never ends (a send whose
 * request never returns) must not keep the run from reporting; it resolves to how many are still running.
 */
import type { Logger } from '../../src/lib/log.ts';

export interface Timeline {
  /** Scenario ms since the start. */
  now(): number;
  at(ms: number, step: () => unknown): void;
  after(ms: number, step: () => unknown): void;
  /** Resolves at scenario time `ms`. */
  until(ms: number): Promise<void>;
  readonly failures: number;
  stop(): void;
  settle(boundMs?: number): Promise<number>;
}

export function createTimeline(log: Logger): Timeline {
  const t0 = performance.now();
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<unknown>>();
  let failures = 0;
  let stopped = false;
  const now = (): number => performance.now() - t0;
  const run = (step: () => unknown): void => {
    if (stopped) return;
    try {
      const r = step();
      if (r instanceof Promise) {
        const p = r.catch((e: unknown) => {
          failures++;
          log.warn('sim step failed', { error: e instanceof Error ? e : String(e) });
        });
        running.add(p);
        void p.finally(() => running.delete(p));
      }
    } catch (e) {
      failures++;
      log.warn('sim step failed', { error: e instanceof Error ? e : String(e) });
    }
  };
  const after = (ms: number, step: () => unknown): void => {
    if (stopped) return;
    const t = setTimeout(() => {
      timers.delete(t);
      run(step);
    }, Math.max(0, ms));
    timers.add(t);
  };
  return {
    now,
    after,
    at: (ms, step) => after(ms - now(), step),
    until: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - now()))),
    get failures() {
      return failures;
    },
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
    async settle(boundMs = Infinity) {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => {
        if (Number.isFinite(boundMs)) timer = setTimeout(resolve, boundMs);
      });
      const all = (async (): Promise<void> => {
        while (running.size > 0) await Promise.all([...running]);
      })();
      await Promise.race([all, bound]).finally(() => clearTimeout(timer));
      return running.size;
    },
  };
}
