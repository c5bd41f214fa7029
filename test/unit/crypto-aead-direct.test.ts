/**
 * crypto/aead.ts's direct calls into libsodium (one reused WebAssembly scratch region): results equal
 * OpenSSL's ChaCha20-Poly1305 across sizes, including ones that grow the region; aeadSealInto writes
 * exactly its bytes at the offset; aeadTryOpen returns null (no throw) on any tampering.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { aeadOpen, aeadSeal, aeadSealInto, aeadTryOpen, AEAD_TAG_LENGTH } from '../../src/crypto/aead.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';

const rng = deterministicRng(utf8('compeer/test/aead-direct'), sha256);

function openssl(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_LENGTH });
  c.setAAD(ad, { plaintextLength: plaintext.length });
  return new Uint8Array(Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]));
}

describe('ChaCha20-Poly1305 through the scratch region', () => {
  test('seal equals OpenSSL and open inverts it, small to large (region growth) and back', () => {
    for (const n of [0, 1, 40, 1024, 5000, 70_000, 300_000, 17]) {
      const key = rng.bytes(32);
      const nonce = rng.bytes(12);
      const ad = rng.bytes(n % 300);
      const plaintext = rng.bytes(n);
      const sealed = aeadSeal(key, nonce, plaintext, ad);
      assert.deepEqual(sealed, openssl(key, nonce, plaintext, ad), `seal ${n}`);
      assert.deepEqual(aeadOpen(key, nonce, sealed, ad), plaintext, `open ${n}`);
    }
  });

  test('aeadSealInto writes the sealed bytes at the offset and nothing else', () => {
    const key = rng.bytes(32);
    const nonce = rng.bytes(12);
    const plaintext = rng.bytes(100);
    const out = new Uint8Array(7 + 116 + 5).fill(0xaa);
    aeadSealInto(key, nonce, plaintext, new Uint8Array(0), out, 7);
    assert.deepEqual(out.subarray(7, 123), aeadSeal(key, nonce, plaintext, new Uint8Array(0)));
    assert.ok(out.subarray(0, 7).every((b) => b === 0xaa) && out.subarray(123).every((b) => b === 0xaa));
    assert.throws(() => aeadSealInto(key, nonce, plaintext, new Uint8Array(0), out, 13), { code: 'INVALID_ARGUMENT' });
  });

  test('aeadTryOpen: null for a flipped bit in ciphertext, tag, AD, nonce or key; a short input is null too', () => {
    const key = rng.bytes(32);
    const nonce = rng.bytes(12);
    const ad = rng.bytes(20);
    const plaintext = rng.bytes(40);
    const sealed = aeadSeal(key, nonce, plaintext, ad);
    assert.deepEqual(aeadTryOpen(key, nonce, sealed, ad), plaintext);
    const flip = (b: Uint8Array, i: number): Uint8Array => {
      const c = Uint8Array.from(b);
      c[i] = (c[i] as number) ^ 1;
      return c;
    };
    assert.equal(aeadTryOpen(key, nonce, flip(sealed, 3), ad), null);
    assert.equal(aeadTryOpen(key, nonce, flip(sealed, sealed.length - 1), ad), null);
    assert.equal(aeadTryOpen(key, nonce, sealed, flip(ad, 0)), null);
    assert.equal(aeadTryOpen(key, flip(nonce, 11), sealed, ad), null);
    assert.equal(aeadTryOpen(flip(key, 31), nonce, sealed, ad), null);
    assert.equal(aeadTryOpen(key, nonce, sealed.subarray(0, 15), ad), null);
    assert.throws(() => aeadOpen(key, nonce, flip(sealed, 0), ad), { code: 'DECRYPT_FAILED' });
  });
});
