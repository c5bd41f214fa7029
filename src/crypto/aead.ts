/**
 * ChaCha20-Poly1305 (RFC 8439, IETF variant: 96-bit nonce, 128-bit tag) on libsodium (WebAssembly).
 * Chosen by measurement (docs/crypto-primitives.md): for 1 KiB messages libsodium is ~4x faster than
 * node:crypto's per-call overhead and ~2.5x faster than pure JS, and it is libsodium's audited C code.
 * Decryption failure is a single typed error with no detail (no oracle on why).
 */
import sodium from 'libsodium-wrappers';
import { assertBytes } from '../lib/assert.ts';
import { CryptoError, ErrorCodes } from '../lib/errors.ts';

await sodium.ready;

export const AEAD_KEY_LENGTH = 32;
export const AEAD_NONCE_LENGTH = 12;
export const AEAD_TAG_LENGTH = 16;

export function aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  assertBytes(key, 'AEAD key', AEAD_KEY_LENGTH);
  assertBytes(nonce, 'AEAD nonce', AEAD_NONCE_LENGTH);
  return sodium.crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key);
}

export function aeadOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array {
  assertBytes(key, 'AEAD key', AEAD_KEY_LENGTH);
  assertBytes(nonce, 'AEAD nonce', AEAD_NONCE_LENGTH);
  if (ciphertext.length < AEAD_TAG_LENGTH) {
    throw new CryptoError(ErrorCodes.DECRYPT_FAILED, 'AEAD: ciphertext shorter than the tag');
  }
  // libsodium-wrappers reports a failed tag by throwing an Error; its stack trace is most of the cost
  // of a failure (measured: 16 µs → 7 µs without it), which trial decryption of ratchet headers pays.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let plain: Uint8Array | undefined;
  try {
    plain = sodium.crypto_aead_chacha20poly1305_ietf_decrypt(null, ciphertext, ad, nonce, key);
  } catch {
    plain = undefined;
  } finally {
    Error.stackTraceLimit = limit;
  }
  if (plain === undefined) throw new CryptoError(ErrorCodes.DECRYPT_FAILED, 'AEAD: authentication failed');
  return plain;
}
