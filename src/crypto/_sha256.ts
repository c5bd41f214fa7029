/**
 * Folder-private: SHA-256's compression function (FIPS 180-4 §6.2.2) in JavaScript, and HMAC-SHA256
 * (RFC 2104) over it for short messages, with a key's two pad states computed once and reused.
 *
 * Why not node:crypto here (docs/crypto-primitives.md, "Hashes"): the ratchet's HMACs and HKDFs hash
 * 1–60 bytes under a 32-byte key, where node's one-shot `hash()` costs ~1.2 µs per call of fixed
 * overhead and HMAC needs two calls. One compression here is ~0.15 µs, an HMAC of a short message
 * 4 compressions, and 2 when the key state is reused (HKDF-Expand's T(1..n), KDF_CK's two halves).
 * Long messages still go through node's `hash()` (hash.ts chooses): OpenSSL's SHA extensions win there.
 *
 * Only 32-bit additions, rotations and bitwise operations on the data: no table lookups indexed by
 * secret values, no secret-dependent branches. Scratch buffers are module-level and wiped after use.
 * This module knows nothing of what the keys are for.
 */

// FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes.
const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// FIPS 180-4 §5.3.3: the initial hash value H(0).
const IV = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

export const SHA256_BLOCK = 64;
export const SHA256_OUT = 32;

const W = new Int32Array(64); // message schedule
// A padded tail, or a key XOR pad; every user wipes what it wrote.
const BLOCKS = new Uint8Array(2 * SHA256_BLOCK);

function k(i: number): number {
  return K[i] as number;
}
function w(i: number): number {
  return W[i] as number;
}

/**
 * FIPS 180-4 §6.2.2 steps 1–4: the 64-byte block at BLOCKS[o..o+64) into the state `h`. Always reading
 * from the one module buffer keeps the loads monomorphic: callers' arrays come with several shapes
 * (plain, SecretBytes, Buffer), and a polymorphic load site here was slower (profiled in the ratchet
 * ping-pong: this function's share of the time 6.6 % → 4.6 % with the copy into BLOCKS).
 */
function compress(h: Int32Array, o: number): void {
  const b = BLOCKS;
  for (let i = 0; i < 16; i++, o += 4) {
    W[i] = ((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number);
  }
  for (let i = 16; i < 64; i++) {
    const x = w(i - 15);
    const y = w(i - 2);
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (w(i - 16) + s0 + w(i - 7) + s1) | 0;
  }
  let a = h[0] as number;
  let bb = h[1] as number;
  let c = h[2] as number;
  let d = h[3] as number;
  let e = h[4] as number;
  let f = h[5] as number;
  let g = h[6] as number;
  let hh = h[7] as number;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (hh + S1 + ch + k(i) + w(i)) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & bb) ^ (a & c) ^ (bb & c);
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + S0 + maj) | 0;
  }
  h[0] = ((h[0] as number) + a) | 0;
  h[1] = ((h[1] as number) + bb) | 0;
  h[2] = ((h[2] as number) + c) | 0;
  h[3] = ((h[3] as number) + d) | 0;
  h[4] = ((h[4] as number) + e) | 0;
  h[5] = ((h[5] as number) + f) | 0;
  h[6] = ((h[6] as number) + g) | 0;
  h[7] = ((h[7] as number) + hh) | 0;
}

/**
 * Hashes `data` into `h`, which has already absorbed `before` bytes (a whole number of blocks), and
 * applies the final padding (FIPS 180-4 §5.1.1: 0x80, zeros, the message length in bits as 64 bits).
 */
function finish(h: Int32Array, data: Uint8Array, before: number): void {
  const n = data.length;
  let off = 0;
  for (; off + SHA256_BLOCK <= n; off += SHA256_BLOCK) {
    BLOCKS.set(data.subarray(off, off + SHA256_BLOCK), 0);
    compress(h, 0);
  }
  const rest = n - off;
  const end = rest + 9 <= SHA256_BLOCK ? SHA256_BLOCK : 2 * SHA256_BLOCK;
  // A message shorter than a block (every HMAC of the ratchet) is copied as it is: no view object.
  BLOCKS.set(off === 0 ? data : data.subarray(off), 0);
  BLOCKS[rest] = 0x80;
  BLOCKS.fill(0, rest + 1, end - 8);
  const bits = (before + n) * 8; // < 2^53: exact
  const hi = Math.floor(bits / 0x1_0000_0000);
  const lo = bits >>> 0;
  BLOCKS[end - 8] = hi >>> 24;
  BLOCKS[end - 7] = hi >>> 16;
  BLOCKS[end - 6] = hi >>> 8;
  BLOCKS[end - 5] = hi;
  BLOCKS[end - 4] = lo >>> 24;
  BLOCKS[end - 3] = lo >>> 16;
  BLOCKS[end - 2] = lo >>> 8;
  BLOCKS[end - 1] = lo;
  compress(h, 0);
  if (end > SHA256_BLOCK) compress(h, SHA256_BLOCK);
  BLOCKS.fill(0, 0, end);
}

function writeDigest(h: Int32Array, out: Uint8Array, o: number): void {
  for (let i = 0; i < 8; i++, o += 4) {
    const x = h[i] as number;
    out[o] = x >>> 24;
    out[o + 1] = x >>> 16;
    out[o + 2] = x >>> 8;
    out[o + 3] = x;
  }
}

/** An HMAC-SHA256 key as its two pad states: H's state after (K ⊕ ipad) and after (K ⊕ opad). */
export interface HmacState {
  readonly inner: Int32Array;
  readonly outer: Int32Array;
}

/** RFC 2104 §2 steps 1–2 and 5, for a key of at most one block (longer keys are hashed by the caller). */
export function hmacState(key: Uint8Array): HmacState {
  const inner = IV.slice();
  const outer = IV.slice();
  BLOCKS.fill(0x36, 0, SHA256_BLOCK);
  for (let i = 0; i < key.length; i++) BLOCKS[i] = (BLOCKS[i] as number) ^ (key[i] as number);
  compress(inner, 0);
  BLOCKS.fill(0x5c, 0, SHA256_BLOCK);
  for (let i = 0; i < key.length; i++) BLOCKS[i] = (BLOCKS[i] as number) ^ (key[i] as number);
  compress(outer, 0);
  BLOCKS.fill(0);
  return { inner, outer };
}

const H = new Int32Array(8);

/** HMAC(K, data) into out[o..o+32): H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ data)), from the key's pad states. */
export function hmacWithState(state: HmacState, data: Uint8Array, out: Uint8Array, o: number): void {
  H.set(state.inner);
  finish(H, data, SHA256_BLOCK);
  // The outer hash's message is the 32-byte inner digest after one block of pad: always one final
  // block, written in place (FIPS 180-4 §5.1.1: digest, 0x80, zeros, length 96 bytes = 768 bits).
  writeDigest(H, BLOCKS, 0);
  BLOCKS[SHA256_OUT] = 0x80;
  BLOCKS.fill(0, SHA256_OUT + 1, SHA256_BLOCK - 2);
  BLOCKS[SHA256_BLOCK - 2] = 0x03;
  BLOCKS[SHA256_BLOCK - 1] = 0x00;
  H.set(state.outer);
  compress(H, 0);
  writeDigest(H, out, o);
  H.fill(0);
  BLOCKS.fill(0, 0, SHA256_BLOCK);
  W.fill(0);
}

export function wipeHmacState(state: HmacState): void {
  state.inner.fill(0);
  state.outer.fill(0);
}
