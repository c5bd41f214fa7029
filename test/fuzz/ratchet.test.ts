/**
 * Fuzz of the Double Ratchet's input (src/protocol/ratchet/): message parsing, decryption of mutated
 * messages (every mutation refused, typed, with the state byte for byte as before — then the genuine
 * messages still decrypt), and the state codec read from disk (decodes and re-encodes to the same
 * bytes, or fails typed). Messages come from the real encoder (ratchetEncrypt) at the three places a
 * receiver meets them: the next in the chain, one that skips ahead, and the first of a new DH chain.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromUtf8, utf8 } from '../../src/lib/bytes.ts';
import { decodeRatchetState, encodeRatchetState, ratchetDecrypt, ratchetEncrypt, ratchetPruneExpired, type RatchetState } from '../../src/protocol/ratchet/index.ts';
import { parseRatchetMessage } from '../../src/protocol/ratchet/message.ts';
import { ratchetPair } from '../unit/ratchet-fixtures.ts';
import { assertRejected, attempt, bytesArb, fuzzCodec, hex, mutateAll, mutationsArb, params, sameBytes } from './_fuzz.ts';

const NOW = 1_750_000_000_000;

/** Alice sent a1..a3, Bob read a1 and answered, Alice read that and sent a4 (a new DH chain). */
function conversation(seed: string) {
  const p = ratchetPair(seed);
  const send = (s: RatchetState, t: string): Uint8Array => ratchetEncrypt(s, utf8(t), p.rng);
  const a1 = send(p.alice, 'a1');
  const a2 = send(p.alice, 'a2');
  const a3 = send(p.alice, 'a3 — a longer one '.repeat(20));
  assert.equal(fromUtf8(ratchetDecrypt(p.bob, a1, NOW)), 'a1');
  const b1 = send(p.bob, 'b1');
  assert.equal(fromUtf8(ratchetDecrypt(p.alice, b1, NOW)), 'b1');
  const a4 = send(p.alice, 'a4');
  return { ...p, a1, a2, a3, a4, b1 };
}

describe('fuzz: ratchet messages (src/protocol/ratchet/message.ts, ratchet.ts)', () => {
  const c = conversation('compeer/fuzz/ratchet');
  fuzzCodec(it, { name: 'ratchet message parse', decode: parseRatchetMessage, samples: [c.a1, c.a2, c.a3, c.a4], mutationRuns: 1000 });

  it('ratchet: random bytes and every mutation of a pending message are refused, typed, the state untouched; the genuine ones then decrypt', () => {
    const bob = c.bob;
    const before = encodeRatchetState(bob);
    const pending = [c.a2, c.a3, c.a4];
    fc.assert(
      fc.property(fc.nat({ max: pending.length - 1 }), mutationsArb, fc.boolean(), bytesArb(400), (i, ms, random, junk) => {
        const original = pending[i] as Uint8Array;
        const bad = random ? junk : mutateAll(original, ms);
        if (sameBytes(bad, original)) return;
        assertRejected(`ratchetDecrypt of ${hex(bad)}`, () => ratchetDecrypt(bob, bad, NOW));
        assert.ok(sameBytes(encodeRatchetState(bob), before), 'a refused message leaves the state as it was');
      }),
      params(600),
    );
    // Not corrupted: the genuine messages decrypt, in any order, and a repeat is refused.
    assert.equal(fromUtf8(ratchetDecrypt(bob, c.a4, NOW)), 'a4');
    assert.equal(fromUtf8(ratchetDecrypt(bob, c.a2, NOW)), 'a2');
    assert.match(fromUtf8(ratchetDecrypt(bob, c.a3, NOW)), /^a3/);
    assertRejected('a repeated message', () => ratchetDecrypt(bob, c.a2, NOW));
  });
});

describe('fuzz: ratchet state codec (src/protocol/ratchet/codec.ts)', () => {
  const c = conversation('compeer/fuzz/ratchet-state');
  // States of every kind: a fresh responder, a sender with skipped keys, after DH steps with old chains.
  const fresh = ratchetPair('compeer/fuzz/ratchet-state/fresh');
  const samples = [encodeRatchetState(fresh.alice), encodeRatchetState(fresh.bob), encodeRatchetState(c.alice), encodeRatchetState(c.bob)];
  ratchetDecrypt(c.bob, c.a4, NOW); // skips a2 and a3: skipped keys and an old chain
  samples.push(encodeRatchetState(c.bob));
  // A state that decodes is used: sending and receiving on it succeed or fail typed, never crash.
  const use = (s: RatchetState): void => {
    attempt('ratchetEncrypt on a decoded state', () => ratchetEncrypt(s, utf8('after restore'), c.rng));
    for (const m of [c.a2, c.a3, c.b1]) attempt('ratchetDecrypt on a decoded state', () => ratchetDecrypt(s, m, NOW));
    attempt('ratchetPruneExpired on a decoded state', () => ratchetPruneExpired(s, NOW + 365 * 86_400_000));
  };
  fuzzCodec(it, { name: 'ratchet state', decode: decodeRatchetState, encode: (s) => encodeRatchetState(s), samples, mutationRuns: 3000, maxRandom: 1200, extra: use });
});
