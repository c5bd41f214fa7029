/**
 * Chunking and reassembly (src/routing/chunks.ts): the layout, the 64-chunk limit, malformed chunks,
 * duplicates, inconsistent counts, eviction, expiry, late duplicates after completion, and a property:
 * any permutation of a set's chunks with duplicates reassembles exactly once to the original.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CHUNK_HEADER_LENGTH, MAX_CHUNKS, chunkPayload, createReassembler, parseChunk } from '../../src/routing/chunks.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';

const rng = deterministicRng(utf8('compeer/test/chunks'), sha256);

function fakeClock(start = 1_000_000): { clock: () => number; advance: (ms: number) => void } {
  let now = start;
  return { clock: () => now, advance: (ms) => (now += ms) };
}

describe('chunkPayload', () => {
  it('lays out setId | index | count | data, each chunk within capacity, one set ID per payload', () => {
    const data = rng.bytes(250);
    const chunks = chunkPayload(data, 100, rng);
    assert.equal(chunks.length, 4, '82 data bytes per chunk: 82 + 82 + 82 + 4');
    assert.deepEqual(chunks.map((c) => c.length), [100, 100, 100, 22]);
    const setId = chunks[0]?.subarray(0, 16);
    chunks.forEach((c, i) => {
      assert.deepEqual(c.subarray(0, 16), setId);
      assert.equal(c[16], i);
      assert.equal(c[17], 4);
    });
    assert.deepEqual(Uint8Array.from(chunks.flatMap((c) => [...c.subarray(CHUNK_HEADER_LENGTH)])), data);
    const again = chunkPayload(data, 100, rng);
    assert.notDeepEqual(again[0]?.subarray(0, 16), setId, 'a fresh random set ID each time');
  });

  it('an empty payload is one chunk; exactly 64 chunks pass, 65 are a LimitError', () => {
    assert.deepEqual(chunkPayload(new Uint8Array(0), 40, rng).map((c) => c.length), [CHUNK_HEADER_LENGTH]);
    assert.equal(chunkPayload(new Uint8Array(MAX_CHUNKS * 10), 28, rng).length, 64);
    assert.throws(() => chunkPayload(new Uint8Array(MAX_CHUNKS * 10 + 1), 28, rng), (e: unknown) => e instanceof Error && e.name === 'LimitError' && /65 chunks/.test(e.message));
    assert.throws(() => chunkPayload(new Uint8Array(1), CHUNK_HEADER_LENGTH, rng), { code: 'INVALID_ARGUMENT' });
  });
});

describe('reassembler', () => {
  it('rejects malformed chunks with a DecodeError', () => {
    const r = createReassembler({ clock: fakeClock().clock });
    const bad = (c: Uint8Array): unknown => assert.throws(() => r.add(c), (e: unknown) => e instanceof Error && e.name === 'DecodeError');
    bad(new Uint8Array(17));
    const c = new Uint8Array(20);
    c[16] = 0;
    c[17] = 0;
    bad(c);
    c[17] = 65;
    bad(c);
    c[16] = 3;
    c[17] = 3;
    bad(c);
    assert.equal(r.pending(), 0);
    assert.throws(() => parseChunk(new Uint8Array(0)), { code: 'INVALID_LENGTH' });
  });

  it('returns the payload once; a duplicate before completion and a late one after are ignored', () => {
    const r = createReassembler({ clock: fakeClock().clock });
    const data = rng.bytes(300);
    const chunks = chunkPayload(data, 118, rng);
    assert.equal(r.add(chunks[0] as Uint8Array), undefined);
    assert.equal(r.add(chunks[0] as Uint8Array), undefined);
    assert.equal(r.add(chunks[1] as Uint8Array), undefined);
    assert.equal(r.pending(), 1);
    assert.deepEqual(r.add(chunks[2] as Uint8Array), data);
    assert.equal(r.pending(), 0);
    for (const c of chunks) assert.equal(r.add(c), undefined, 'a late duplicate does not start a new set');
    assert.equal(r.pending(), 0);
    const single = chunkPayload(utf8('hi'), 100, rng);
    assert.deepEqual(r.add(single[0] as Uint8Array), utf8('hi'));
    assert.equal(r.add(single[0] as Uint8Array), undefined);
  });

  it('does not keep references to the caller’s buffers', () => {
    const r = createReassembler({ clock: fakeClock().clock });
    const data = rng.bytes(100);
    const [a, b] = chunkPayload(data, 68, rng) as [Uint8Array, Uint8Array];
    r.add(a);
    a.fill(0xee, CHUNK_HEADER_LENGTH);
    assert.deepEqual(r.add(b), data);
  });

  it('a chunk whose count disagrees with its set drops the set (DecodeError)', () => {
    const r = createReassembler({ clock: fakeClock().clock });
    const chunks = chunkPayload(rng.bytes(200), 68, rng);
    r.add(chunks[0] as Uint8Array);
    const forged = Uint8Array.from(chunks[1] as Uint8Array);
    forged[17] = 5;
    assert.throws(() => r.add(forged), { code: 'MALFORMED_MESSAGE' });
    assert.equal(r.pending(), 0, 'set dropped');
    const one = Uint8Array.from(chunks[1] as Uint8Array);
    r.add(chunks[0] as Uint8Array);
    one[16] = 0;
    one[17] = 1;
    assert.throws(() => r.add(one), { code: 'MALFORMED_MESSAGE' }, 'a single-chunk claim against a pending set too');
  });

  it('sets expire ttlMs after their first chunk; a completed ID is remembered as long', () => {
    const t = fakeClock();
    const r = createReassembler({ clock: t.clock, ttlMs: 10_000 });
    const data = rng.bytes(100);
    const [a, b] = chunkPayload(data, 68, rng) as [Uint8Array, Uint8Array];
    r.add(a);
    t.advance(9_999);
    assert.equal(r.pending(), 1);
    t.advance(1);
    assert.equal(r.pending(), 0, 'expired');
    assert.equal(r.add(b), undefined, 'b now starts a new set: a is gone');
    assert.deepEqual(r.add(a), data);
    t.advance(9_999);
    assert.equal(r.add(a), undefined, 'still remembered as completed');
    t.advance(1);
    assert.equal(r.add(a), undefined, 'forgotten: a starts a new (incomplete) set');
    assert.equal(r.pending(), 1);
  });

  it('evicts the oldest incomplete set beyond maxSets or maxBytes', () => {
    const r = createReassembler({ clock: fakeClock().clock, maxSets: 3, maxBytes: 1000 });
    const sets = Array.from({ length: 4 }, () => chunkPayload(rng.bytes(100), 68, rng) as [Uint8Array, Uint8Array]);
    for (const s of sets) r.add(s[0]);
    assert.equal(r.pending(), 3);
    assert.equal(r.add(sets[0]?.[1] as Uint8Array), undefined, 'set 0 was evicted');
    assert.ok((r.add(sets[3]?.[1] as Uint8Array)?.length ?? 0) === 100, 'the newest survived');
    const big = createReassembler({ clock: fakeClock().clock, maxBytes: 250 });
    const p = chunkPayload(rng.bytes(600), 118, rng);
    const q = chunkPayload(rng.bytes(600), 118, rng);
    big.add(p[0] as Uint8Array);
    big.add(p[1] as Uint8Array);
    assert.equal(big.add(q[0] as Uint8Array), undefined);
    assert.equal(big.pending(), 1, '300 bytes > 250: the oldest set went');
  });

  it('property: any permutation of the chunks with duplicates reassembles exactly once, to the original', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: CHUNK_HEADER_LENGTH + 47, max: 600 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.array(fc.integer(), { minLength: 200, maxLength: 200 }),
        (data, capacity, dups, keys) => {
          const chunks = chunkPayload(data, capacity, rng);
          const stream = [...chunks, ...dups.map((d) => chunks[d % chunks.length] as Uint8Array)];
          const order = stream.map((c, i) => ({ c, k: keys[i % keys.length] as number, i })).sort((x, y) => x.k - y.k || x.i - y.i);
          const r = createReassembler({ clock: fakeClock().clock });
          const outs = order.map((x) => r.add(x.c)).filter((x) => x !== undefined);
          assert.equal(outs.length, 1);
          assert.deepEqual(outs[0], data);
          assert.equal(r.pending(), 0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
