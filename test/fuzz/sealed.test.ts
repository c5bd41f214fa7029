/**
 * Fuzz of sealed-sender envelopes (src/protocol/sealed/): random bytes of every size class and every
 * mutation of a real envelope (of each bucket size) are refused with a typed error — never opened;
 * unpad (run on authenticated plaintext) returns content that pads back to its input, or fails typed.
 */
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sha256 } from '../../src/crypto/hash.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { encodePublicIdentity, generateIdentity, type IdentityKeyPair, type PublicIdentity } from '../../src/protocol/identity.ts';
import { openEnvelope, sealEnvelope, SEALED_MIN_LENGTH, SEALED_OVERHEAD } from '../../src/protocol/sealed/envelope.ts';
import { SEALED_VERSION } from '../../src/protocol/wire/constants.ts';
import { pad, unpad } from '../../src/protocol/sealed/padding.ts';
import { assertRejected, attempt, fuzzCodec, mutateAll, mutationsArb, params, sameBytes } from './_fuzz.ts';

const rng = deterministicRng(sha256(utf8('compeer/fuzz/sealed')), sha256);
const alice = generateIdentity(rng);
const bob = generateIdentity(rng);

describe('fuzz: sealed envelopes (src/protocol/sealed/envelope.ts)', () => {
  const contents = [new Uint8Array(0), rng.bytes(255), rng.bytes(256), rng.bytes(3000)];
  fuzzCodec(it, {
    name: 'sealed envelope',
    decode: (b) => openEnvelope(bob, b),
    samples: contents.map((c) => sealEnvelope(alice, bob.public, c, rng)),
    authenticated: true,
    mutationRuns: 1600,
    randomRuns: 200,
    maxRandom: SEALED_MIN_LENGTH + 300,
  });
  it('sealed envelope: random bytes of a valid envelope size, behind the version byte, never open', () => {
    fc.assert(
      fc.property(fc.constantFrom(SEALED_OVERHEAD + 256, SEALED_OVERHEAD + 512, SEALED_OVERHEAD + 4096), fc.nat(), (size, seed) => {
        const b = deterministicRng(Uint8Array.of(seed & 0xff, seed >>> 8), sha256).bytes(size);
        b[0] = SEALED_VERSION;
        assertRejected('random envelope', () => openEnvelope(bob, b));
      }),
      params(200),
    );
  });
});

describe('fuzz: sealed envelopes with a forged sender block', () => {
  // Anyone can make c1 open (it is keyed by an ephemeral key the sender picks), so the sender identity
  // inside it is attacker-chosen bytes: sealed with Alice's real DH key but a mutated identity
  // encoding (another signing key, DH key or binding), the envelope must never open — as Alice or as
  // anyone else.
  it('sealed envelope: a mutated sender identity inside c1 never opens', () => {
    const real = encodePublicIdentity(alice.public);
    const other = generateIdentity(rng);
    fc.assert(
      fc.property(mutationsArb, fc.boolean(), (ms, otherDh) => {
        const forged = mutateAll(real, ms);
        // The version byte is not part of the identity object (the encoder writes it): compare the rest.
        if (forged.length !== real.length || sameBytes(forged.subarray(1), real.subarray(1))) return;
        const pub = { signingKey: forged.subarray(1, 33), dhKey: forged.subarray(33, 65), binding: forged.subarray(65) } as PublicIdentity;
        const sender: IdentityKeyPair = { ...(otherDh ? other : alice), public: pub };
        const r = attempt('sealEnvelope with a forged sender', () => sealEnvelope(sender, bob.public, utf8('forged'), rng));
        if (!r.ok) return; // a key our own encoder refuses
        assertRejected('openEnvelope of a forged sender', () => openEnvelope(bob, r.value));
      }),
      params(400),
    );
  });
});

describe('fuzz: padding (src/protocol/sealed/padding.ts)', () => {
  fuzzCodec(it, {
    name: 'unpad',
    decode: unpad,
    encode: pad,
    samples: [pad(new Uint8Array(0)), pad(rng.bytes(255)), pad(rng.bytes(256)), pad(rng.bytes(1000))],
    mutationRuns: 1600,
    maxRandom: 1100,
  });
});
