/**
 * Fuzz of values sealed at rest (src/store/seal.ts): random bytes and every mutation of a sealed value
 * (or of its label) are refused with a typed error — never opened, never a crash.
 */
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sha256 } from '../../src/crypto/hash.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { createSealer, sealLabel } from '../../src/store/seal.ts';
import { assertRejected, fuzzCodec, mutateAll, mutationsArb, params, sameBytes } from './_fuzz.ts';

const rng = deterministicRng(sha256(utf8('compeer/fuzz/seal')), sha256);
const sealer = createSealer(rng.bytes(32), rng);
const label = sealLabel('sessions', 'state', 'alice');

describe('fuzz: sealed values (src/store/seal.ts)', () => {
  const plaintexts = [new Uint8Array(0), utf8('x'), rng.bytes(1000)];
  fuzzCodec(it, { name: 'sealed value', decode: (b) => sealer.open(b, label), samples: plaintexts.map((p) => sealer.seal(p, label)), authenticated: true, mutationRuns: 2000 });
  it('sealed value: a mutated label (table, column, row) never opens', () => {
    const sealed = sealer.seal(utf8('secret'), label);
    fc.assert(
      fc.property(mutationsArb, (ms) => {
        const bad = mutateAll(label, ms);
        if (sameBytes(bad, label)) return;
        assertRejected('open under a mutated label', () => sealer.open(sealed, bad));
      }),
      params(300),
    );
  });
});
