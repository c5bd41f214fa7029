/**
 * Length-prefixed frames (src/net/framing.ts) and token buckets (src/net/rate-limit.ts): pure, no sockets.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CompeerError, LimitError } from '../../src/lib/errors.ts';
import { createFrameDecoder, encodeFrame, frameHeader } from '../../src/net/framing.ts';
import { createTokenBuckets } from '../../src/net/rate-limit.ts';

const bytes = (n: number, fill = 7): Uint8Array => new Uint8Array(n).fill(fill);

describe('net/framing', () => {
  test('a frame round-trips whole, byte by byte, and back to back with others', () => {
    const a = bytes(300, 1);
    const b = bytes(0);
    const c = bytes(5, 3);
    const wire = new Uint8Array([...encodeFrame(a, 1024), ...encodeFrame(b, 1024), ...encodeFrame(c, 1024)]);

    assert.deepEqual(createFrameDecoder(1024).push(wire), [a, b, c]);

    const d = createFrameDecoder(1024);
    const out: Uint8Array[] = [];
    for (const x of wire) out.push(...d.push(new Uint8Array([x])));
    assert.deepEqual(out, [a, b, c]);
    assert.equal(d.partial, false);
  });

  test('partial and buffered track an incomplete frame', () => {
    const d = createFrameDecoder(100);
    const wire = encodeFrame(bytes(10), 100);
    assert.deepEqual(d.push(wire.subarray(0, 2)), []);
    assert.equal(d.partial, true);
    assert.deepEqual(d.push(wire.subarray(2, 7)), []);
    assert.equal(d.buffered, 7);
    assert.deepEqual(d.push(wire.subarray(7)), [bytes(10)]);
    assert.equal(d.partial, false);
    assert.equal(d.buffered, 0);
  });

  test('an oversized header is refused after 4 bytes, and the decoder stays failed', () => {
    const d = createFrameDecoder(1024);
    // Announce 4 GiB - 1 and send nothing else: refused before any payload is buffered.
    assert.throws(() => d.push(new Uint8Array([0xff, 0xff, 0xff, 0xff])), (e: unknown) => e instanceof LimitError && e.code === 'LIMIT_EXCEEDED');
    assert.throws(() => d.push(new Uint8Array([0])), LimitError);
    // Exactly at the limit is fine.
    assert.equal(createFrameDecoder(1024).push(encodeFrame(bytes(1024), 1024))[0]?.length, 1024);
  });

  test('encoding refuses payloads over the limit', () => {
    assert.throws(() => frameHeader(1025, 1024), (e: unknown) => e instanceof CompeerError && e.code === 'LIMIT_EXCEEDED');
  });

  test('decoded frames are plain Uint8Arrays, even from Buffers', () => {
    const [f] = createFrameDecoder(10).push(Buffer.from(encodeFrame(bytes(3), 10)));
    assert.equal(Object.getPrototypeOf(f), Uint8Array.prototype);
  });
});

describe('net/rate-limit', () => {
  test('burst, then refill at the configured rate', () => {
    let now = 1_000;
    const b = createTokenBuckets({ perSecond: 2, burst: 3 }, () => now);
    assert.equal(b.take('p'), true);
    assert.equal(b.take('p'), true);
    assert.equal(b.take('p'), true);
    assert.equal(b.take('p'), false);
    assert.equal(b.take('q'), true, 'buckets are per key');
    now += 499;
    assert.equal(b.take('p'), false);
    now += 1;
    assert.equal(b.take('p'), true, 'one token after 500 ms at 2/s');
    now += 60_000;
    assert.equal(b.available('p'), 3, 'refill caps at the burst');
  });

  test('a clock stepping backwards refills nothing', () => {
    let now = 10_000;
    const b = createTokenBuckets({ perSecond: 1, burst: 1 }, () => now);
    assert.equal(b.take('p'), true);
    now -= 5_000;
    assert.equal(b.take('p'), false);
  });

  test('memory is bounded: full buckets go first, then the oldest', () => {
    let now = 0;
    const b = createTokenBuckets({ perSecond: 1, burst: 2 }, () => now, 3);
    b.take('a');
    b.take('b');
    b.take('c');
    assert.equal(b.size, 3);
    now += 10_000; // everyone refilled: all evictable
    b.take('d');
    assert.equal(b.size, 1);
    b.take('e');
    b.take('e');
    b.take('f');
    b.take('f');
    b.take('g'); // d (partly drained), e, f (drained) held: the oldest goes
    assert.ok(b.size <= 3);
    assert.equal(b.available('f'), 0, 'a recently drained bucket is kept');
  });

  test('invalid configurations are refused', () => {
    assert.throws(() => createTokenBuckets({ perSecond: 0, burst: 1 }, () => 0), CompeerError);
    assert.throws(() => createTokenBuckets({ perSecond: 1, burst: 0.5 }, () => 0), CompeerError);
  });
});
