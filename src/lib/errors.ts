/**
 * One error type for the whole code base: `CompeerError` with a stable `code`.
 * Codes are part of the API (CLI `--json`, HTTP API, logs): never rename one, only add.
 * Messages never contain key material or message text.
 */

export const ErrorCodes = {
  // lib / generic
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  INVALID_LENGTH: 'INVALID_LENGTH',
  INVALID_ENCODING: 'INVALID_ENCODING',
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  INTERNAL: 'INTERNAL',
  // crypto
  INVALID_KEY: 'INVALID_KEY',
  WEAK_KEY: 'WEAK_KEY',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  DECRYPT_FAILED: 'DECRYPT_FAILED',
  // protocol
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  MALFORMED_MESSAGE: 'MALFORMED_MESSAGE',
  DUPLICATE_MESSAGE: 'DUPLICATE_MESSAGE',
  REPLAYED_MESSAGE: 'REPLAYED_MESSAGE',
  TOO_MANY_SKIPPED: 'TOO_MANY_SKIPPED',
  MESSAGE_EXPIRED: 'MESSAGE_EXPIRED',
  UNKNOWN_PREKEY: 'UNKNOWN_PREKEY',
  UNTRUSTED_IDENTITY: 'UNTRUSTED_IDENTITY',
  NO_SESSION: 'NO_SESSION',
  STATE_CORRUPT: 'STATE_CORRUPT',
  UNEXPECTED_MESSAGE: 'UNEXPECTED_MESSAGE', // a message that the current protocol step does not expect
  COMMITMENT_MISMATCH: 'COMMITMENT_MISMATCH', // a revealed value does not open the earlier commitment
  // store / node / cli
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  NOT_FOUND: 'NOT_FOUND',
  NOT_RUNNING: 'NOT_RUNNING',
  UNAUTHORIZED: 'UNAUTHORIZED',
  RATE_LIMITED: 'RATE_LIMITED',
  // net
  TIMEOUT: 'TIMEOUT', // a network operation did not finish in time
  UNREACHABLE: 'UNREACHABLE', // no connection to the peer could be made
  STREAM_FAILED: 'STREAM_FAILED', // the remote reset or closed a stream before the exchange completed
  NO_ROUTE: 'NO_ROUTE', // not enough relays known for the path the caller asked for
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class CompeerError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Malformed bytes from outside: wrong length, bad version byte, unknown type. */
export class DecodeError extends CompeerError {}

/** A cryptographic check failed: bad key, bad signature, failed authentication. */
export class CryptoError extends CompeerError {}

/** A well-formed message that the protocol state refuses (duplicate, replay, too far ahead, ...). */
export class ProtocolError extends CompeerError {}

/** A resource limit was hit (sizes, quotas, rate limits). */
export class LimitError extends CompeerError {}

/** Persistence and lifecycle errors (exists, not found, not running). */
export class StateError extends CompeerError {}

/** A network operation failed: timeout, unreachable peer, stream reset by the remote. */
export class NetworkError extends CompeerError {}

export function isCompeerError(e: unknown): e is CompeerError {
  return e instanceof CompeerError;
}
