/**
 * Length-hiding padding for sealed-sender content (docs/protocol.md "Sealed sender").
 *
 *   padded = content | 0x80 | 0x00 … 0x00,   length = bucket(content.length + 1)
 *   bucket(n) = the smallest power of two >= max(n, SEALED_PAD_MIN), at most SEALED_PAD_MAX
 *
 * The 0x80 marker (ISO/IEC 7816-4 style, as Signal's message padding) needs no length field. Unpadding is
 * strict: the bucket size must be exact and every byte after the marker zero. It runs only on
 * authenticated plaintext, so its errors are no padding oracle (nor its timing: see lastNonZero). This
 * module knows nothing of encryption.
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
  const last = lastNonZero(padded);
  if (last < 0 || padded[last] !== PADDING_MARKER) {
    throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, 'padded content: bad padding');
  }
  if (paddedLength(last) !== padded.length) {
    throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, 'padded content: padding longer than its bucket requires');
  }
  return padded.slice(0, last);
}

/**
 * The index of the last non-zero byte, -1 if none: scanned from the end, four bytes at a time where the
 * view is aligned. Not constant-time, and it need not be: unpad runs only on plaintext the AEAD has just
 * authenticated (so its errors are no oracle), and the content length it reveals through timing is the
 * recipient's to know — everything after it (decoding, storing the content) takes time in that length
 * anyway. The padding hides the length from the network, not from the recipient's own code. The scan
 * covers only the padding (the old forward scan read the whole 64 KiB bucket: ~130–290 µs; this ~1–4 µs
 * for a full batch, docs/perf-node.md "Sixth pass, continued").
 */
function lastNonZero(b: Uint8Array): number {
  let end = b.length;
  if ((b.byteOffset & 3) === 0) {
    // Bucket sizes are powers of two ≥ 256: the whole buffer is whole words.
    const words = new Int32Array(b.buffer, b.byteOffset, b.length >>> 2);
    let w = words.length - 1;
    while (w >= 0 && words[w] === 0) w--;
    end = Math.min(end, (w + 1) * 4);
  }
  let i = end - 1;
  while (i >= 0 && b[i] === 0) i--;
  return i;
}
