/**
 * ML-KEM-768 wrapper: round trips on both encapsulation paths (OpenSSL with system randomness,
 * @noble/post-quantum with a deterministic Rng) decapsulating in OpenSSL, reproducible deterministic
 * keys, implicit rejection, typed length errors, and that seeds and shared secrets never print.
 * Published vectors are in test/vectors/mlkem768.test.ts (Wycheproof, CCTV).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { sha256 } from '../../src/crypto/hash.ts';
import {
  generateMlKem768,
  mlKem768Decapsulate,
  mlKem768Encapsulate,
  mlKem768FromSeed,
  mlKem768PublicKey,
  MLKEM768_CIPHERTEXT_LENGTH,
  MLKEM768_PUBLIC_KEY_LENGTH,
  MLKEM_SHARED_SECRET_LENGTH,
} from '../../src/crypto/mlkem768.ts';
import { toHex, utf8 } from '../../src/lib/bytes.ts';
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

const rngFor = (label: string) => deterministicRng(utf8(`compeer/test/mlkem768/${label}`), sha256);

describe('ML-KEM-768 wrapper', () => {
  test('system randomness: OpenSSL encapsulation decapsulates to the same secret', () => {
    const k = generateMlKem768(systemRng);
    assert.equal(k.publicKey.length, MLKEM768_PUBLIC_KEY_LENGTH);
    const { ciphertext, sharedSecret } = mlKem768Encapsulate(mlKem768PublicKey(k.publicKey), systemRng);
    assert.equal(ciphertext.length, MLKEM768_CIPHERTEXT_LENGTH);
    assert.equal(sharedSecret.length, MLKEM_SHARED_SECRET_LENGTH);
    assert.deepEqual(new Uint8Array(mlKem768Decapsulate(k, ciphertext)), new Uint8Array(sharedSecret));
  });

  test('deterministic (noble) encapsulation decapsulates in OpenSSL to the same secret', () => {
    for (const label of ['a', 'b', 'c']) {
      const k = generateMlKem768(rngFor(`key-${label}`));
      const pub = mlKem768PublicKey(k.publicKey);
      const enc = mlKem768Encapsulate(pub, rngFor(`enc-${label}`));
      assert.deepEqual(new Uint8Array(mlKem768Decapsulate(k, enc.ciphertext)), new Uint8Array(enc.sharedSecret));
      // And the same m gives the same ciphertext: recorded vectors stay stable.
      assert.deepEqual(mlKem768Encapsulate(pub, rngFor(`enc-${label}`)).ciphertext, enc.ciphertext);
    }
  });

  test('deterministicRng key generation is reproducible and matches noble keygen from the same seed', () => {
    const k1 = generateMlKem768(rngFor('repro'));
    const k2 = generateMlKem768(rngFor('repro'));
    assert.deepEqual(k1.publicKey, k2.publicKey);
    const seed = rngFor('repro').bytes(64);
    assert.deepEqual(new Uint8Array(k1.seed), seed);
    assert.deepEqual(k1.publicKey, ml_kem768.keygen(seed).publicKey);
    assert.notDeepEqual(generateMlKem768(rngFor('other')).publicKey, k1.publicKey);
  });

  test('mlKem768FromSeed round-trips a system-generated key', () => {
    const k = generateMlKem768(systemRng);
    const again = mlKem768FromSeed(k.seed);
    assert.deepEqual(again.publicKey, k.publicKey);
    const { ciphertext, sharedSecret } = mlKem768Encapsulate(mlKem768PublicKey(k.publicKey), systemRng);
    assert.deepEqual(new Uint8Array(mlKem768Decapsulate(again, ciphertext)), new Uint8Array(sharedSecret));
  });

  test('implicit rejection: a changed ciphertext gives a different secret, not an error (FIPS 203 §7.3)', () => {
    const k = generateMlKem768(rngFor('reject'));
    const { ciphertext, sharedSecret } = mlKem768Encapsulate(mlKem768PublicKey(k.publicKey), rngFor('reject-m'));
    const bad = ciphertext.slice();
    bad[100] = (bad[100] as number) ^ 1;
    const rejected = mlKem768Decapsulate(k, bad);
    assert.equal(rejected.length, 32);
    assert.notDeepEqual(new Uint8Array(rejected), new Uint8Array(sharedSecret));
    // Deterministic: the rejection key depends only on z and the ciphertext.
    assert.deepEqual(new Uint8Array(mlKem768Decapsulate(k, bad)), new Uint8Array(rejected));
  });

  test('wrong lengths are INVALID_LENGTH; an unreduced coefficient is INVALID_KEY', () => {
    const k = generateMlKem768(rngFor('len'));
    for (const n of [0, MLKEM768_PUBLIC_KEY_LENGTH - 1, MLKEM768_PUBLIC_KEY_LENGTH + 1, 1568]) {
      assert.equal(codeOf(() => mlKem768PublicKey(new Uint8Array(n))), 'INVALID_LENGTH', `public ${n}`);
    }
    for (const n of [0, 32, 63, 65, 2400]) {
      assert.equal(codeOf(() => mlKem768FromSeed(new Uint8Array(n))), 'INVALID_LENGTH', `seed ${n}`);
    }
    for (const n of [0, MLKEM768_CIPHERTEXT_LENGTH - 1, MLKEM768_CIPHERTEXT_LENGTH + 1]) {
      assert.equal(codeOf(() => mlKem768Decapsulate(k, new Uint8Array(n))), 'INVALID_LENGTH', `ciphertext ${n}`);
    }
    // First coefficient set to 4095 (> q = 3329): ByteEncode12 puts its low 8 bits in byte 0 and its
    // high 4 bits in the low nibble of byte 1.
    const unreduced = k.publicKey.slice();
    unreduced[0] = 0xff;
    unreduced[1] = (unreduced[1] as number) | 0x0f;
    assert.equal(codeOf(() => mlKem768PublicKey(unreduced)), 'INVALID_KEY');
  });

  test('the seed and shared secrets never print', () => {
    const k = generateMlKem768(systemRng);
    const { sharedSecret } = mlKem768Encapsulate(mlKem768PublicKey(k.publicKey), systemRng);
    assert.equal(inspect(k.seed), '[secret 64 bytes]');
    assert.equal(inspect(sharedSecret), '[secret 32 bytes]');
    assert.ok(!inspect(k, { depth: 5 }).includes(toHex(k.seed).slice(0, 16)));
    assert.equal(JSON.stringify({ s: sharedSecret }), '{"s":"[secret 32 bytes]"}');
  });
});
