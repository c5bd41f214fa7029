/**
 * A value larger than one meta value (MAX_KV_VALUE_BYTES, 1 MiB; meta values are sealed one by one)
 * kept under several keys `<prefix><index>`. Every chunk carries
 *
 *   version u8 (1) | id (8 bytes) | index u16 | total u16 | its part of the value
 *
 * The id is drawn per value written, so chunks of two values never make one: a value is whole only
 * when every chunk 0..total−1 is there once, with one id and one total. Writing replaces every key of
 * the prefix in one transaction (a savepoint inside the caller's, when there is one); reading leaves
 * them where they are.
 * This module knows nothing of what the value is (src/node/onion-replay-store.ts uses it).
 */
import type { Rng } from '../lib/deps.ts';
import { equalBytes } from '../lib/bytes.ts';
import { CompeerError, DecodeError, ErrorCodes, LimitError } from '../lib/errors.ts';
import { MAX_KV_VALUE_BYTES } from '../store/kv.ts';
import type { NodeStore } from './node-store.ts';

export const META_CHUNKS_VERSION = 1;
const ID_BYTES = 8;
export const CHUNK_HEADER_BYTES = 1 + ID_BYTES + 2 + 2;
const MAX_CHUNKS = 0xffff;

const bad = (what: string): DecodeError => new DecodeError(ErrorCodes.STATE_CORRUPT, `meta chunks: ${what}`);

/** `value` cut into chunks of at most `maxChunkBytes` each, headers included (at least one chunk). */
export function splitChunks(value: Uint8Array, id: Uint8Array, maxChunkBytes = MAX_KV_VALUE_BYTES): Uint8Array[] {
  if (id.length !== ID_BYTES) throw new CompeerError(ErrorCodes.INVALID_LENGTH, `meta chunks: an id of ${ID_BYTES} bytes`);
  const body = maxChunkBytes - CHUNK_HEADER_BYTES;
  if (!Number.isInteger(body) || body < 1) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'meta chunks: chunk size too small');
  const total = Math.max(1, Math.ceil(value.length / body));
  if (total > MAX_CHUNKS) throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `meta chunks: more than ${MAX_CHUNKS} chunks`);
  return Array.from({ length: total }, (_, i) => {
    const part = value.subarray(i * body, (i + 1) * body);
    const chunk = new Uint8Array(CHUNK_HEADER_BYTES + part.length);
    const view = new DataView(chunk.buffer);
    view.setUint8(0, META_CHUNKS_VERSION);
    chunk.set(id, 1);
    view.setUint16(1 + ID_BYTES, i);
    view.setUint16(3 + ID_BYTES, total);
    chunk.set(part, CHUNK_HEADER_BYTES);
    return chunk;
  });
}

/** The value `chunks` (in any order) were cut from; DecodeError when one is missing, repeated, garbled or of another value. */
export function joinChunks(chunks: readonly Uint8Array[]): Uint8Array {
  const first = chunks[0];
  if (first === undefined) throw bad('none');
  const id = first.subarray(1, 1 + ID_BYTES);
  const parts: (Uint8Array | undefined)[] = [];
  let total = -1;
  for (const c of chunks) {
    if (c.length < CHUNK_HEADER_BYTES) throw new DecodeError(ErrorCodes.INVALID_LENGTH, 'meta chunks: a truncated header');
    const view = new DataView(c.buffer, c.byteOffset, c.byteLength);
    if (view.getUint8(0) !== META_CHUNKS_VERSION) throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `meta chunks: unsupported version ${view.getUint8(0)}`);
    if (!equalBytes(c.subarray(1, 1 + ID_BYTES), id)) throw bad('chunks of two values');
    const index = view.getUint16(1 + ID_BYTES);
    const t = view.getUint16(3 + ID_BYTES);
    if (total === -1) total = t;
    if (t !== total || index >= total) throw bad('chunks disagree on their count');
    if (parts[index] !== undefined) throw bad(`chunk ${index} twice`);
    parts[index] = c.subarray(CHUNK_HEADER_BYTES);
  }
  if (chunks.length !== total) throw bad(`${chunks.length} of ${total} chunks`);
  const out = new Uint8Array(parts.reduce((n, p) => n + (p as Uint8Array).length, 0));
  let off = 0;
  for (const p of parts as Uint8Array[]) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Replaces whatever is kept under `prefix` with `value`, in one transaction; returns the number of chunks. */
export function saveChunked(store: NodeStore, prefix: string, value: Uint8Array, rng: Rng, maxChunkBytes = MAX_KV_VALUE_BYTES): number {
  const chunks = splitChunks(value, rng.bytes(ID_BYTES), maxChunkBytes);
  store.transaction(() => {
    for (const k of store.meta.keys(prefix)) store.meta.delete(k);
    chunks.forEach((c, i) => store.meta.set(prefix + i, c));
  });
  return chunks.length;
}

/** The value kept under `prefix` (undefined when there is none), read in one transaction; DecodeError when it is not whole. */
export function readChunked(store: NodeStore, prefix: string): Uint8Array | undefined {
  const chunks = store.transaction(() =>
    store.meta
      .keys(prefix)
      .map((k) => store.meta.get(k))
      .filter((v): v is Uint8Array => v !== undefined),
  );
  return chunks.length === 0 ? undefined : joinChunks(chunks);
}
