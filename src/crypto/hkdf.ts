/**
 * HKDF-SHA256 (RFC 5869) on hash.ts's HMAC-SHA256 (see there for why not node:crypto's hkdfSync:
 * per-call overhead on the short inputs of ratchet steps). With a short `info`, Expand computes the
 * PRK's HMAC pad states once for all T(i) (_sha256.ts): 2 compressions per block instead of 4.
 */
import { assertBytes, assertInteger } from '../lib/assert.ts';
import { hmacSha256 } from './hash.ts';
import { hmacState, hmacWithState, wipeHmacState } from './_sha256.ts';

const HASH_LEN = 32;
const ZERO_SALT = new Uint8Array(HASH_LEN);
/** T(i-1) ‖ info ‖ i up to this length goes through the reused pad states (as hash.ts's HMAC_JS_MAX). */
const STATE_INPUT_MAX = 160;

/** RFC 5869 §2.3: T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i), OKM = first L bytes of T(1) ‖ T(2) ‖ … */
function expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const okm = new Uint8Array(length);
  const input = new Uint8Array(HASH_LEN + info.length + 1);
  const state = input.length <= STATE_INPUT_MAX ? hmacState(prk) : null;
  const t = new Uint8Array(HASH_LEN);
  let previous = 0; // bytes of T(i-1) at the start of `input`
  for (let i = 1, off = 0; off < length; i++) {
    input.set(info, previous);
    input[previous + info.length] = i;
    const data = input.subarray(0, previous + info.length + 1);
    if (state !== null) hmacWithState(state, data, t, 0);
    else t.set(hmacSha256(prk, data));
    okm.set(t.subarray(0, Math.min(HASH_LEN, length - off)), off);
    off += HASH_LEN;
    input.set(t, 0);
    previous = HASH_LEN;
  }
  if (state !== null) wipeHmacState(state);
  input.fill(0);
  t.fill(0);
  return okm;
}

/** RFC 5869 §2.3: L <= 255 * HashLen. An absent or empty salt means HashLen zero bytes (§2.2). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, length: number): Uint8Array {
  assertInteger(length, 'HKDF output length', 1, 255 * HASH_LEN);
  const prk = hmacSha256(salt === undefined || salt.length === 0 ? ZERO_SALT : salt, ikm); // §2.2 extract
  try {
    return expand(prk, info, length);
  } finally {
    prk.fill(0);
  }
}

/**
 * RFC 5869 §2.3 HKDF-Expand alone, for a PRK that is already a uniformly random key of HashLen bytes
 * (RFC 5869 §3.3: the extract step may then be skipped) — e.g. a ratchet message key.
 */
export function hkdfSha256Expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  assertBytes(prk, 'HKDF PRK', HASH_LEN);
  assertInteger(length, 'HKDF output length', 1, 255 * HASH_LEN);
  return expand(prk, info, length);
}
