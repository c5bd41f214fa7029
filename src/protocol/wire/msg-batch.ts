/**
 * The request of `/compeer/msg/1`: one sealed envelope, or a batch of envelopes to the same recipient
 * (docs/node.md "Wire protocols"). Batching amortises the stream round trip, the store commit and the
 * encrypted ack over several messages.
 *
 *   request = envelope                                   (first byte 0x01: SEALED_VERSION)
 *           | 0xB1 | count (u8, 1..MSG_BATCH_MAX) | count × (length (u32) | envelope)
 *
 * Limits: at most MSG_BATCH_MAX envelopes, MSG_BATCH_MAX_BYTES in all, each at most SEALED_MAX_LENGTH.
 * This module knows nothing of what an envelope holds; it only frames them.
 */
import { concatBytes } from '../../lib/bytes.ts';
import { CompeerError, DecodeError, ErrorCodes, LimitError } from '../../lib/errors.ts';
import { SEALED_MAX_LENGTH } from '../sealed/envelope.ts';
import { SEALED_VERSION } from './constants.ts';
import { StrictReader, u32 } from '../../lib/reader.ts';

export const MSG_BATCH_TAG = 0xb1;
export const MSG_BATCH_MAX = 64;
export const MSG_BATCH_MAX_BYTES = 256 * 1024 - 64;

/** Bytes a batch of these envelope sizes takes. */
export function batchSize(envelopeLengths: readonly number[]): number {
  return 2 + envelopeLengths.reduce((n, l) => n + 4 + l, 0);
}

export function encodeMsgBatch(envelopes: readonly Uint8Array[]): Uint8Array {
  if (envelopes.length < 1 || envelopes.length > MSG_BATCH_MAX) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `message batch: 1 to ${MSG_BATCH_MAX} envelopes`);
  }
  if (envelopes.length === 1) return envelopes[0] as Uint8Array;
  if (batchSize(envelopes.map((e) => e.length)) > MSG_BATCH_MAX_BYTES) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `message batch: at most ${MSG_BATCH_MAX_BYTES} bytes`);
  }
  return concatBytes(Uint8Array.of(MSG_BATCH_TAG, envelopes.length), ...envelopes.flatMap((e) => [u32(e.length), e]));
}

/** The envelopes of a request (not opened). Errors: DecodeError, LimitError. */
export function decodeMsgBatch(bytes: Uint8Array): Uint8Array[] {
  if (bytes.length > MSG_BATCH_MAX_BYTES) throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `message batch: ${bytes.length} bytes`);
  if (bytes.length === 0) throw new DecodeError(ErrorCodes.INVALID_LENGTH, 'message batch: empty');
  if (bytes[0] === SEALED_VERSION) return [bytes];
  const r = new StrictReader(bytes, 'message batch');
  if (r.u8('tag') !== MSG_BATCH_TAG) throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, 'message batch: unknown request type');
  const count = r.u8('count');
  if (count < 1 || count > MSG_BATCH_MAX) throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `message batch: ${count} envelopes`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const len = r.u32('envelope length');
    if (len > SEALED_MAX_LENGTH) throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, 'message batch: envelope too large');
    out.push(r.bytes(len, 'envelope'));
  }
  r.end();
  return out;
}
