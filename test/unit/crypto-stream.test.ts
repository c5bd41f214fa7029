/**
 * ChaCha20 stream (src/crypto/stream.ts): the RFC 8439 §2.4.2 example, typed in from the RFC, and
 * agreement with @noble/ciphers (an independent pure-JS implementation) over random keys, nonces,
 * counters and lengths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chacha20 } from '@noble/ciphers/chacha.js';
import { fromHex, toHex, utf8 } from '../../src/lib/bytes.ts';
import { chacha20Keystream, chacha20Xor } from '../../src/crypto/stream.ts';
import { CompeerError } from '../../src/lib/errors.ts';

test('RFC 8439 §2.4.2: encryption example (counter 1)', () => {
  const key = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  const nonce = fromHex('000000000000004a00000000');
  const plaintext = utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const expected =
    '6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b' +
    'f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8' +
    '07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736' +
    '5af90bbf74a35be6b40b8eedf2785e42874d';
  const ct = chacha20Xor(key, nonce, plaintext, 1);
  assert.equal(toHex(ct), expected);
  assert.deepEqual(chacha20Xor(key, nonce, ct, 1), plaintext);
});

test('agrees with @noble/ciphers for any key, nonce, counter and length', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 12, maxLength: 12 }),
      fc.integer({ min: 0, max: 1000 }),
      fc.uint8Array({ maxLength: 5000 }),
      (key, nonce, counter, data) => {
        assert.equal(toHex(chacha20Xor(key, nonce, data, counter)), toHex(chacha20(key, nonce, data, undefined, counter)));
      },
    ),
    { numRuns: 200 },
  );
});

test('keystream is the XOR of zeros; wrong key or nonce lengths are typed errors', () => {
  const key = new Uint8Array(32).fill(7);
  const nonce = new Uint8Array(12);
  assert.deepEqual(chacha20Keystream(key, nonce, 100), chacha20Xor(key, nonce, new Uint8Array(100)));
  assert.equal(chacha20Keystream(key, nonce, 0).length, 0);
  assert.throws(() => chacha20Xor(new Uint8Array(31), nonce, new Uint8Array(1)), CompeerError);
  assert.throws(() => chacha20Xor(key, new Uint8Array(8), new Uint8Array(1)), CompeerError);
  assert.throws(() => chacha20Xor(key, nonce, new Uint8Array(65), 0xffffffff), CompeerError);
});
