/**
 * HKDF-SHA256 (RFC 5869) on @noble/hashes (see hash.ts for why not node:crypto).
 */
import { expand, hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assertBytes, assertInteger } from '../lib/assert.ts';

/** RFC 5869 §2.3: L <= 255 * HashLen. An empty salt means HashLen zero bytes (§2.2). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, length: number): Uint8Array {
  assertInteger(length, 'HKDF output length', 1, 255 * 32);
  return hkdf(sha256, ikm, salt, info, length);
}

/**
 * RFC 5869 §2.3 HKDF-Expand alone, for a PRK that is already a uniformly random key of HashLen bytes
 * (RFC 5869 §3.3: the extract step may then be skipped) — e.g. a ratchet message key.
 */
export function hkdfSha256Expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  assertBytes(prk, 'HKDF PRK', 32);
  assertInteger(length, 'HKDF output length', 1, 255 * 32);
  return expand(sha256, prk, info, length);
}
