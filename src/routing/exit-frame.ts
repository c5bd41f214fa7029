/**
 * What the final layer of an onion packet carries (docs/delivery.md "Exit payloads"), and the one-packet
 * answer a hop gives back on `/compeer/onion/1`.
 *
 *   exit payload = type (1) | body
 *     0x01 deliver   chunk (src/routing/chunks.ts) of a sealed envelope for the node that peeled it
 *     0x02 deposit   deposit frame (src/protocol/mailbox/wire.ts): mailbox address, expiry, blob = chunk
 *
 *   hop answer   = status (1) | depth (1)
 *     status 0 ok, 1 unreachable (the next hop could not be reached), 2 refused (bad packet, replay, quota),
 *     3 busy (the hop is over its limits); depth = how many hops past the answering one the failure
 *     happened (each relay adds one when it passes a failure back), so the sender knows which hop to
 *     avoid. A relay learns only that a failure happened some hops behind it — what it already sees from
 *     timing. This module does no I/O.
 */
import { concatBytes } from '../lib/bytes.ts';
import { DecodeError, ErrorCodes } from '../lib/errors.ts';

export const EXIT_DELIVER = 0x01;
export const EXIT_DEPOSIT = 0x02;

export type ExitPayload = { readonly kind: 'deliver'; readonly chunk: Uint8Array } | { readonly kind: 'deposit'; readonly deposit: Uint8Array };

export function encodeExit(p: ExitPayload): Uint8Array {
  return p.kind === 'deliver' ? concatBytes(Uint8Array.of(EXIT_DELIVER), p.chunk) : concatBytes(Uint8Array.of(EXIT_DEPOSIT), p.deposit);
}

export function decodeExit(bytes: Uint8Array): ExitPayload {
  if (bytes.length < 2) throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, 'exit payload: too short');
  const body = bytes.subarray(1);
  switch (bytes[0]) {
    case EXIT_DELIVER:
      return { kind: 'deliver', chunk: body };
    case EXIT_DEPOSIT:
      return { kind: 'deposit', deposit: body };
    default:
      throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `exit payload: unknown type ${bytes[0]}`);
  }
}

export type HopStatus = 'ok' | 'unreachable' | 'refused' | 'busy';
const STATUSES: readonly HopStatus[] = ['ok', 'unreachable', 'refused', 'busy'];
/** Longest path is 6 layers; anything deeper is a lie. */
const MAX_DEPTH = 8;

export interface HopAnswer {
  readonly status: HopStatus;
  /** Hops past the answering one where it failed (0: the answering hop itself, or its own next-hop dial). */
  readonly depth: number;
}

export function encodeHopAnswer(a: HopAnswer): Uint8Array {
  return Uint8Array.of(STATUSES.indexOf(a.status), Math.min(a.depth, MAX_DEPTH));
}

export function decodeHopAnswer(bytes: Uint8Array): HopAnswer {
  const status = STATUSES[bytes[0] ?? 255];
  const depth = bytes[1] ?? 255;
  if (bytes.length !== 2 || status === undefined || depth > MAX_DEPTH) throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, 'hop answer: malformed');
  return { status, depth };
}
