/**
 * Fuzz of the frame reader (src/net/framing.ts): valid frame sequences cut into random chunks come out
 * whole and in order; random bytes and mutated streams (length headers set to 0, the limit, the limit
 * + 1, 2^32 − 1) give frames within the limit or a LimitError, and the decoder never buffers more than
 * one frame's header and payload.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { concatBytes } from '../../src/lib/bytes.ts';
import { LimitError } from '../../src/lib/errors.ts';
import { createFrameDecoder, encodeFrame, FRAME_HEADER_BYTES } from '../../src/net/framing.ts';
import { attempt, bytesArb, mutateAll, mutationsArb, params, sameBytes } from './_fuzz.ts';

const MAX = 1000;

/** Splits `b` at the given cut points (positions taken modulo the length). */
function cut(b: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => (b.length === 0 ? 0 : c % b.length)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, b.length]) {
    if (c > prev) out.push(b.subarray(prev, c));
    prev = c;
  }
  return out;
}

/** Feeds chunks; the frames until the first error (typed, else the test fails), and whether it failed. */
function feed(chunks: readonly Uint8Array[]): { frames: Uint8Array[]; failed: boolean } {
  const d = createFrameDecoder(MAX);
  const frames: Uint8Array[] = [];
  for (const c of chunks) {
    const r = attempt('frame decoder push', () => d.push(c));
    if (!r.ok) {
      assert.ok(r.error instanceof LimitError, `only a LimitError: ${r.error.name}`);
      // Once failed, it stays failed.
      assert.ok(!attempt('push after failure', () => d.push(new Uint8Array(1))).ok);
      return { frames, failed: true };
    }
    for (const f of r.value) assert.ok(f.length <= MAX, 'a frame within the limit');
    frames.push(...r.value);
    assert.ok(d.buffered <= FRAME_HEADER_BYTES + MAX, 'never more than one frame buffered');
  }
  return { frames, failed: false };
}

describe('fuzz: frames (src/net/framing.ts)', () => {
  const payloads = fc.array(fc.oneof(fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ minLength: MAX - 5, maxLength: MAX })), { minLength: 1, maxLength: 6 });
  const cuts = fc.array(fc.nat(), { maxLength: 12 });

  it('valid frames in random chunks come out whole and in order', () => {
    fc.assert(
      fc.property(payloads, cuts, (ps, cs) => {
        const stream = concatBytes(...ps.map((p) => encodeFrame(p, MAX)));
        const { frames, failed } = feed(cut(stream, cs));
        assert.equal(failed, false);
        assert.equal(frames.length, ps.length);
        ps.forEach((p, i) => assert.ok(sameBytes(frames[i] as Uint8Array, p)));
      }),
      params(400),
    );
  });

  it('random bytes in random chunks: frames within the limit or a LimitError', () => {
    fc.assert(fc.property(bytesArb(3000), cuts, (b, cs) => void feed(cut(b, cs))), params(400));
  });

  it('mutated streams (length headers at 0, the limit, the limit + 1, 2^32 − 1) in random chunks', () => {
    const header = (n: number): Uint8Array => {
      const h = new Uint8Array(4);
      new DataView(h.buffer).setUint32(0, n);
      return h;
    };
    fc.assert(
      fc.property(payloads, mutationsArb, cuts, fc.constantFrom(0, MAX, MAX + 1, 0xffffffff), (ps, ms, cs, len) => {
        const stream = concatBytes(...ps.map((p) => encodeFrame(p, MAX)));
        const withHeader = concatBytes(stream, header(len), new Uint8Array(Math.min(len, MAX + 1)));
        const { failed } = feed(cut(mutateAll(withHeader, ms), cs));
        if (len > MAX && sameBytes(mutateAll(withHeader, ms), withHeader)) assert.equal(failed, true, 'an announced frame over the limit is refused');
      }),
      params(400),
    );
  });
});
