/**
 * SHA-256 / SHA-512 on node:crypto's one-shot `hash()` and HMAC-SHA256 on @noble/hashes, each chosen by
 * measurement (docs/crypto-primitives.md): one-shot `hash()` beats pure JS at every size (64 B: 2.3 µs
 * vs 4.2 µs; 2.6 KiB: 4 µs vs 17 µs), while node's `createHmac` pays ~3x pure JS in per-call overhead
 * on the 32-byte inputs of chain-key steps. SHA-2 and HMAC are data-independent in their control flow
 * and memory access, so running HMAC in JS on secret chain keys adds no timing channel of its own.
 */
import { hash } from 'node:crypto';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

function digest(algorithm: 'sha256' | 'sha512', data: Uint8Array): Uint8Array {
  const out = hash(algorithm, data, 'buffer');
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

export function sha256(data: Uint8Array): Uint8Array {
  return digest('sha256', data);
}

export function sha512(data: Uint8Array): Uint8Array {
  return digest('sha512', data);
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(nobleSha256, key, data);
}
