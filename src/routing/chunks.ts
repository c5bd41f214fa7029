/**
 * Chunking of payloads larger than one onion packet (DESIGN.md "Routing and delivery": "Packets are
 * padded to fixed sizes; large payloads are chunked"). Each chunk fits a fixed capacity and carries
 *
 *   setId (16 random bytes) | index (u8) | count (u8) | data
 *
 * Pipeline. Send: 1. split into ≤ 64 pieces of capacity − 18 bytes  2. prefix each with the header.
 * Receive: 1. parse (DecodeError if malformed)  2. drop if the set completed recently  3. file the
 * piece (duplicates ignored; a count that disagrees with the set's drops the set)  4. when all
 * pieces are in, return the payload once and remember the set ID for `ttlMs`.
 *
 * Bounds: at most `maxSets` incomplete sets and `maxBytes` buffered (oldest set evicted first), a set
 * expires `ttlMs` after its first piece, and at most `maxCompleted` completed IDs are remembered.
 * An evicted or expired set is simply lost; the sender's outbox retransmits it (new set ID).
 * The set ID is random so that two payloads never mix and chunks of one set do not link to another.
 *
 * This module knows nothing of onion layers or encryption: integrity of the reassembled payload is
 * the end-to-end envelope's job (a forged chunk makes its AEAD fail, never a wrong message).
 */
import { assertInteger } from '../lib/assert.ts';
import type { Clock, Rng } from '../lib/deps.ts';
import { DecodeError, ErrorCodes, LimitError } from '../lib/errors.ts';

export const CHUNK_SET_ID_LENGTH = 16;
export const CHUNK_HEADER_LENGTH = CHUNK_SET_ID_LENGTH + 2;
export const MAX_CHUNKS = 64;

export const REASSEMBLY_DEFAULTS = {
  maxSets: 64,
  maxBytes: 4 * 1024 * 1024,
  ttlMs: 120_000,
  maxCompleted: 4096,
} as const;

export interface ReassemblerOptions {
  readonly clock: Clock;
  /** Incomplete sets held at most. */
  readonly maxSets?: number;
  /** Bytes of incomplete sets held at most. */
  readonly maxBytes?: number;
  /** A set is dropped this long after its first chunk; a completed set's ID is remembered as long. */
  readonly ttlMs?: number;
  /** Completed set IDs remembered at most. */
  readonly maxCompleted?: number;
}

export interface Reassembler {
  /** Files one chunk; returns the whole payload exactly once, when its last missing chunk arrives. */
  add(chunk: Uint8Array): Uint8Array | undefined;
  /** Incomplete sets held. */
  pending(): number;
}

export interface ParsedChunk {
  readonly setId: Uint8Array;
  readonly index: number;
  readonly count: number;
  readonly data: Uint8Array;
}

/** Splits `data` into chunks of at most `capacity` bytes each (header included); at least one chunk. */
export function chunkPayload(data: Uint8Array, capacity: number, rng: Rng): Uint8Array[] {
  assertInteger(capacity, 'capacity', CHUNK_HEADER_LENGTH + 1, Number.MAX_SAFE_INTEGER);
  const room = capacity - CHUNK_HEADER_LENGTH;
  const count = Math.max(1, Math.ceil(data.length / room));
  if (count > MAX_CHUNKS) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `payload: ${data.length} bytes needs ${count} chunks of ${room}, at most ${MAX_CHUNKS}`);
  }
  const setId = rng.bytes(CHUNK_SET_ID_LENGTH);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const piece = data.subarray(i * room, Math.min(data.length, (i + 1) * room));
    const chunk = new Uint8Array(CHUNK_HEADER_LENGTH + piece.length);
    chunk.set(setId, 0);
    chunk[CHUNK_SET_ID_LENGTH] = i;
    chunk[CHUNK_SET_ID_LENGTH + 1] = count;
    chunk.set(piece, CHUNK_HEADER_LENGTH);
    out.push(chunk);
  }
  return out;
}

/** Reads a chunk's header; the returned fields are views into `chunk`. */
export function parseChunk(chunk: Uint8Array): ParsedChunk {
  if (!(chunk instanceof Uint8Array) || chunk.length < CHUNK_HEADER_LENGTH) {
    throw new DecodeError(ErrorCodes.INVALID_LENGTH, `chunk: expected at least ${CHUNK_HEADER_LENGTH} bytes, got ${chunk instanceof Uint8Array ? chunk.length : 'no bytes'}`);
  }
  const index = chunk[CHUNK_SET_ID_LENGTH] as number;
  const count = chunk[CHUNK_SET_ID_LENGTH + 1] as number;
  if (count < 1 || count > MAX_CHUNKS) throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `chunk: count ${count} not in [1, ${MAX_CHUNKS}]`);
  if (index >= count) throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `chunk: index ${index} not below count ${count}`);
  return { setId: chunk.subarray(0, CHUNK_SET_ID_LENGTH), index, count, data: chunk.subarray(CHUNK_HEADER_LENGTH) };
}

interface PartialSet {
  readonly count: number;
  readonly parts: (Uint8Array | undefined)[];
  readonly startedAt: number;
  received: number;
  bytes: number;
}

function keyOf(setId: Uint8Array): string {
  return Buffer.from(setId.buffer, setId.byteOffset, setId.byteLength).toString('latin1');
}

function join(parts: readonly (Uint8Array | undefined)[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p?.length ?? 0;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    if (p === undefined) continue;
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function createReassembler(opts: ReassemblerOptions): Reassembler {
  const o = { ...REASSEMBLY_DEFAULTS, ...opts };
  assertInteger(o.maxSets, 'maxSets', 1, Number.MAX_SAFE_INTEGER);
  assertInteger(o.maxBytes, 'maxBytes', 1, Number.MAX_SAFE_INTEGER);
  assertInteger(o.ttlMs, 'ttlMs', 1, Number.MAX_SAFE_INTEGER);
  assertInteger(o.maxCompleted, 'maxCompleted', 0, Number.MAX_SAFE_INTEGER);
  // Both maps iterate in insertion order = age, so the oldest entry is always the first.
  const sets = new Map<string, PartialSet>();
  const completed = new Map<string, number>();
  let bytes = 0;

  const drop = (key: string): void => {
    const s = sets.get(key);
    if (s === undefined) return;
    bytes -= s.bytes;
    sets.delete(key);
  };

  const expire = (now: number): void => {
    for (const [key, s] of sets) {
      if (now - s.startedAt < o.ttlMs) break;
      drop(key);
    }
    for (const [key, at] of completed) {
      if (now - at < o.ttlMs && completed.size <= o.maxCompleted) break;
      completed.delete(key);
    }
  };

  const finish = (key: string, parts: readonly (Uint8Array | undefined)[], now: number): Uint8Array => {
    drop(key);
    completed.delete(key);
    completed.set(key, now);
    expire(now);
    return join(parts);
  };

  return {
    add(chunk) {
      const c = parseChunk(chunk);
      const now = o.clock();
      expire(now);
      const key = keyOf(c.setId);
      if (completed.has(key)) return undefined;
      let s = sets.get(key);
      if (s !== undefined && s.count !== c.count) {
        drop(key);
        throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `chunk: count ${c.count} differs from its set's ${s.count}; set dropped`);
      }
      if (c.count === 1) return finish(key, [c.data], now);
      if (s === undefined) {
        s = { count: c.count, parts: new Array<Uint8Array | undefined>(c.count).fill(undefined), startedAt: now, received: 0, bytes: 0 };
        sets.set(key, s);
      }
      if (s.parts[c.index] !== undefined) return undefined;
      s.parts[c.index] = c.data.slice();
      s.received++;
      s.bytes += c.data.length;
      bytes += c.data.length;
      if (s.received === s.count) return finish(key, s.parts, now);
      for (const [old] of sets) {
        if (sets.size <= o.maxSets && bytes <= o.maxBytes) break;
        drop(old);
      }
      return undefined;
    },
    pending() {
      expire(o.clock());
      return sets.size;
    },
  };
}
