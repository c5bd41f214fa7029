/**
 * The onion replay cache's snapshot as bytes (onion-replay.ts `snapshot()` / `from`), for the node to
 * keep across a clean restart (src/node/onion-replay-store.ts). Big-endian, versioned:
 *
 *   version u8 (1) | epochs u8 (0..2) | per epoch, current first:
 *     epoch u64 | hop counters u16 | per counter: name length u16, name (UTF-8), count u32
 *     | fingerprints u32 | fingerprint u32 × that many
 *
 * 4 bytes a tag: 3 MiB for a full epoch of 786,432 (plus at most 1,025 counters of ~60 bytes), so a
 * full cache is ~6 MiB — more than one meta value holds; src/node/meta-chunks.ts splits it.
 * Decoding checks the layout only (truncation, trailing bytes, counts within the cache's bounds,
 * UTF-8 names) and throws a DecodeError; whether the content is one a cache could hold is checked by
 * the restore (onion-replay.ts `from`). Pure: this module knows nothing of where the bytes are kept.
 * A journal row (onion-replay.ts `recent()`: the fingerprints and counter increments recorded since the
 * last save) has the same format; its content is checked by `add`.
 */
import { fromUtf8, utf8 } from '../lib/bytes.ts';
import { DecodeError, ErrorCodes, LimitError } from '../lib/errors.ts';
import { StrictReader } from '../lib/reader.ts';
import { MAX_COUNTED_HOPS, type ReplayEpochState, type ReplaySnapshot } from './onion-replay.ts';

export const REPLAY_SNAPSHOT_VERSION = 1;
/** The cache's largest `maxPerEpoch` (onion-replay.ts): no epoch of a valid snapshot holds more. */
const MAX_FINGERPRINTS = 1 << 24;
const MAX_HOP_NAME_BYTES = 0xffff;

export function encodeReplaySnapshot(s: ReplaySnapshot): Uint8Array {
  const names = s.epochs.map((e) => [...e.hops.keys()].map((h) => utf8(h)));
  let size = 2;
  s.epochs.forEach((e, i) => {
    size += 8 + 2 + 4 + 4 * e.fingerprints.length;
    for (const n of names[i] as Uint8Array[]) size += 2 + n.length + 4;
  });
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint8(0, REPLAY_SNAPSHOT_VERSION);
  view.setUint8(1, s.epochs.length);
  let off = 2;
  s.epochs.forEach((e, i) => {
    view.setBigUint64(off, BigInt(e.epoch));
    view.setUint16(off + 8, e.hops.size);
    off += 10;
    const counts = [...e.hops.values()];
    (names[i] as Uint8Array[]).forEach((n, j) => {
      if (n.length > MAX_HOP_NAME_BYTES) throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, 'replay snapshot: a hop name longer than 65,535 bytes');
      view.setUint16(off, n.length);
      out.set(n, off + 2);
      view.setUint32(off + 2 + n.length, counts[j] as number);
      off += 2 + n.length + 4;
    });
    view.setUint32(off, e.fingerprints.length);
    off += 4;
    for (const fp of e.fingerprints) {
      view.setUint32(off, fp);
      off += 4;
    }
  });
  return out;
}

export function decodeReplaySnapshot(bytes: Uint8Array): ReplaySnapshot {
  const r = new StrictReader(bytes, 'replay snapshot');
  const version = r.u8('version');
  if (version !== REPLAY_SNAPSHOT_VERSION) throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `replay snapshot: unsupported version ${version}`);
  const count = r.u8('epoch count');
  if (count > 2) throw new DecodeError(ErrorCodes.STATE_CORRUPT, `replay snapshot: ${count} epochs, at most 2`);
  const epochs: ReplayEpochState[] = [];
  for (let i = 0; i < count; i++) {
    const epoch = r.u64('epoch');
    const hopCount = r.u16('hop count');
    if (hopCount > MAX_COUNTED_HOPS + 1) throw new DecodeError(ErrorCodes.STATE_CORRUPT, `replay snapshot: ${hopCount} hop counters, at most ${MAX_COUNTED_HOPS + 1}`);
    const hops = new Map<string, number>();
    for (let j = 0; j < hopCount; j++) {
      const name = fromUtf8(r.bytes(r.u16('hop name length'), 'hop name'));
      if (hops.has(name)) throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'replay snapshot: a hop counted twice');
      hops.set(name, r.u32('hop count'));
    }
    const n = r.u32('fingerprint count');
    // Checked before allocating: a garbled count must not allocate up to 16 GiB.
    if (n > MAX_FINGERPRINTS || n * 4 > r.remaining) throw new DecodeError(ErrorCodes.INVALID_LENGTH, `replay snapshot: truncated at fingerprints (${n})`);
    const fingerprints = new Uint32Array(n);
    for (let j = 0; j < n; j++) fingerprints[j] = r.u32('fingerprint');
    epochs.push({ epoch, hops, fingerprints });
  }
  r.end();
  return { epochs };
}
