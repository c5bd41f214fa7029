/**
 * Length-hiding padding for sealed-sender content (docs/protocol.md "Sealed sender").
 *
 *   padded = content | 0x80 | 0x00 … 0x00,   length = bucket(content.length + 1)
 *   bucket(n) = the smallest power of two >= max(n, SEALED_PAD_MIN), at most SEALED_PAD_MAX
 *
 * The 0x80 marker (ISO/IEC 7816-4 style, as Signal's message padding) needs no length field. Unpadding is
 * strict: the bucket size must be exact and every byte after the marker zero. It runs only on
 * authenticated plaintext, so its errors are no padding oracle. This module knows nothing of encryption.
 */
import { DecodeError, ErrorCodes, LimitError } from '../../lib/errors.ts';
import { SEALED_PAD_MAX, SEALED_PAD_MIN } from '../wire/constants.ts';

export const PADDING_MARKER = 0x80;
/** The largest content that fits the largest bucket (one byte goes to the marker). */
export const SEALED_MAX_CONTENT = SEALED_PAD_MAX - 1;

/** The padded size for `contentLength` bytes of content. */
export function paddedLength(contentLength: number): number {
  if (!Number.isInteger(contentLength) || contentLength < 0) {
    throw new DecodeError(ErrorCodes.INVALID_ARGUMENT, 'content length: expected a non-negative integer');
  }
  if (contentLength > SEALED_MAX_CONTENT) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `sealed content: at most ${SEALED_MAX_CONTENT} bytes, got ${contentLength}`);
  }
  let size = SEALED_PAD_MIN;
  while (size < contentLength + 1) size *= 2;
  return size;
}

/** True for exactly the sizes paddedLength can return. */
export function isBucketSize(n: number): boolean {
  return Number.isInteger(n) && n >= SEALED_PAD_MIN && n <= SEALED_PAD_MAX && (n & (n - 1)) === 0;
}

export function pad(content: Uint8Array): Uint8Array {
  const out = new Uint8Array(paddedLength(content.length));
  out.set(content, 0);
  out[content.length] = PADDING_MARKER;
  return out;
}

export function unpad(padded: Uint8Array): Uint8Array {
  if (!isBucketSize(padded.length)) {
    throw new DecodeError(ErrorCodes.INVALID_LENGTH, `padded content: ${padded.length} bytes is not a bucket size`);
  }
  // Scan the whole buffer (no early exit on the content): find the last non-zero byte.
  let last = -1;
  for (let i = 0; i < padded.length; i++) if (padded[i] !== 0) last = i;
  if (last < 0 || padded[last] !== PADDING_MARKER) {
    throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, 'padded content: bad padding');
  }
  if (paddedLength(last) !== padded.length) {
    throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, 'padded content: padding longer than its bucket requires');
  }
  return padded.slice(0, last);
}
