/**
 * crypto/aead.ts runs ChaCha20-Poly1305 on libsodium below AEAD_NODE_MIN_LENGTH bytes of input and on
 * node:crypto from there on: both implementations give the same bytes on the same inputs around the
 * threshold (and at the 64 KiB of a padded envelope body), open each other's output, refuse the same
 * tampering; the exported functions pick the path by size and keep their contract on either side.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { AEAD_BACKENDS, AEAD_NODE_MIN_LENGTH, AEAD_TAG_LENGTH, aeadOpen, aeadSeal, aeadSealInto, aeadTryOpen } from '../../src/crypto/aead.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';

const rng = deterministicRng(utf8('compeer/test/aead-paths'), sha256);
const { sodium, node } = AEAD_BACKENDS;
const T = AEAD_NODE_MIN_LENGTH;

function sealWith(b: typeof sodium, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + AEAD_TAG_LENGTH);
  b.sealInto(key, nonce, plaintext, ad, out, 0);
  return out;
}

describe('ChaCha20-Poly1305: libsodium and node:crypto agree', () => {
  test('same sealed bytes, each opens the other, at and around the threshold and at 64 KiB', () => {
    for (const n of [0, 1, 1024, T - AEAD_TAG_LENGTH - 1, T - AEAD_TAG_LENGTH, T - 1, T, T + 1, 65_536, 65_536 + 100]) {
      const key = rng.bytes(32);
      const nonce = rng.bytes(12);
      const ad = rng.bytes(n % 97);
      const plaintext = rng.bytes(n);
      const a = sealWith(sodium, key, nonce, plaintext, ad);
      const b = sealWith(node, key, nonce, plaintext, ad);
      assert.deepEqual(a, b, `seal ${n}`);
      assert.deepEqual(aeadSeal(key, nonce, plaintext, ad), a, `aeadSeal ${n}`);
      assert.deepEqual(sodium.tryOpen(key, nonce, b, ad), plaintext, `sodium opens ${n}`);
      assert.deepEqual(node.tryOpen(key, nonce, a, ad), plaintext, `node opens ${n}`);
      assert.deepEqual(aeadOpen(key, nonce, a, ad), plaintext, `aeadOpen ${n}`);
    }
  });

  test('both refuse a flipped bit in the body, the tag, the AD, the nonce or the key (null, no throw)', () => {
    const key = rng.bytes(32);
    const nonce = rng.bytes(12);
    const ad = rng.bytes(40);
    const plaintext = rng.bytes(T + 5);
    const sealed = aeadSeal(key, nonce, plaintext, ad);
    const flip = (x: Uint8Array, i: number): Uint8Array => {
      const c = Uint8Array.from(x);
      c[i] = (c[i] as number) ^ 1;
      return c;
    };
    for (const b of [sodium, node]) {
      assert.equal(b.tryOpen(key, nonce, flip(sealed, 0), ad), null);
      assert.equal(b.tryOpen(key, nonce, flip(sealed, T), ad), null);
      assert.equal(b.tryOpen(key, nonce, flip(sealed, sealed.length - 1), ad), null);
      assert.equal(b.tryOpen(key, nonce, sealed, flip(ad, 39)), null);
      assert.equal(b.tryOpen(key, flip(nonce, 0), sealed, ad), null);
      assert.equal(b.tryOpen(flip(key, 0), nonce, sealed, ad), null);
    }
    assert.equal(aeadTryOpen(key, nonce, flip(sealed, 7), ad), null);
    assert.throws(() => aeadOpen(key, nonce, flip(sealed, 7), ad), { code: 'DECRYPT_FAILED' });
  });

  test('aeadSealInto on the node:crypto path writes its bytes at the offset and nothing else', () => {
    const key = rng.bytes(32);
    const nonce = rng.bytes(12);
    const plaintext = rng.bytes(T + 3);
    const sealedLength = plaintext.length + AEAD_TAG_LENGTH;
    const out = new Uint8Array(9 + sealedLength + 4).fill(0xaa);
    aeadSealInto(key, nonce, plaintext, new Uint8Array(0), out, 9);
    assert.deepEqual(out.subarray(9, 9 + sealedLength), sealWith(sodium, key, nonce, plaintext, new Uint8Array(0)));
    assert.ok(out.subarray(0, 9).every((x) => x === 0xaa) && out.subarray(9 + sealedLength).every((x) => x === 0xaa));
  });

  test('an opened plaintext on the node:crypto path is a plain Uint8Array of its own length', () => {
    const key = rng.bytes(32);
    const nonce = rng.bytes(12);
    const plaintext = rng.bytes(T + 64);
    const opened = aeadOpen(key, nonce, aeadSeal(key, nonce, plaintext, new Uint8Array(0)), new Uint8Array(0));
    assert.equal(Object.getPrototypeOf(opened), Uint8Array.prototype);
    assert.equal(opened.length, plaintext.length);
    assert.deepEqual(opened, plaintext);
  });
});
