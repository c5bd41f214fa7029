/**
 * The virtual clock: simulated milliseconds since the start of a run, moved only by the scheduler
 * (scheduler.ts) as it pops events. Real code takes it as its `Clock` (src/lib/deps.ts), so every
 * timestamp a node writes (peer table sightings, outbox due times) is simulated time.
 */
import type { Clock } from '../../src/lib/deps.ts';

export interface VirtualClock {
  /** Simulated ms since the start of the run. */
  now(): number;
  /** The same reading as a `Clock` for real code. */
  readonly clock: Clock;
  /** Moves the clock forward; only the scheduler calls this. Never moves backwards. */
  advanceTo(t: number): void;
}

export function createVirtualClock(start = 0): VirtualClock {
  let t = start;
  const now = (): number => t;
  return {
    now,
    clock: now,
    advanceTo(next: number): void {
      if (!(next >= t)) throw new RangeError(`virtual clock: cannot move from ${t} back to ${next}`);
      t = next;
    },
  };
}
