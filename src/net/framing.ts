/**
 * Length-prefixed frames for Compeer's request/response protocols.
 *
 * Wire format: a 4-byte big-endian unsigned length, then exactly that many payload bytes. Frames follow
 * each other on a stream with nothing in between. The limit is checked as soon as the 4 header bytes are
 * in — before any payload is buffered — so a peer announcing a 4 GiB frame is refused after 4 bytes, and
 * payload chunks are kept as they arrive (no up-front allocation of the announced length: a peer that
 * announces a large frame and stalls holds only the bytes it actually sent).
 *
 * Pure: no streams, no I/O. framed-stream.ts feeds it the chunks a libp2p stream delivers.
 */
import { concatBytes } from '../lib/bytes.ts';
import { ErrorCodes, LimitError } from '../lib/errors.ts';

export const FRAME_HEADER_BYTES = 4;

/** Encodes the 4-byte header for a payload of `length` bytes, refusing lengths over `maxBytes`. */
export function frameHeader(length: number, maxBytes: number): Uint8Array {
  if (length > maxBytes) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `frame of ${length} bytes exceeds the limit of ${maxBytes}`);
  }
  const out = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(out.buffer).setUint32(0, length, false);
  return out;
}

/** Header and payload in one buffer (one copy); for tests and small frames. */
export function encodeFrame(payload: Uint8Array, maxBytes: number): Uint8Array {
  return concatBytes(frameHeader(payload.length, maxBytes), payload);
}

export interface FrameDecoder {
  /**
   * Feeds the next chunk; returns the frames it completed (often none, usually one). Throws LimitError
   * (LIMIT_EXCEEDED) when a header announces more than the limit; the decoder is unusable afterwards.
   */
  push(chunk: Uint8Array): Uint8Array[];
  /** True while part of a frame (header or payload) is buffered. */
  readonly partial: boolean;
  /** Bytes of the current, incomplete frame received so far, header included. */
  readonly buffered: number;
}

/** A decoder for a sequence of frames of at most `maxBytes` payload bytes each. */
export function createFrameDecoder(maxBytes: number): FrameDecoder {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  const headerView = new DataView(header.buffer);
  let headerFill = 0;
  let length = -1; // payload length once the header is complete
  let chunks: Uint8Array[] = [];
  let payloadFill = 0;
  let failed: LimitError | undefined;

  const finishFrame = (): Uint8Array => {
    const only = chunks.length === 1 ? chunks[0] : undefined;
    // A view, not a copy, for the common one-chunk frame; a plain Uint8Array even when handed Buffers.
    const frame = only !== undefined ? new Uint8Array(only.buffer, only.byteOffset, only.byteLength) : concatBytes(...chunks);
    headerFill = 0;
    length = -1;
    chunks = [];
    payloadFill = 0;
    return frame;
  };

  const push = (chunk: Uint8Array): Uint8Array[] => {
    if (failed !== undefined) throw failed;
    const out: Uint8Array[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (length < 0) {
        const n = Math.min(FRAME_HEADER_BYTES - headerFill, chunk.length - off);
        header.set(chunk.subarray(off, off + n), headerFill);
        headerFill += n;
        off += n;
        if (headerFill < FRAME_HEADER_BYTES) break;
        length = headerView.getUint32(0, false);
        if (length > maxBytes) {
          failed = new LimitError(ErrorCodes.LIMIT_EXCEEDED, `frame of ${length} bytes exceeds the limit of ${maxBytes}`);
          throw failed;
        }
      }
      const n = Math.min(length - payloadFill, chunk.length - off);
      if (n > 0) chunks.push(off === 0 && n === chunk.length ? chunk : chunk.subarray(off, off + n));
      payloadFill += n;
      off += n;
      if (payloadFill < length) break;
      out.push(finishFrame());
    }
    return out;
  };

  return {
    push,
    get partial() {
      return headerFill > 0;
    },
    get buffered() {
      return headerFill + payloadFill;
    },
  };
}
