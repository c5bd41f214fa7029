/**
 * RFC 8439 ChaCha20-Poly1305 AEAD: the §2.8.2 example and the §A.5 decryption vector, typed in from
 * the RFC text (https://www.rfc-editor.org/rfc/rfc8439).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { concatBytes, toHex, utf8 } from '../../src/lib/bytes.ts';
import { aeadOpen, aeadSeal } from '../../src/crypto/aead.ts';
import { hex, outcome } from './_data.ts';

describe('RFC 8439 §2.8.2 AEAD example', () => {
  const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
  const nonce = hex('070000004041424344454647');
  const ad = hex('50515253c0c1c2c3c4c5c6c7');
  const plaintext = utf8(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const ciphertext =
    'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116';
  const tag = '1ae10b594f09e26a7e902ecbd0600691';

  test('seal gives ciphertext || tag', () => {
    assert.equal(plaintext.length, 114);
    assert.equal(toHex(aeadSeal(key, nonce, plaintext, ad)), ciphertext + tag);
  });

  test('open recovers the plaintext; a changed AD is refused', () => {
    assert.deepEqual(aeadOpen(key, nonce, hex(ciphertext + tag), ad), plaintext);
    const otherAd = concatBytes(ad, Uint8Array.of(0));
    assert.equal(outcome(() => aeadOpen(key, nonce, hex(ciphertext + tag), otherAd)), 'DECRYPT_FAILED');
  });
});

describe('RFC 8439 §A.5 ChaCha20-Poly1305 AEAD decryption', () => {
  const key = hex('1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0');
  const nonce = hex('000000000102030405060708');
  const ad = hex('f33388860000000000004e91');
  const ciphertext =
    '64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c8559797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a1049e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29a6ad5cb4022b02709b';
  const tag = 'eead9d67890cbb22392336fea1851f38';
  // The RFC prints the plaintext with typographic quotes (U+201C, U+201D) after the slashes.
  const plaintext = utf8(
    'Internet-Drafts are draft documents valid for a maximum of six months and may be updated, replaced, ' +
      'or obsoleted by other documents at any time. It is inappropriate to use Internet-Drafts as reference ' +
      'material or to cite them other than as /\u201cwork in progress./\u201d',
  );

  test('decrypts to the RFC plaintext', () => {
    assert.equal(plaintext.length, 265);
    assert.deepEqual(aeadOpen(key, nonce, hex(ciphertext + tag), ad), plaintext);
  });

  test('and sealing the plaintext gives the same bytes back', () => {
    assert.equal(toHex(aeadSeal(key, nonce, plaintext, ad)), ciphertext + tag);
  });
});
