/**
 * HKDF-SHA256 (RFC 5869) on libsodium's `crypto_kdf_hkdf_sha256_extract` / `_expand` (C compiled to
 * WebAssembly, called directly through _sodium.ts). Chosen by measurement (docs/crypto-primitives.md):
 * the ratchet's KDF_RK (32-byte IKM and salt, 96 bytes out) costs ~12.8 µs CPU here against ~23.8 µs
 * on hash.ts's JavaScript HMAC over _sha256.ts and ~40 µs for node:crypto's hkdfSync (2-core machine,
 * load ~3.5, medians of 30 interleaved rounds); a ping-pong message runs two of them.
 * Inputs are copied into the shared scratch region and every byte written there (IKM, salt, PRK,
 * info, output) is wiped before returning.
 */
import { assertBytes, assertInteger } from '../lib/assert.ts';
import { CryptoError, ErrorCodes } from '../lib/errors.ts';
import { lib, scratch } from './_sodium.ts';

const HASH_LEN = 32;

/** RFC 5869 §2.3 from a PRK already at `prk` in the heap; the output is copied out of the heap. */
function expandAt(prk: number, infoAt: number, info: Uint8Array, outAt: number, length: number): Uint8Array {
  const rc = lib._crypto_kdf_hkdf_sha256_expand(outAt, length, infoAt, info.length, prk);
  if (rc !== 0) throw new CryptoError(ErrorCodes.INTERNAL, 'HKDF: expand failed');
  return lib.HEAPU8.slice(outAt, outAt + length);
}

/** RFC 5869 §2.3: L <= 255 * HashLen. An absent or empty salt means HashLen zero bytes (§2.2). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, length: number): Uint8Array {
  assertInteger(length, 'HKDF output length', 1, 255 * HASH_LEN);
  assertBytes(ikm, 'HKDF input keying material');
  assertBytes(info, 'HKDF info');
  const s = salt ?? new Uint8Array(0);
  assertBytes(s, 'HKDF salt');
  // Layout: PRK (32) | salt | IKM | info | output. An empty salt is HMAC's all-zero key (§2.2).
  const prk = scratch(HASH_LEN + s.length + ikm.length + info.length + length);
  const saltAt = prk + HASH_LEN;
  const ikmAt = saltAt + s.length;
  const infoAt = ikmAt + ikm.length;
  const outAt = infoAt + info.length;
  try {
    const heap = lib.HEAPU8;
    heap.set(s, saltAt);
    heap.set(ikm, ikmAt);
    heap.set(info, infoAt);
    lib._crypto_kdf_hkdf_sha256_extract(prk, saltAt, s.length, ikmAt, ikm.length); // §2.2
    return expandAt(prk, infoAt, info, outAt, length);
  } finally {
    lib.HEAPU8.fill(0, prk, outAt + length);
  }
}

/**
 * RFC 5869 §2.3 HKDF-Expand alone, for a PRK that is already a uniformly random key of HashLen bytes
 * (RFC 5869 §3.3: the extract step may then be skipped) — e.g. a ratchet message key.
 */
export function hkdfSha256Expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  assertBytes(prk, 'HKDF PRK', HASH_LEN);
  assertInteger(length, 'HKDF output length', 1, 255 * HASH_LEN);
  assertBytes(info, 'HKDF info');
  const at = scratch(HASH_LEN + info.length + length);
  const infoAt = at + HASH_LEN;
  const outAt = infoAt + info.length;
  try {
    const heap = lib.HEAPU8;
    heap.set(prk, at);
    heap.set(info, infoAt);
    return expandAt(at, infoAt, info, outAt, length);
  } finally {
    lib.HEAPU8.fill(0, at, outAt + length);
  }
}
