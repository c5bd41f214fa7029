/**
 * Fuzz of the identity encodings (src/protocol/identity.ts): the public identity is signed (binding
 * signature over the DH key), so no mutation of it decodes — including the classic malleation of the
 * signature (S + L); the secret encoding (from disk) decodes to a key pair that re-encodes to the same
 * bytes, or fails typed.
 */
import { describe, it } from 'node:test';
import { sha256 } from '../../src/crypto/hash.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { decodeIdentitySecret, decodePublicIdentity, encodeIdentitySecret, encodePublicIdentity, generateIdentity } from '../../src/protocol/identity.ts';
import { assertRejected, fuzzCodec } from './_fuzz.ts';

const rng = deterministicRng(sha256(utf8('compeer/fuzz/identity')), sha256);
const ids = [generateIdentity(rng), generateIdentity(rng)];

/** The order of Ed25519's base point; S + L (< 2^254, still 32 bytes) verifies in a lax implementation. */
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

function addL(sig: Uint8Array): Uint8Array {
  const out = sig.slice();
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i] as number);
  s += L;
  for (let i = 0; i < 32; i++) {
    out[32 + i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

describe('fuzz: identities (src/protocol/identity.ts)', () => {
  fuzzCodec(it, {
    name: 'public identity',
    decode: decodePublicIdentity,
    encode: encodePublicIdentity,
    samples: ids.map((i) => encodePublicIdentity(i.public)),
    authenticated: true,
    mutationRuns: 1200,
  });
  it('public identity: a malleated binding signature (S + L) is refused', () => {
    for (const id of ids) {
      const enc = encodePublicIdentity(id.public);
      const sig = addL(enc.subarray(65));
      const out = enc.slice();
      out.set(sig, 65);
      assertRejected('identity with S + L', () => decodePublicIdentity(out));
    }
  });
  fuzzCodec(it, {
    name: 'identity secret',
    decode: decodeIdentitySecret,
    encode: encodeIdentitySecret,
    samples: ids.map(encodeIdentitySecret),
    mutationRuns: 600,
    randomRuns: 150,
  });
});
