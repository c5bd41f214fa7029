/**
 * How commands reach the running node: a typed API client for the daemon on ctx.dir (or COMPEER_API +
 * COMPEER_API_TOKEN), and the parsing of the numeric flags they pass on.
 */
import { createApiClient, resolveTarget, type ApiClient } from '../api/client.ts';
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import type { Context } from './context.ts';

/** NOT_RUNNING (with a hint to run `compeer start`) when no daemon runs on ctx.dir. */
export function connect(ctx: Context): ApiClient {
  const target = resolveTarget(ctx.dir, ctx.io.env);
  ctx.logger.debug('api target', { url: target.url });
  return createApiClient(target);
}

/** A flag in seconds (decimals allowed) → milliseconds; INVALID_ARGUMENT outside [min, max] seconds. */
export function secondsFlag(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `${flag}: expected seconds between ${min} and ${max}, got "${value.slice(0, 16)}"`);
  return Math.round(n * 1000);
}

export function countFlag(flag: string, value: string | undefined, max: number): number | undefined {
  return integerFlag(flag, value, 1, max);
}

export function integerFlag(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `${flag}: expected a whole number from ${min} to ${max}, got "${value.slice(0, 16)}"`);
  return n;
}
