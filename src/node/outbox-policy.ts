/**
 * When to try an undelivered message again: exponential backoff from 1 s, capped at 5 min, with
 * ±20 % jitter so many queued messages do not retry in lockstep. Pure; the random draw is injected.
 * Kept apart from delivery so it can move to src/routing/ with the onion routes and mailboxes (issue 5).
 */
export const RETRY_BASE_MS = 1_000;
export const RETRY_MAX_MS = 5 * 60_000;
export const DEFAULT_TTL_MS = 7 * 24 * 3600_000;
export const MAX_TTL_MS = 30 * 24 * 3600_000;

/** Delay before attempt number `attempts + 1`; `unit` is a uniform draw in [0, 1). */
export function retryDelay(attempts: number, unit: number): number {
  const base = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(attempts, 20));
  return Math.round(base * (0.8 + 0.4 * unit));
}
