/**
 * ChaCha20-Poly1305 wrapper (libsodium): round trips at many sizes, agreement with two independent
 * implementations (node:crypto/OpenSSL and @noble/ciphers), every tamper refused with the one
 * DECRYPT_FAILED error, typed length errors. Published vectors: test/vectors/ (RFC 8439, Wycheproof).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { aeadOpen, aeadSeal, AEAD_KEY_LENGTH, AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH } from '../../src/crypto/aead.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { concatBytes, utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { CryptoError } from '../../src/lib/errors.ts';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof Error);
    return (e as { code?: string }).code ?? e.message;
  }
  return 'ok';
}

const rng = deterministicRng(utf8('compeer/test/aead'), sha256);

function opensslSeal(key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, ad: Uint8Array): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_LENGTH });
  c.setAAD(ad, { plaintextLength: pt.length });
  return concatBytes(c.update(pt), c.final(), c.getAuthTag());
}

describe('ChaCha20-Poly1305 wrapper', () => {
  test('round trip and agreement with node:crypto and @noble/ciphers at boundary sizes', () => {
    for (const n of [0, 1, 15, 16, 17, 63, 64, 65, 1024, 4097]) {
      const key = rng.bytes(AEAD_KEY_LENGTH);
      const nonce = rng.bytes(AEAD_NONCE_LENGTH);
      const pt = rng.bytes(n);
      const ad = rng.bytes(n % 37);
      const sealed = aeadSeal(key, nonce, pt, ad);
      assert.equal(sealed.length, n + AEAD_TAG_LENGTH);
      assert.deepEqual(aeadOpen(key, nonce, sealed, ad), pt, `size ${n}`);
      assert.deepEqual(sealed, opensslSeal(key, nonce, pt, ad), `node:crypto, size ${n}`);
      assert.deepEqual(sealed, chacha20poly1305(key, nonce, ad).encrypt(pt), `noble, size ${n}`);
    }
  });

  test('any change to key, nonce, associated data, ciphertext or tag is DECRYPT_FAILED', () => {
    const key = rng.bytes(32);
    const nonce = rng.bytes(12);
    const ad = utf8('alice->bob');
    const sealed = aeadSeal(key, nonce, utf8('hello'), ad);
    const flip = (b: Uint8Array, i: number) => {
      const c = b.slice();
      c[i] = (c[i] as number) ^ 1;
      return c;
    };
    for (let i = 0; i < sealed.length; i++) {
      assert.equal(codeOf(() => aeadOpen(key, nonce, flip(sealed, i), ad)), 'DECRYPT_FAILED', `byte ${i}`);
    }
    assert.equal(codeOf(() => aeadOpen(flip(key, 0), nonce, sealed, ad)), 'DECRYPT_FAILED');
    assert.equal(codeOf(() => aeadOpen(key, flip(nonce, 11), sealed, ad)), 'DECRYPT_FAILED');
    assert.equal(codeOf(() => aeadOpen(key, nonce, sealed, flip(ad, 0))), 'DECRYPT_FAILED');
    assert.equal(codeOf(() => aeadOpen(key, nonce, sealed, new Uint8Array(0))), 'DECRYPT_FAILED');
    assert.equal(codeOf(() => aeadOpen(key, nonce, sealed.subarray(0, sealed.length - 1), ad)), 'DECRYPT_FAILED');
    assert.throws(() => aeadOpen(key, nonce, flip(sealed, 0), ad), CryptoError);
  });

  test('ciphertexts shorter than the tag are DECRYPT_FAILED (not a crash)', () => {
    for (const n of [0, 1, 15]) {
      assert.equal(codeOf(() => aeadOpen(rng.bytes(32), rng.bytes(12), new Uint8Array(n), new Uint8Array(0))), 'DECRYPT_FAILED');
    }
  });

  test('the failure message says nothing about why (no oracle)', () => {
    const key = rng.bytes(32);
    const nonce = rng.bytes(12);
    const sealed = aeadSeal(key, nonce, utf8('x'), new Uint8Array(0));
    sealed[0] = (sealed[0] as number) ^ 1;
    assert.throws(() => aeadOpen(key, nonce, sealed, new Uint8Array(0)), { message: 'AEAD: authentication failed' });
  });

  test('wrong key or nonce lengths are INVALID_LENGTH', () => {
    for (const n of [0, 16, 31, 33]) {
      assert.equal(codeOf(() => aeadSeal(new Uint8Array(n), new Uint8Array(12), new Uint8Array(1), new Uint8Array(0))), 'INVALID_LENGTH');
      assert.equal(codeOf(() => aeadOpen(new Uint8Array(n), new Uint8Array(12), new Uint8Array(17), new Uint8Array(0))), 'INVALID_LENGTH');
    }
    for (const n of [0, 8, 11, 13, 24]) {
      assert.equal(codeOf(() => aeadSeal(new Uint8Array(32), new Uint8Array(n), new Uint8Array(1), new Uint8Array(0))), 'INVALID_LENGTH');
      assert.equal(codeOf(() => aeadOpen(new Uint8Array(32), new Uint8Array(n), new Uint8Array(17), new Uint8Array(0))), 'INVALID_LENGTH');
    }
  });

  test('inputs are not modified', () => {
    const key = rng.bytes(32);
    const nonce = rng.bytes(12);
    const pt = rng.bytes(100);
    const ad = rng.bytes(10);
    const copies = [key, nonce, pt, ad].map((b) => b.slice());
    const sealed = aeadSeal(key, nonce, pt, ad);
    const sealedCopy = sealed.slice();
    aeadOpen(key, nonce, sealed, ad);
    assert.deepEqual([key, nonce, pt, ad], copies);
    assert.deepEqual(sealed, sealedCopy);
  });
});
