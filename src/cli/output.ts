/**
 * Everything the CLI prints: results (human text, or one JSON object on stdout with --json) and errors
 * (`error: <message> (<CODE>)` on stderr, or `{"error":{"code","message"}}` on stdout with --json).
 * Exit codes are stable per error code, like the codes themselves: never renumber, only add.
 */
import { isCompeerError, type ErrorCode } from '../lib/errors.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

export interface CommandResult {
  /** Printed as one JSON line with --json: an object or an array (the API's DTOs as they are). */
  readonly data: object;
  /** Printed otherwise. */
  readonly text: string;
}

interface Printer {
  readonly json: boolean;
  readonly io: { stdout(text: string): void; stderr(text: string): void };
}

export const EXIT_OK = 0;
/** Command-line usage errors (unknown option, missing argument). */
export const EXIT_USAGE = 2;
/** A bug: an error that is not a CompeerError, or INTERNAL (sysexits EX_SOFTWARE). */
export const EXIT_SOFTWARE = 70;

/**
 * Typed as a complete record: a new ErrorCode does not typecheck until it has an exit code here.
 * Ranges: 1x lib, 2x crypto, 3x and 5x protocol, 4x store/node/cli, 6x net.
 */
export const EXIT_CODES: { readonly [K in ErrorCode]: number } = {
  INVALID_ARGUMENT: 10,
  INVALID_LENGTH: 11,
  INVALID_ENCODING: 12,
  LIMIT_EXCEEDED: 13,
  INVALID_KEY: 20,
  WEAK_KEY: 21,
  BAD_SIGNATURE: 22,
  DECRYPT_FAILED: 23,
  UNSUPPORTED_VERSION: 30,
  MALFORMED_MESSAGE: 31,
  DUPLICATE_MESSAGE: 32,
  REPLAYED_MESSAGE: 33,
  TOO_MANY_SKIPPED: 34,
  MESSAGE_EXPIRED: 35,
  UNKNOWN_PREKEY: 36,
  UNTRUSTED_IDENTITY: 37,
  NO_SESSION: 38,
  STATE_CORRUPT: 39,
  UNEXPECTED_MESSAGE: 50,
  COMMITMENT_MISMATCH: 51,
  ALREADY_EXISTS: 40,
  NOT_FOUND: 41,
  NOT_RUNNING: 42,
  UNAUTHORIZED: 43,
  RATE_LIMITED: 44,
  TIMEOUT: 60,
  UNREACHABLE: 61,
  STREAM_FAILED: 62,
  NO_ROUTE: 63,
  INTERNAL: EXIT_SOFTWARE,
};

export function exitCodeFor(err: unknown): number {
  if (!isCompeerError(err)) return EXIT_SOFTWARE;
  return EXIT_CODES[err.code];
}

export function printResult(p: Printer, result: CommandResult): void {
  if (p.json) p.io.stdout(`${JSON.stringify(result.data)}\n`);
  else if (result.text !== '') p.io.stdout(result.text.endsWith('\n') ? result.text : `${result.text}\n`);
}

/** Prints `err` and returns the exit code. Unknown errors print their message only, never a dump. */
export function printError(p: Printer, err: unknown): number {
  const code = isCompeerError(err) ? err.code : 'INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  if (p.json) p.io.stdout(`${JSON.stringify({ error: { code, message } })}\n`);
  else p.io.stderr(`error: ${message} (${code})\n`);
  return exitCodeFor(err);
}
