/**
 * ChaCha20-Poly1305 (RFC 8439, IETF variant: 96-bit nonce, 128-bit tag) on libsodium (WebAssembly).
 * Chosen by measurement (docs/crypto-primitives.md): for 1 KiB messages libsodium is ~4x faster than
 * node:crypto's per-call overhead and ~2.5x faster than pure JS, and it is libsodium's audited C code.
 * Decryption failure is a single typed error with no detail (no oracle on why).
 *
 * The functions call libsodium's exported C functions (`crypto_aead_chacha20poly1305_ietf_encrypt` /
 * `_decrypt`) directly on one reusable scratch region of the WebAssembly heap, rather than through the
 * wrapper's JavaScript layer, which allocates and frees five heap blocks and copies its output once
 * more per call, and throws on every failed tag — what trial decryption of ratchet headers does
 * routinely (measured: 1 KiB seal/open about the same, ~5.5 µs, the cipher dominates; 40-byte seal
 * 1.1 vs 1.5 µs; a failed trial through aeadTryOpen ~1 µs vs 8–15 µs). The scratch region is wiped
 * after every call (the wrapper freed its copies of keys and plaintexts without wiping them).
 *
 * From AEAD_NODE_MIN_LENGTH bytes of input on, the same cipher runs on node:crypto (OpenSSL, vectorised)
 * instead: its per-call overhead (~20–30 µs) is paid back there, and a 64 KiB envelope body — what
 * every batch of 1 KiB texts is padded to — seals in ~105 µs instead of ~230 µs (docs/perf-node.md,
 * sixth pass). The bytes are the same (RFC 8439 either way; test/unit/crypto-aead-paths.test.ts checks both
 * paths against each other at the threshold, and the vectors run through whichever path their size
 * picks).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import { assertBytes } from '../lib/assert.ts';
import { CryptoError, ErrorCodes } from '../lib/errors.ts';

await sodium.ready;

export const AEAD_KEY_LENGTH = 32;
export const AEAD_NONCE_LENGTH = 12;
export const AEAD_TAG_LENGTH = 16;

/** The slice of libsodium's Emscripten module used here (the wrapper exposes it as `libsodium`). */
interface SodiumModule {
  readonly HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  // size_t/unsigned long long lengths arrive as (low, high) 32-bit halves.
  _crypto_aead_chacha20poly1305_ietf_encrypt(
    c: number, clenP: number, m: number, mlenLo: number, mlenHi: number,
    ad: number, adlenLo: number, adlenHi: number, nsec: number, npub: number, k: number,
  ): number;
  _crypto_aead_chacha20poly1305_ietf_decrypt(
    m: number, mlenP: number, nsec: number, c: number, clenLo: number, clenHi: number,
    ad: number, adlenLo: number, adlenHi: number, npub: number, k: number,
  ): number;
}

const lib = (sodium as unknown as { libsodium: SodiumModule }).libsodium;
if (
  typeof lib?._crypto_aead_chacha20poly1305_ietf_encrypt !== 'function' ||
  typeof lib._crypto_aead_chacha20poly1305_ietf_decrypt !== 'function' ||
  typeof lib._malloc !== 'function'
) {
  throw new CryptoError(ErrorCodes.INTERNAL, 'AEAD: libsodium module without the ChaCha20-Poly1305 functions');
}

/** Inputs (plaintext or ciphertext) of at least this many bytes go through node:crypto. */
export const AEAD_NODE_MIN_LENGTH = 16 * 1024;

function nodeSealInto(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array, out: Uint8Array, offset: number): void {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_LENGTH });
  c.setAAD(ad, { plaintextLength: plaintext.length });
  const body = c.update(plaintext);
  const rest = c.final(); // empty for a stream cipher; kept so nothing is ever dropped
  out.set(body, offset);
  out.set(rest, offset + body.length);
  out.set(c.getAuthTag(), offset + plaintext.length);
}

function nodeTryOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array | null {
  const length = ciphertext.length - AEAD_TAG_LENGTH;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_LENGTH });
  d.setAAD(ad, { plaintextLength: length });
  d.setAuthTag(ciphertext.subarray(length));
  const body = d.update(ciphertext.subarray(0, length));
  try {
    d.final(); // throws when the tag does not verify
  } catch {
    body.fill(0);
    return null;
  }
  return new Uint8Array(body.buffer, body.byteOffset, body.length);
}

// Scratch layout: key (32) | nonce (12) | ad | input | output. Grows (never shrinks) to the largest call.
let scratch = 0;
let scratchSize = 0;

function region(size: number): number {
  if (size > scratchSize) {
    if (scratch !== 0) {
      lib.HEAPU8.fill(0, scratch, scratch + scratchSize);
      lib._free(scratch);
    }
    const next = Math.max(size, 2 * scratchSize, 4096);
    scratch = lib._malloc(next);
    if (scratch === 0) throw new CryptoError(ErrorCodes.INTERNAL, 'AEAD: out of WebAssembly memory');
    scratchSize = next;
  }
  return scratch;
}

/** Copies key, nonce, ad and input into the scratch region; returns the pointers. */
function load(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, input: Uint8Array, outLength: number) {
  const k = region(AEAD_KEY_LENGTH + AEAD_NONCE_LENGTH + ad.length + input.length + outLength);
  const heap = lib.HEAPU8; // read after a possible _malloc: memory growth replaces the buffer
  const n = k + AEAD_KEY_LENGTH;
  const a = n + AEAD_NONCE_LENGTH;
  const i = a + ad.length;
  const o = i + input.length;
  heap.set(key, k);
  heap.set(nonce, n);
  heap.set(ad, a);
  heap.set(input, i);
  return { heap, k, n, a, i, o, end: o + outLength };
}

function sodiumSealInto(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array, out: Uint8Array, offset: number): void {
  const p = load(key, nonce, ad, plaintext, plaintext.length + AEAD_TAG_LENGTH);
  try {
    const rc = lib._crypto_aead_chacha20poly1305_ietf_encrypt(p.o, 0, p.i, plaintext.length, 0, p.a, ad.length, 0, 0, p.n, p.k);
    if (rc !== 0) throw new CryptoError(ErrorCodes.INTERNAL, 'AEAD: encryption failed');
    out.set(p.heap.subarray(p.o, p.end), offset);
  } finally {
    p.heap.fill(0, p.k, p.end);
  }
}

function sodiumTryOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array | null {
  const p = load(key, nonce, ad, ciphertext, ciphertext.length - AEAD_TAG_LENGTH);
  try {
    const rc = lib._crypto_aead_chacha20poly1305_ietf_decrypt(p.o, 0, 0, p.i, ciphertext.length, 0, p.a, ad.length, 0, p.n, p.k);
    return rc === 0 ? p.heap.slice(p.o, p.end) : null;
  } finally {
    p.heap.fill(0, p.k, p.end);
  }
}

/**
 * Both implementations, unchecked (arguments as the exported functions check them; a ciphertext at
 * least a tag long): for the tests that hold them to the same bytes on the same inputs.
 */
export const AEAD_BACKENDS = {
  sodium: { sealInto: sodiumSealInto, tryOpen: sodiumTryOpen },
  node: { sealInto: nodeSealInto, tryOpen: nodeTryOpen },
} as const;

/**
 * Seals `plaintext` into out[offset .. offset + plaintext.length + 16): ciphertext then tag, the same
 * bytes aeadSeal returns, without a separate output array (a ratchet message is built in place).
 */
export function aeadSealInto(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array,
  out: Uint8Array,
  offset: number,
): void {
  assertBytes(key, 'AEAD key', AEAD_KEY_LENGTH);
  assertBytes(nonce, 'AEAD nonce', AEAD_NONCE_LENGTH);
  assertBytes(plaintext, 'AEAD plaintext');
  assertBytes(ad, 'AEAD associated data');
  assertBytes(out, 'AEAD output');
  const sealedLength = plaintext.length + AEAD_TAG_LENGTH;
  if (!Number.isInteger(offset) || offset < 0 || offset + sealedLength > out.length) {
    throw new CryptoError(ErrorCodes.INVALID_ARGUMENT, `AEAD: output needs ${sealedLength} bytes at ${offset}, has ${out.length}`);
  }
  (plaintext.length >= AEAD_NODE_MIN_LENGTH ? nodeSealInto : sodiumSealInto)(key, nonce, plaintext, ad, out, offset);
}

export function aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  assertBytes(plaintext, 'AEAD plaintext');
  const out = new Uint8Array(plaintext.length + AEAD_TAG_LENGTH);
  aeadSealInto(key, nonce, plaintext, ad, out, 0);
  return out;
}

/**
 * The plaintext, or null when the tag does not verify: for trial decryption (ratchet headers), where a
 * failure is an expected outcome and building an error for it costs more than the decryption.
 */
export function aeadTryOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array | null {
  assertBytes(key, 'AEAD key', AEAD_KEY_LENGTH);
  assertBytes(nonce, 'AEAD nonce', AEAD_NONCE_LENGTH);
  assertBytes(ciphertext, 'AEAD ciphertext');
  assertBytes(ad, 'AEAD associated data');
  if (ciphertext.length < AEAD_TAG_LENGTH) return null;
  return (ciphertext.length >= AEAD_NODE_MIN_LENGTH ? nodeTryOpen : sodiumTryOpen)(key, nonce, ciphertext, ad);
}

export function aeadOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array {
  assertBytes(key, 'AEAD key', AEAD_KEY_LENGTH);
  assertBytes(nonce, 'AEAD nonce', AEAD_NONCE_LENGTH);
  assertBytes(ciphertext, 'AEAD ciphertext');
  if (ciphertext.length < AEAD_TAG_LENGTH) {
    throw new CryptoError(ErrorCodes.DECRYPT_FAILED, 'AEAD: ciphertext shorter than the tag');
  }
  const plain = aeadTryOpen(key, nonce, ciphertext, ad);
  if (plain === null) throw new CryptoError(ErrorCodes.DECRYPT_FAILED, 'AEAD: authentication failed');
  return plain;
}
