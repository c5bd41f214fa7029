/**
 * Folder-private: libsodium's WebAssembly module (libsodium-wrappers exposes it as `libsodium`), for
 * wrappers that call its exported C functions directly, as aead.ts does: the wrapper's JavaScript
 * layer allocates and frees heap blocks per call, which costs more than the short computations here.
 * One scratch region of the WebAssembly heap, grown (never shrunk) to the largest call, is shared by
 * the callers of this module: every call is synchronous, lays its inputs out from the region's start
 * and wipes what it wrote before returning, so calls cannot interleave and no secret outlives one.
 * This module knows nothing of what the functions are used for.
 */
import sodium from 'libsodium-wrappers';
import { CryptoError, ErrorCodes } from '../lib/errors.ts';

await sodium.ready;

/** The slice of the Emscripten module used through this file. size_t is one 32-bit argument;
 * unsigned long long arrives as (low, high) 32-bit halves. */
export interface SodiumModule {
  readonly HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  /** crypto_hash = SHA-512. */
  _crypto_hash(out: number, input: number, inlenLo: number, inlenHi: number): number;
  _crypto_kdf_hkdf_sha256_extract(prk: number, salt: number, saltLen: number, ikm: number, ikmLen: number): number;
  _crypto_kdf_hkdf_sha256_expand(out: number, outLen: number, ctx: number, ctxLen: number, prk: number): number;
  /** The streaming extract is HMAC-SHA256 keyed with the salt: init = key setup, update, final. */
  _crypto_kdf_hkdf_sha256_extract_init(state: number, salt: number, saltLen: number): number;
  _crypto_kdf_hkdf_sha256_extract_update(state: number, ikm: number, ikmLen: number): number;
  _crypto_kdf_hkdf_sha256_extract_final(state: number, prk: number): number;
  _crypto_kdf_hkdf_sha256_statebytes(): number;
}

export const lib = (sodium as unknown as { libsodium: SodiumModule }).libsodium;
if (
  typeof lib?._crypto_hash !== 'function' ||
  typeof lib._crypto_kdf_hkdf_sha256_extract !== 'function' ||
  typeof lib._crypto_kdf_hkdf_sha256_expand !== 'function' ||
  typeof lib._crypto_kdf_hkdf_sha256_extract_init !== 'function' ||
  typeof lib._crypto_kdf_hkdf_sha256_extract_update !== 'function' ||
  typeof lib._crypto_kdf_hkdf_sha256_extract_final !== 'function' ||
  typeof lib._crypto_kdf_hkdf_sha256_statebytes !== 'function' ||
  typeof lib._malloc !== 'function'
) {
  throw new CryptoError(ErrorCodes.INTERNAL, 'libsodium module without SHA-512 or HKDF-SHA256');
}

let region = 0;
let regionSize = 0;

/**
 * The start of a scratch region of at least `size` bytes. Read `lib.HEAPU8` after calling this: a
 * _malloc may grow the memory, which replaces the heap's buffer.
 */
export function scratch(size: number): number {
  if (size > regionSize) {
    if (region !== 0) {
      lib.HEAPU8.fill(0, region, region + regionSize);
      lib._free(region);
    }
    const next = Math.max(size, 2 * regionSize, 1024);
    region = lib._malloc(next);
    if (region === 0) throw new CryptoError(ErrorCodes.INTERNAL, 'libsodium: out of WebAssembly memory');
    regionSize = next;
  }
  return region;
}
