/**
 * Fuzz of verification input (src/protocol/verify/): SAS messages (the codec and the state machine
 * fed random and mutated messages — a mutated reveal never completes a verification), and the
 * scannable fingerprint a camera reads (only the canonical encoding decodes; a mutated code never
 * matches).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sha256 } from '../../src/crypto/hash.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { decodeSasMessage, encodeSasMessage, SasVerification, type SasContext } from '../../src/protocol/verify/sas.ts';
import { compareScannable, decodeScannable, encodeScannable } from '../../src/protocol/verify/fingerprint.ts';
import { SAS_MSG_COMMIT, SAS_MSG_NONCE, SAS_MSG_REVEAL } from '../../src/protocol/wire/constants.ts';
import { attempt, bytesArb, fuzzCodec, mutateAll, mutationsArb, params, sameBytes } from './_fuzz.ts';

const rng = deterministicRng(sha256(utf8('compeer/fuzz/verify')), sha256);
const alice = generateIdentity(rng).public;
const bob = generateIdentity(rng).public;
const transcriptHash = rng.bytes(32);
const ctxA: SasContext = { self: alice, peer: bob, transcriptHash };
const ctxB: SasContext = { self: bob, peer: alice, transcriptHash };

describe('fuzz: SAS (src/protocol/verify/sas.ts)', () => {
  fuzzCodec(it, {
    name: 'SAS message',
    decode: decodeSasMessage,
    encode: encodeSasMessage,
    samples: ([SAS_MSG_COMMIT, SAS_MSG_NONCE, SAS_MSG_REVEAL] as const).map((type) => encodeSasMessage({ type, value: rng.bytes(32) })),
    mutationRuns: 800,
  });

  it('the state machine: random or mutated messages at any step fail typed; a mutated reveal never completes', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 }), fc.boolean(), bytesArb(64), mutationsArb, (step, random, junk, ms) => {
        const { verification: a, message: commit } = SasVerification.initiate(ctxA, rng);
        const b = SasVerification.respond(ctxB, rng);
        // Run the honest exchange up to `step`, then hand the next receiver bad bytes.
        const honest: Uint8Array[] = [commit];
        const nonce = step >= 1 ? (b.receive(commit) as Uint8Array) : undefined;
        if (nonce) honest.push(nonce);
        const reveal = step >= 2 && nonce ? (a.receive(nonce) as Uint8Array) : undefined;
        if (reveal) honest.push(reveal);
        const receiver = step === 1 ? a : b;
        const original = honest[step] as Uint8Array;
        const bad = random ? junk : mutateAll(original, ms);
        if (sameBytes(bad, original)) return;
        const r = attempt('SAS receive', () => receiver.receive(bad));
        if (step === 2) {
          assert.ok(!r.ok, 'a mutated or random reveal is refused');
          assert.equal(receiver.phase, 'failed');
        }
        if (!r.ok) assert.equal(receiver.phase, 'failed', 'a refused message fails the verification');
      }),
      params(300),
    );
  });
});

describe('fuzz: scannable fingerprints (src/protocol/verify/fingerprint.ts)', () => {
  const local = rng.bytes(32);
  const remote = rng.bytes(32);
  const ours = encodeScannable(2, local, remote);
  const theirs = encodeScannable(2, remote, local);
  fuzzCodec(it, {
    name: 'scannable fingerprint',
    decode: decodeScannable,
    encode: (v) => encodeScannable(v.version, v.local, v.remote),
    samples: [ours, theirs, encodeScannable(0, local, local), encodeScannable(127, remote, remote)],
    mutationRuns: 800,
  });
  it('a mutated scannable code never matches', () => {
    assert.equal(compareScannable(ours, theirs), true);
    fc.assert(
      fc.property(mutationsArb, (ms) => {
        const bad = mutateAll(theirs, ms);
        if (sameBytes(bad, theirs)) return;
        const r = attempt('compareScannable', () => compareScannable(ours, bad));
        assert.ok(!r.ok || r.value === false, 'a mutated code matched');
      }),
      params(400),
    );
  });
});
