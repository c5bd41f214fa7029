/**
 * Ed25519 wrapper: sign/verify round trips, tampering, S malleability (RFC 8032 §5.1.7 S < L), the
 * import policy's typed errors, reproducible deterministic keys, and that seeds never print.
 * Published vectors are in test/vectors/ (RFC 8032, Wycheproof, CCTV).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '../../src/crypto/hash.ts';
import {
  ed25519AssertValid,
  ed25519FromSeed,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  generateEd25519,
} from '../../src/crypto/ed25519.ts';
import { concatBytes, toHex, utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { systemRng } from '../../src/lib/system.ts';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof Error);
    return (e as { code?: string }).code ?? e.message;
  }
  return 'ok';
}

const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const rngFor = (label: string) => deterministicRng(utf8(`compeer/test/ed25519/${label}`), sha256);
const message = utf8('compeer ed25519 unit test');

/** S + L written back into the signature: the same point equation, a different encoding. */
function withSPlusL(sig: Uint8Array): Uint8Array {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i] as number);
  s += L;
  const out = sig.slice();
  for (let i = 32; i < 64; i++) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

describe('Ed25519 wrapper', () => {
  test('sign then verify (system randomness)', () => {
    const k = generateEd25519(systemRng);
    const pub = ed25519PublicKey(k.publicKey);
    const sig = ed25519Sign(k, message);
    assert.equal(sig.length, 64);
    assert.equal(ed25519Verify(pub, message, sig), true);
    ed25519AssertValid(pub, message, sig, 'test record');
  });

  test('deterministicRng key generation is reproducible; signatures are deterministic', () => {
    const k1 = generateEd25519(rngFor('a'));
    const k2 = generateEd25519(rngFor('a'));
    assert.deepEqual(k1.publicKey, k2.publicKey);
    assert.deepEqual(new Uint8Array(k1.seed), rngFor('a').bytes(32));
    assert.deepEqual(ed25519Sign(k1, message), ed25519Sign(k2, message));
    assert.notDeepEqual(generateEd25519(rngFor('b')).publicKey, k1.publicKey);
  });

  test('ed25519FromSeed agrees with an independent implementation (@noble/curves)', () => {
    const seed = rngFor('noble').bytes(32);
    const k = ed25519FromSeed(seed);
    assert.deepEqual(k.publicKey, ed25519.getPublicKey(seed));
    assert.deepEqual(ed25519Sign(k, message), ed25519.sign(message, seed));
  });

  test('any flipped bit in message, signature or key fails verification', () => {
    const k = generateEd25519(rngFor('tamper'));
    const pub = ed25519PublicKey(k.publicKey);
    const sig = ed25519Sign(k, message);
    for (let i = 0; i < sig.length; i++) {
      const bad = sig.slice();
      bad[i] = (bad[i] as number) ^ 0x01;
      assert.equal(ed25519Verify(pub, message, bad), false, `sig byte ${i}`);
    }
    const badMsg = message.slice();
    badMsg[0] = (badMsg[0] as number) ^ 0x80;
    assert.equal(ed25519Verify(pub, badMsg, sig), false);
    const other = ed25519PublicKey(generateEd25519(rngFor('other')).publicKey);
    assert.equal(ed25519Verify(other, message, sig), false);
    assert.equal(codeOf(() => ed25519AssertValid(other, message, sig, 'bundle')), 'BAD_SIGNATURE');
  });

  test('malleability: S + L is refused (RFC 8032 §5.1.7 requires S < L)', () => {
    const k = generateEd25519(rngFor('malleable'));
    const sig = ed25519Sign(k, message);
    assert.equal(ed25519Verify(ed25519PublicKey(k.publicKey), message, withSPlusL(sig)), false);
  });

  test('wrong signature lengths verify false (no throw): truncated or with trailing bytes', () => {
    const k = generateEd25519(rngFor('len'));
    const pub = ed25519PublicKey(k.publicKey);
    const sig = ed25519Sign(k, message);
    assert.equal(ed25519Verify(pub, message, sig.subarray(0, 63)), false);
    assert.equal(ed25519Verify(pub, message, concatBytes(sig, Uint8Array.of(0))), false);
    assert.equal(ed25519Verify(pub, message, new Uint8Array(0)), false);
  });

  test('import policy: lengths are INVALID_LENGTH; bad encodings INVALID_KEY; small/mixed order WEAK_KEY', () => {
    for (const n of [0, 31, 33]) {
      assert.equal(codeOf(() => ed25519PublicKey(new Uint8Array(n))), 'INVALID_LENGTH', `public ${n}`);
      assert.equal(codeOf(() => ed25519FromSeed(new Uint8Array(n))), 'INVALID_LENGTH', `seed ${n}`);
    }
    const h = (x: string) => Uint8Array.from(Buffer.from(x, 'hex'));
    // Identity (order 1), and a point of order 8.
    assert.equal(codeOf(() => ed25519PublicKey(h('01' + '00'.repeat(31)))), 'WEAK_KEY');
    assert.equal(codeOf(() => ed25519PublicKey(h('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'))), 'WEAK_KEY');
    // y = p + 1: the identity again, non-canonically encoded.
    assert.equal(codeOf(() => ed25519PublicKey(h('ee' + 'ff'.repeat(30) + '7f'))), 'INVALID_KEY');
    // y = 2 is not on the curve (x^2 has no square root).
    assert.equal(codeOf(() => ed25519PublicKey(h('02' + '00'.repeat(31)))), 'INVALID_KEY');
    // Mixed order: an honest key plus a point of order 8.
    const honest = ed25519.Point.fromBytes(generateEd25519(rngFor('mixed')).publicKey);
    const torsion = ed25519.Point.fromBytes(h('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'));
    assert.equal(codeOf(() => ed25519PublicKey(honest.add(torsion).toBytes())), 'WEAK_KEY');
    assert.equal(codeOf(() => ed25519PublicKey(honest.toBytes())), 'ok');
  });

  test('differential: the fast key check (libsodium) classifies like a full @noble/curves check', () => {
    // Reference policy, all in noble: canonical encoding, on the curve, [L]A = O, not small order.
    const reference = (b: Uint8Array): string => {
      let p;
      try {
        p = ed25519.Point.fromBytes(b, false);
      } catch {
        return 'INVALID_KEY';
      }
      if (toHex(p.toBytes()) !== toHex(b)) return 'INVALID_KEY';
      return p.isSmallOrder() || !p.isTorsionFree() ? 'WEAK_KEY' : 'ok';
    };
    const rng = rngFor('differential');
    const torsion = ed25519.Point.fromBytes(Uint8Array.from(Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'hex')));
    const inputs: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const honest = ed25519.Point.fromBytes(ed25519.getPublicKey(rng.bytes(32)));
      inputs.push(honest.toBytes(), honest.add(torsion.multiply(BigInt(1 + (i % 7)))).toBytes(), rng.bytes(32));
    }
    // y = p + v (v < 19) with either sign bit: the only non-canonical y encodings.
    for (let v = 0; v < 19; v++) {
      for (const sign of [0, 0x80]) {
        const b = Uint8Array.from(Buffer.from('ed' + 'ff'.repeat(30) + '7f', 'hex'));
        b[0] = 0xed + v;
        b[31] = 0x7f | sign;
        inputs.push(b);
      }
    }
    const seen = new Set<string>();
    for (const b of inputs) {
      const want = reference(b);
      seen.add(want);
      assert.equal(codeOf(() => ed25519PublicKey(b)), want, toHex(b));
    }
    assert.deepEqual([...seen].sort(), ['INVALID_KEY', 'WEAK_KEY', 'ok']);
  });

  test('the seed never prints', () => {
    const k = generateEd25519(systemRng);
    assert.equal(inspect(k.seed), '[secret 32 bytes]');
    assert.ok(!inspect(k, { depth: 5 }).includes(toHex(k.seed)));
    assert.ok(!JSON.stringify({ seed: k.seed }).includes(toHex(k.seed).slice(0, 8)));
  });
});
