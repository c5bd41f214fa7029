/**
 * The ChaCha20 stream cipher alone (RFC 8439 §2.4: 256-bit key, 96-bit nonce, 32-bit block counter), on
 * node:crypto (OpenSSL 3.5, native). For formats that need a bare keystream, such as the one an onion
 * sender XORs into the Sphinx filler (docs/onion.md "Building").
 *
 * Chosen by measurement on the onion's sizes (896 and 3,263 bytes; 2-core machine under load):
 * node:crypto 16 / 18 µs, @noble/ciphers (pure JS) 14 / 23 µs, libsodium-wrappers has no bare stream
 * in its default build. Per-call setup dominates; OpenSSL's internal brand checks throw and catch, and
 * capturing their stack traces doubled the cost (36 µs → 16 µs with capture off, as in x25519.ts).
 * No authentication here: a caller that does not MAC what it decrypts gets malleable plaintext.
 */
import { createCipheriv, createSecretKey } from 'node:crypto';
import { assertBytes, assertInteger } from '../lib/assert.ts';

export const CHACHA20_KEY_LENGTH = 32;
export const CHACHA20_NONCE_LENGTH = 12;

/**
 * `data` XOR ChaCha20(key, nonce) starting at block `counter` (RFC 8439 §2.4). Encryption and
 * decryption are the same operation; pass zeros to get the bare keystream. At most 2^32 - counter
 * blocks of 64 bytes.
 */
export function chacha20Xor(key: Uint8Array, nonce: Uint8Array, data: Uint8Array, counter = 0): Uint8Array {
  assertBytes(key, 'ChaCha20 key', CHACHA20_KEY_LENGTH);
  assertBytes(nonce, 'ChaCha20 nonce', CHACHA20_NONCE_LENGTH);
  assertInteger(counter, 'ChaCha20 counter', 0, 0xffffffff);
  assertInteger(data.length, 'ChaCha20 data length', 0, (0x1_0000_0000 - counter) * 64);
  // OpenSSL's "chacha20" IV is the RFC 8439 §2.3 state words 12..15: counter (32-bit little-endian) | nonce.
  const iv = new Uint8Array(16);
  new DataView(iv.buffer).setUint32(0, counter, true);
  iv.set(nonce, 4);
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let out: Buffer;
  try {
    // A secret KeyObject, not the raw bytes: for raw bytes node:crypto first tries (and fails) the
    // KeyObject and CryptoKey brand checks, two internal throws per call (~3 µs of a 4 KiB stream,
    // measured). createSecretKey takes bytes only and checks nothing. ChaCha20 has no final block: final()
    // is skipped, update() returned every byte.
    const cipher = createCipheriv('chacha20', createSecretKey(key), iv);
    out = cipher.update(data);
  } finally {
    Error.stackTraceLimit = limit;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** The first `length` bytes of the ChaCha20 keystream for (key, nonce) from block 0. */
export function chacha20Keystream(key: Uint8Array, nonce: Uint8Array, length: number): Uint8Array {
  return chacha20Xor(key, nonce, new Uint8Array(length));
}
