/**
 * Ed25519 signatures (RFC 8032) on node:crypto, with Compeer's own public-key validation.
 *
 * Why our own check: OpenSSL's verify accepts small-order and mixed-order public keys (CCTV's
 * ed25519 edge-case vectors show it), which allows one signature to verify under several keys.
 * Policy (docs/protocol.md §Keys, docs/crypto-primitives.md): a public key must be the canonical
 * encoding of a point of prime order L; signatures must have S < L and verify with OpenSSL's
 * cofactorless equation, which also rejects non-canonical R (R is compared as bytes). Pinned by the
 * CCTV and Wycheproof vectors in test/vectors/.
 *
 * Key check, fast path: a byte test for y < p, then libsodium's crypto_sign_ed25519_pk_to_curve25519,
 * which refuses small-order points and points outside the prime-order subgroup (its
 * ge25519_is_on_main_subgroup: [L]A = O) in WebAssembly, ~0.12 ms. Only when it refuses do we decode
 * with @noble/curves to say why (INVALID_KEY vs WEAK_KEY): noble's [L]A in pure JS costs ~1.3 ms, too
 * slow for every bundle. All of this runs on public data only; private keys stay in OpenSSL.
 */
import { createPublicKey, generateKeyPairSync, hash, sign, verify, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import sodium from 'libsodium-wrappers';
import { assertBytes } from '../lib/assert.ts';
import { equalBytes, toBase64Url } from '../lib/bytes.ts';
import type { Rng } from '../lib/deps.ts';
import { CryptoError, ErrorCodes } from '../lib/errors.ts';
import type { SecretBytes } from './secret.ts';
import { exportOkp, importOkpPrivate } from './_okp.ts';

export const ED25519_PUBLIC_KEY_LENGTH = 32;
export const ED25519_SEED_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;

declare const pubBrand: unique symbol;
export type Ed25519PublicKey = Uint8Array & { readonly [pubBrand]: true };

export interface Ed25519KeyPair {
  readonly publicKey: Ed25519PublicKey;
  /** RFC 8032 §5.1.5 32-byte seed. */
  readonly seed: SecretBytes;
  readonly handle: KeyObject;
}

// Group order L (RFC 8032 §5.1), little-endian comparison of S against it.
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

const handles = new WeakMap<Uint8Array, KeyObject>();

function publicHandle(pub: Ed25519PublicKey): KeyObject {
  let h = handles.get(pub);
  if (!h) {
    h = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(pub) }, format: 'jwk' });
    handles.set(pub, h);
  }
  return h;
}

await sodium.ready;

/** RFC 8032 §5.1.3: y (the low 255 bits, little-endian) must be < p = 2^255 - 19. */
function yIsCanonical(bytes: Uint8Array): boolean {
  if (((bytes[31] as number) & 0x7f) !== 0x7f || (bytes[0] as number) < 0xed) return true;
  for (let i = 1; i < 31; i++) if (bytes[i] !== 0xff) return true;
  return false;
}

/** Slow path, only for keys libsodium refused: decode with noble to report the precise reason. */
function whyRefused(bytes: Uint8Array, cause: unknown): CryptoError {
  let point;
  try {
    point = ed25519.Point.fromBytes(bytes, false);
  } catch (e) {
    return new CryptoError(ErrorCodes.INVALID_KEY, 'Ed25519 public key: not a valid point encoding', { cause: e });
  }
  if (!equalBytes(point.toBytes(), bytes)) {
    return new CryptoError(ErrorCodes.INVALID_KEY, 'Ed25519 public key: non-canonical encoding');
  }
  if (point.isSmallOrder()) return new CryptoError(ErrorCodes.WEAK_KEY, 'Ed25519 public key: small-order point');
  if (!point.isTorsionFree()) return new CryptoError(ErrorCodes.WEAK_KEY, 'Ed25519 public key: mixed-order point');
  // The two checkers disagree: fail closed.
  return new CryptoError(ErrorCodes.INVALID_KEY, 'Ed25519 public key: refused by libsodium', { cause });
}

/** Validates and brands a received public key: canonical, not small order, prime order. */
export function ed25519PublicKey(bytes: Uint8Array): Ed25519PublicKey {
  assertBytes(bytes, 'Ed25519 public key', ED25519_PUBLIC_KEY_LENGTH);
  if (!yIsCanonical(bytes)) throw new CryptoError(ErrorCodes.INVALID_KEY, 'Ed25519 public key: non-canonical encoding');
  try {
    // Throws unless A decodes, is not small order and [L]A = O (libsodium ed25519/keypair.c).
    sodium.crypto_sign_ed25519_pk_to_curve25519(bytes);
  } catch (cause) {
    throw whyRefused(bytes, cause);
  }
  return Uint8Array.from(bytes) as Ed25519PublicKey;
}

function fromHandle(handle: KeyObject): Ed25519KeyPair {
  const { publicKey, privateKey } = exportOkp(handle, 'Ed25519');
  return { publicKey: publicKey as Ed25519PublicKey, seed: privateKey, handle };
}

export function ed25519FromSeed(seed: Uint8Array): Ed25519KeyPair {
  assertBytes(seed, 'Ed25519 seed', ED25519_SEED_LENGTH);
  return fromHandle(importOkpPrivate('ed25519', seed));
}

export function generateEd25519(rng: Rng): Ed25519KeyPair {
  if (rng.system) return fromHandle(generateKeyPairSync('ed25519').privateKey);
  return ed25519FromSeed(rng.bytes(ED25519_SEED_LENGTH));
}

export function ed25519Sign(key: Ed25519KeyPair, message: Uint8Array): Uint8Array {
  const sig = sign(null, message, key.handle);
  return new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength);
}

function scalarBelowOrder(sig: Uint8Array): boolean {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i] as number);
  return s < L;
}

// Memo of signatures already found valid, keyed by (public key, SHA-256 of the message, signature):
// the same signed prekeys, bundles and identity bindings are verified again and again (~130 µs each,
// against ~3 µs for the lookup). Only successes are kept; the memo is bounded (oldest dropped first)
// and holds public data only.
const VERIFIED_LIMIT = 4096;
const verified = new Set<string>();

function memoKey(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): string {
  const digest = hash('sha256', message, 'base64');
  return `${Buffer.from(publicKey.buffer, publicKey.byteOffset, 32).toString('base64')}|${digest}|${Buffer.from(signature.buffer, signature.byteOffset, 64).toString('base64')}`;
}

/** True iff `signature` is valid for `message` under the (already validated) public key. */
export function ed25519Verify(publicKey: Ed25519PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_LENGTH || !scalarBelowOrder(signature)) return false;
  const key = memoKey(publicKey, message, signature);
  if (verified.has(key)) return true;
  let ok: boolean;
  try {
    ok = verify(null, message, publicHandle(publicKey), signature);
  } catch {
    return false;
  }
  if (ok) {
    verified.add(key);
    if (verified.size > VERIFIED_LIMIT) {
      const oldest = verified.values().next();
      if (!oldest.done) verified.delete(oldest.value);
    }
  }
  return ok;
}

/** Like ed25519Verify, but throws BAD_SIGNATURE; `what` names the signed object for the error. */
export function ed25519AssertValid(publicKey: Ed25519PublicKey, message: Uint8Array, signature: Uint8Array, what: string): void {
  if (!ed25519Verify(publicKey, message, signature)) {
    throw new CryptoError(ErrorCodes.BAD_SIGNATURE, `${what}: invalid signature`);
  }
}
