/**
 * HKDF-SHA256 (RFC 5869) on libsodium's HKDF-SHA256 functions (C compiled to WebAssembly, called
 * directly through _sodium.ts). Chosen by measurement (docs/crypto-primitives.md): the ratchet's KDF_RK
 * (32-byte IKM and salt, 96 bytes out) costs ~12.8 µs CPU on libsodium's one-call extract + expand
 * against ~23.8 µs on hash.ts's JavaScript HMAC over _sha256.ts and ~40 µs for node:crypto's hkdfSync
 * (2-core machine, load ~3.5, medians of 30 interleaved rounds); a ping-pong message runs two of them.
 *
 * Expand (§2.3) is ours, over libsodium's streaming extract, which is HMAC-SHA256 keyed with its salt
 * (init = key setup, update, final): the PRK's HMAC key state is set up once and its bytes copied for
 * each T(i), where libsodium's own expand sets the key up again per block — 8 SHA-256 compressions
 * instead of 12 for 96 bytes (micro, interleaved: KDF_RK 6.98 → 5.17 µs at the minimum). The output
 * bytes are the same (test/vectors: RFC 5869, Wycheproof).
 * Inputs are copied into the shared scratch region and every byte written there (key states, IKM,
 * salt, PRK, info, T(i), output) is wiped before returning.
 */
import { assertBytes, assertInteger } from '../lib/assert.ts';
import { CryptoError, ErrorCodes } from '../lib/errors.ts';
import { lib, scratch } from './_sodium.ts';

const HASH_LEN = 32;
/** crypto_kdf_hkdf_sha256_state (an HMAC-SHA256 state: plain bytes, copyable). */
const STATE = lib._crypto_kdf_hkdf_sha256_statebytes();
if (!Number.isInteger(STATE) || STATE <= 0 || STATE % 16 !== 0) {
  throw new CryptoError(ErrorCodes.INTERNAL, `HKDF: unexpected libsodium state size ${STATE}`);
}

/** Bytes the expand step needs after `at`: key state, working state, T | info | counter, output blocks. */
function expandSpace(info: Uint8Array, length: number): number {
  return 2 * STATE + HASH_LEN + info.length + 1 + Math.ceil(length / HASH_LEN) * HASH_LEN;
}

/**
 * RFC 5869 §2.3 from a PRK already at `prk` in the heap, using the region at `at` (expandSpace bytes,
 * 16-byte aligned): T(i) = HMAC(PRK, T(i-1) | info | i), T(0) empty. Returns where the output starts
 * in the heap; the caller copies it out.
 */
function expandAt(at: number, prk: number, info: Uint8Array, length: number): number {
  const keyed = at;
  const st = at + STATE;
  const tAt = st + STATE;
  const infoAt = tAt + HASH_LEN;
  const counterAt = infoAt + info.length;
  const outAt = counterAt + 1;
  const heap = lib.HEAPU8;
  heap.set(info, infoAt);
  let rc = lib._crypto_kdf_hkdf_sha256_extract_init(keyed, prk, HASH_LEN);
  const blocks = Math.ceil(length / HASH_LEN);
  for (let i = 1; i <= blocks; i++) {
    heap[counterAt] = i;
    heap.copyWithin(st, keyed, keyed + STATE);
    const from = i === 1 ? infoAt : tAt;
    const t = outAt + (i - 1) * HASH_LEN;
    rc |= lib._crypto_kdf_hkdf_sha256_extract_update(st, from, counterAt + 1 - from);
    rc |= lib._crypto_kdf_hkdf_sha256_extract_final(st, t);
    heap.copyWithin(tAt, t, t + HASH_LEN);
  }
  if (rc !== 0) throw new CryptoError(ErrorCodes.INTERNAL, 'HKDF: expand failed');
  return outAt;
}

/** Extract (§2.2) then expand into the heap; `copyOut` reads the output before the region is wiped. */
function hkdfInHeap<T>(
  ikm: Uint8Array,
  salt: Uint8Array | undefined,
  info: Uint8Array,
  length: number,
  copyOut: (heap: Uint8Array, outAt: number) => T,
): T {
  assertInteger(length, 'HKDF output length', 1, 255 * HASH_LEN);
  assertBytes(ikm, 'HKDF input keying material');
  assertBytes(info, 'HKDF info');
  const s = salt ?? new Uint8Array(0);
  assertBytes(s, 'HKDF salt');
  // Layout: expand's region (aligned, first) | PRK (32) | salt | IKM. An empty salt is HMAC's
  // all-zero key (§2.2).
  const space = expandSpace(info, length);
  const expandRegion = scratch(space + HASH_LEN + s.length + ikm.length);
  const prk = expandRegion + space;
  const saltAt = prk + HASH_LEN;
  const ikmAt = saltAt + s.length;
  try {
    const heap = lib.HEAPU8;
    heap.set(s, saltAt);
    heap.set(ikm, ikmAt);
    lib._crypto_kdf_hkdf_sha256_extract(prk, saltAt, s.length, ikmAt, ikm.length); // §2.2
    return copyOut(lib.HEAPU8, expandAt(expandRegion, prk, info, length));
  } finally {
    lib.HEAPU8.fill(0, expandRegion, ikmAt + ikm.length);
  }
}

/** RFC 5869 §2.3: L <= 255 * HashLen. An absent or empty salt means HashLen zero bytes (§2.2). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, length: number): Uint8Array {
  return hkdfInHeap(ikm, salt, info, length, (heap, at) => heap.slice(at, at + length));
}

/**
 * HKDF-SHA256 of `count` × 32 bytes, returned as `count` separate 32-byte arrays: the same bytes as
 * hkdfSha256 split into keys, copied straight out of the heap. Arrays of at most 64 bytes live on V8's
 * heap; a longer output (96 bytes for KDF_RK) needs an external backing store, whose allocation was
 * the most expensive line of the old KDF_RK in a profile of the ping-pong (more than its hashing).
 */
export function hkdfSha256Keys(ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, count: number): Uint8Array[] {
  assertInteger(count, 'HKDF key count', 1, 255);
  return hkdfInHeap(ikm, salt, info, count * HASH_LEN, (heap, at) => {
    const keys: Uint8Array[] = [];
    for (let i = 0; i < count; i++) keys.push(heap.slice(at + i * HASH_LEN, at + (i + 1) * HASH_LEN));
    return keys;
  });
}

/**
 * RFC 5869 §2.3 HKDF-Expand alone, for a PRK that is already a uniformly random key of HashLen bytes
 * (RFC 5869 §3.3: the extract step may then be skipped) — e.g. a ratchet message key.
 */
export function hkdfSha256Expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  assertBytes(prk, 'HKDF PRK', HASH_LEN);
  assertInteger(length, 'HKDF output length', 1, 255 * HASH_LEN);
  assertBytes(info, 'HKDF info');
  const space = expandSpace(info, length);
  const at = scratch(space + HASH_LEN);
  const prkAt = at + space;
  try {
    lib.HEAPU8.set(prk, prkAt);
    const outAt = expandAt(at, prkAt, info, length);
    return lib.HEAPU8.slice(outAt, outAt + length);
  } finally {
    lib.HEAPU8.fill(0, at, prkAt + HASH_LEN);
  }
}
