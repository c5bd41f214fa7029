/**
 * SHA-256, SHA-512 and HMAC-SHA256 (RFC 2104), chosen by measurement (docs/crypto-primitives.md):
 * hashes run on node:crypto's one-shot `hash()` (64 B: 2.3 µs vs 4.2 µs for pure JS; 2.6 KiB: 4 µs vs
 * 17 µs), except SHA-512 of up to 256 bytes (the onion's layer keys hash 112), which runs on libsodium's
 * WebAssembly `crypto_hash` through _sodium.ts (112 B: ~1.9 µs against ~3.1 µs; node wins above ~512
 * bytes). HMAC of a message up to HMAC_JS_MAX bytes — every ratchet and HKDF step — runs on _sha256.ts's
 * JavaScript compression function (1 B: ~2.4 µs against ~3.4 µs for two one-shot hashes, 7.4 µs for
 * @noble/hashes, 19 µs for `createHmac`); longer messages on two one-shot hashes, where OpenSSL's
 * per-block speed wins. The pads are XORed in a data-independent loop.
 */
import { hash } from 'node:crypto';
import { hmacState, hmacWithState, wipeHmacState } from './_sha256.ts';
import { lib, scratch } from './_sodium.ts';

const BLOCK = 64;
const OUT = 32;

function digest(algorithm: 'sha256' | 'sha512', data: Uint8Array): Uint8Array {
  const out = hash(algorithm, data, 'buffer');
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

export function sha256(data: Uint8Array): Uint8Array {
  return digest('sha256', data);
}

/** Up to this many bytes, SHA-512 runs on libsodium's `crypto_hash` (measured crossover: ~512 bytes). */
const SHA512_WASM_MAX = 256;

export function sha512(data: Uint8Array): Uint8Array {
  if (data.length > SHA512_WASM_MAX) return digest('sha512', data);
  // Layout: digest (64) | message; the message may be secret (an onion layer's DH output), so the
  // region is wiped after the copy out.
  const at = scratch(64 + data.length);
  try {
    lib.HEAPU8.set(data, at + 64);
    lib._crypto_hash(at, at + 64, data.length, 0);
    return lib.HEAPU8.slice(at, at + 64);
  } finally {
    lib.HEAPU8.fill(0, at, at + 64 + data.length);
  }
}

function pad(buf: Uint8Array, k: Uint8Array, byte: number): void {
  buf.fill(byte, 0, BLOCK);
  for (let i = 0; i < k.length; i++) buf[i] = (buf[i] as number) ^ (k[i] as number);
}

/** Up to this many message bytes, HMAC runs on _sha256.ts (measured crossover: ~200 bytes). */
const HMAC_JS_MAX = 160;

/** RFC 2104: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)), K hashed first when longer than the block. */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  const k = key.length > BLOCK ? sha256(key) : key;
  if (data.length <= HMAC_JS_MAX) {
    const state = hmacState(k);
    const out = new Uint8Array(OUT);
    hmacWithState(state, data, out, 0);
    wipeHmacState(state);
    return out;
  }
  const buf = new Uint8Array(BLOCK + Math.max(data.length, OUT));
  pad(buf, k, 0x36);
  buf.set(data, BLOCK);
  const inner = hash('sha256', buf.subarray(0, BLOCK + data.length), 'buffer');
  pad(buf, k, 0x5c);
  buf.set(inner, BLOCK);
  const out = hash('sha256', buf.subarray(0, BLOCK + OUT), 'buffer');
  buf.fill(0);
  inner.fill(0);
  return new Uint8Array(out.buffer, out.byteOffset, OUT);
}

/**
 * HMAC-SHA256 of each message under one key, the key's pad states computed once (RFC 2104 allows the
 * precomputation, §4): KDF_CK's two halves from one chain key. Same results as hmacSha256 per message.
 */
export function hmacSha256Each(key: Uint8Array, messages: readonly Uint8Array[]): Uint8Array[] {
  // Plain loops, no closures: this runs twice per ratchet message.
  let short = key.length <= BLOCK;
  for (let i = 0; i < messages.length && short; i++) short = (messages[i] as Uint8Array).length <= HMAC_JS_MAX;
  const out: Uint8Array[] = new Array<Uint8Array>(messages.length);
  if (!short) {
    for (let i = 0; i < messages.length; i++) out[i] = hmacSha256(key, messages[i] as Uint8Array);
    return out;
  }
  const state = hmacState(key);
  for (let i = 0; i < messages.length; i++) {
    const mac = new Uint8Array(OUT);
    hmacWithState(state, messages[i] as Uint8Array, mac, 0);
    out[i] = mac;
  }
  wipeHmacState(state);
  return out;
}
