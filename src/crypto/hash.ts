/**
 * SHA-256 / SHA-512 and HMAC-SHA256 on @noble/hashes: for the small inputs of key derivation, pure JS is
 * 3x faster than node:crypto's per-call overhead (docs/crypto-primitives.md). SHA-2 and HMAC are
 * data-independent in their control flow and memory access, so running them in JS on secret chain
 * keys does not add timing channels beyond the platform's.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

export function sha512(data: Uint8Array): Uint8Array {
  return nobleSha512(data);
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(nobleSha256, key, data);
}
