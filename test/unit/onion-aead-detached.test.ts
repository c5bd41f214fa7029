/**
 * ChaCha20-Poly1305 with a detached tag on node:crypto (src/crypto/aead-detached.ts), the onion layer's
 * cipher: the RFC 8439 §2.8.2 example typed in from the RFC, agreement with @noble/ciphers (an
 * independent pure-JS implementation) for any key, nonce, AD and length, and refusal of every tampered
 * input (any bit of ciphertext, tag, AD, key or nonce) with the plaintext withheld.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { fromHex, toHex, utf8 } from '../../src/lib/bytes.ts';
import { aeadOpenDetached, aeadSealDetached } from '../../src/crypto/aead-detached.ts';
import { CompeerError } from '../../src/lib/errors.ts';

test('RFC 8439 §2.8.2: AEAD example', () => {
  const key = fromHex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
  const nonce = fromHex('070000004041424344454647');
  const ad = fromHex('50515253c0c1c2c3c4c5c6c7');
  const plaintext = utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const expected =
    'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6' +
    '3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36' +
    '92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc' +
    '3ff4def08e4b7a9de576d26586cec64b6116';
  const { ciphertext, tag } = aeadSealDetached(key, nonce, plaintext, ad);
  assert.equal(toHex(ciphertext), expected);
  assert.equal(toHex(tag), '1ae10b594f09e26a7e902ecbd0600691');
  assert.deepEqual(aeadOpenDetached(key, nonce, ciphertext, tag, ad), plaintext);
});

test('agrees with @noble/ciphers for any key, nonce, AD and length', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 12, maxLength: 12 }),
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ maxLength: 5000 }),
      (key, nonce, ad, plaintext) => {
        const { ciphertext, tag } = aeadSealDetached(key, nonce, plaintext, ad);
        assert.equal(toHex(ciphertext) + toHex(tag), toHex(chacha20poly1305(key, nonce, ad).encrypt(plaintext)));
        assert.deepEqual(aeadOpenDetached(key, nonce, ciphertext, tag, ad), plaintext);
      },
    ),
    { numRuns: 100 },
  );
});

test('a flipped bit in ciphertext, tag, AD, key or nonce is refused (undefined)', () => {
  const key = new Uint8Array(32).fill(7);
  const nonce = new Uint8Array(12).fill(9);
  const ad = utf8('header');
  const plaintext = new Uint8Array(300).fill(0x61);
  const sealed = aeadSealDetached(key, nonce, plaintext, ad);
  const flip = (b: Uint8Array, bit: number) => {
    const out = Uint8Array.from(b);
    out[bit >>> 3] = (out[bit >>> 3] as number) ^ (1 << (bit & 7));
    return out;
  };
  fc.assert(
    fc.property(fc.constantFrom('ciphertext', 'tag', 'ad', 'key', 'nonce'), fc.nat(), (what, n) => {
      const parts = { ciphertext: sealed.ciphertext, tag: sealed.tag, ad, key, nonce };
      const target = parts[what];
      const tampered = { ...parts, [what]: flip(target, n % (target.length * 8)) };
      assert.equal(aeadOpenDetached(tampered.key, tampered.nonce, tampered.ciphertext, tampered.tag, tampered.ad), undefined);
    }),
    { numRuns: 300 },
  );
  assert.equal(aeadOpenDetached(key, nonce, sealed.ciphertext.subarray(1), sealed.tag, ad), undefined);
});

test('wrong key, nonce or tag lengths are typed errors', () => {
  const nonce = new Uint8Array(12);
  const key = new Uint8Array(32);
  assert.throws(() => aeadSealDetached(new Uint8Array(31), nonce, new Uint8Array(1), new Uint8Array(0)), CompeerError);
  assert.throws(() => aeadSealDetached(key, new Uint8Array(8), new Uint8Array(1), new Uint8Array(0)), CompeerError);
  assert.throws(() => aeadOpenDetached(key, nonce, new Uint8Array(1), new Uint8Array(15), new Uint8Array(0)), CompeerError);
});
