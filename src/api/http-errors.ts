/**
 * CompeerError codes ↔ HTTP: the status the server answers with for each code, the JSON error body
 * `{error: {code, message}}`, and the way back from a response body to a CompeerError in the client.
 * Errors that are not CompeerErrors are bugs: they become 500 INTERNAL with a fixed message, so no
 * internal detail (paths, stack, user data) reaches the caller.
 */
import { CompeerError, ErrorCodes, isCompeerError, type ErrorCode } from '../lib/errors.ts';

/** A complete record, as EXIT_CODES in the CLI: a new code does not typecheck without a status. */
export const HTTP_STATUS: { readonly [K in ErrorCode]: number } = {
  INVALID_ARGUMENT: 400,
  INVALID_LENGTH: 400,
  INVALID_ENCODING: 400,
  LIMIT_EXCEEDED: 413,
  INVALID_KEY: 400,
  WEAK_KEY: 400,
  BAD_SIGNATURE: 400,
  DECRYPT_FAILED: 422,
  UNSUPPORTED_VERSION: 400,
  MALFORMED_MESSAGE: 400,
  DUPLICATE_MESSAGE: 409,
  REPLAYED_MESSAGE: 409,
  TOO_MANY_SKIPPED: 422,
  MESSAGE_EXPIRED: 410,
  UNKNOWN_PREKEY: 422,
  UNTRUSTED_IDENTITY: 409,
  NO_SESSION: 409,
  STATE_CORRUPT: 500,
  UNEXPECTED_MESSAGE: 422,
  COMMITMENT_MISMATCH: 422,
  ALREADY_EXISTS: 409,
  NOT_FOUND: 404,
  NOT_RUNNING: 503,
  UNAUTHORIZED: 401,
  RATE_LIMITED: 429,
  TIMEOUT: 504,
  UNREACHABLE: 502,
  STREAM_FAILED: 502,
  NO_ROUTE: 503,
  INTERNAL: 500,
};

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** The status and body for any thrown value. */
export function errorResponse(err: unknown): { status: number; body: ErrorBody } {
  if (isCompeerError(err)) return { status: HTTP_STATUS[err.code], body: { error: { code: err.code, message: err.message } } };
  return { status: 500, body: { error: { code: ErrorCodes.INTERNAL, message: 'internal error' } } };
}

const KNOWN = new Set<string>(Object.values(ErrorCodes));

/** The client's side: a response body (already parsed) and status back into a CompeerError. */
export function errorFromBody(status: number, body: unknown): CompeerError {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (e !== undefined && typeof e.code === 'string' && KNOWN.has(e.code) && typeof e.message === 'string') {
    return new CompeerError(e.code as ErrorCode, e.message);
  }
  return new CompeerError(ErrorCodes.INTERNAL, `the API answered ${status} without a valid error body`);
}
