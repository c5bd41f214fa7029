/**
 * Fuzz of what a node reads back from its own store beyond sealed values (store-seal.test.ts): a value
 * kept over several meta values (src/node/meta-chunks.ts). Chunk lists that are mutated, cut, reordered,
 * repeated or mixed with another value's chunks join to a value no longer than their bodies, or fail
 * typed; reordering alone never changes the value.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sha256 } from '../../src/crypto/hash.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { CHUNK_HEADER_BYTES, joinChunks, splitChunks } from '../../src/node/meta-chunks.ts';
import { attempt, bytesArb, mutateAll, mutationsArb, params, sameBytes } from './_fuzz.ts';

const rng = deterministicRng(sha256(utf8('compeer/fuzz/node-disk')), sha256);

describe('fuzz: values over several meta values (src/node/meta-chunks.ts)', () => {
  const value = rng.bytes(1000);
  const chunks = splitChunks(value, rng.bytes(8), 120);
  const other = splitChunks(rng.bytes(500), rng.bytes(8), 120);

  it('reordered chunks join to the same value', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(chunks, { minLength: chunks.length, maxLength: chunks.length }), (shuffled) => {
        assert.ok(sameBytes(joinChunks(shuffled), value));
      }),
      params(200),
    );
  });

  it('mutated, cut, repeated, random or mixed chunk lists join to a bounded value or fail typed', () => {
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('mutate' as const), i: fc.nat(), ms: mutationsArb }),
      fc.record({ kind: fc.constant('drop' as const), i: fc.nat() }),
      fc.record({ kind: fc.constant('repeat' as const), i: fc.nat() }),
      fc.record({ kind: fc.constant('other' as const), i: fc.nat() }),
      fc.record({ kind: fc.constant('random' as const), b: bytesArb(200) }),
    );
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let list = [...chunks];
        for (const e of edits) {
          const at = list.length === 0 ? 0 : (e.kind === 'random' ? 0 : e.i) % list.length;
          if (e.kind === 'mutate' && list.length > 0) list[at] = mutateAll(list[at] as Uint8Array, e.ms);
          else if (e.kind === 'drop') list.splice(at, 1);
          else if (e.kind === 'repeat' && list.length > 0) list.push(list[at] as Uint8Array);
          else if (e.kind === 'other') list = [...list, other[e.i % other.length] as Uint8Array];
          else if (e.kind === 'random') list.push(e.b);
        }
        const r = attempt('joinChunks', () => joinChunks(list));
        if (r.ok) assert.ok(r.value.length <= list.reduce((n, c) => n + Math.max(0, c.length - CHUNK_HEADER_BYTES), 0), 'no longer than the chunk bodies');
      }),
      params(1000),
    );
  });
});
