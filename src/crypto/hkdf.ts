/**
 * HKDF-SHA256 (RFC 5869) on @noble/hashes (see hash.ts for why not node:crypto).
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assertInteger } from '../lib/assert.ts';

/** RFC 5869 §2.3: L <= 255 * HashLen. An empty salt means HashLen zero bytes (§2.2). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, length: number): Uint8Array {
  assertInteger(length, 'HKDF output length', 1, 255 * 32);
  return hkdf(sha256, ikm, salt, info, length);
}
