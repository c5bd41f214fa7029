/**
 * X25519 (RFC 7748) on node:crypto (OpenSSL). Key objects are cached on the branded key values:
 * importing a key costs as much as a DH, so each key is imported once.
 *
 * Policy (docs/crypto-primitives.md, "Key policies" and "Policy for every acceptable flag"): public keys
 * we import must be canonical (u < p, high bit clear) and not one of the small-order points; a DH output
 * of all zeros is rejected (Wycheproof "acceptable" cases with a zero shared secret are rejected here);
 * twist points are accepted (RFC 7748 §7). This module knows nothing of what the keys are for.
 */
import { createPublicKey, diffieHellman, type KeyObject, type PublicKeyInput, type RawPublicKeyInput } from 'node:crypto';
import { assertBytes } from '../lib/assert.ts';
import { equalBytes, isAllZero, toBase64Url } from '../lib/bytes.ts';
import type { Rng } from '../lib/deps.ts';
import { CryptoError, ErrorCodes } from '../lib/errors.ts';
import { secretBytes, type SecretBytes } from './secret.ts';
import { exportOkp, generateOkp, importOkpPrivate } from './_okp.ts';

export const X25519_KEY_LENGTH = 32;

declare const pubBrand: unique symbol;
export type X25519PublicKey = Uint8Array & { readonly [pubBrand]: true };

export interface X25519KeyPair {
  readonly publicKey: X25519PublicKey;
  readonly privateKey: SecretBytes;
  /** OpenSSL handle for the private key; never serialized. */
  readonly handle: KeyObject;
}


// Small-order u-coordinates (and their non-canonical aliases below 2^255) per libsodium's blocklist.
const SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
const SMALL_ORDER_LAST_BYTES = new Set(SMALL_ORDER.map((p) => p[31] as number));

const handles = new WeakMap<Uint8Array, KeyObject>();

/** Node accepts any ArrayBufferView as a raw key (prepareAsymmetricKey); @types/node says Buffer. */
function rawPublicKeyInput(pub: Uint8Array): RawPublicKeyInput {
  return { key: pub as Buffer, format: 'raw-public', asymmetricKeyType: 'x25519' };
}

function publicHandle(pub: X25519PublicKey): KeyObject {
  let h = handles.get(pub);
  if (!h) {
    // Node 24's 'raw-public' import is the cheapest path (CPU time, min of 60 rounds: 9.8 µs against
    // 11.7 µs for JWK, 13 µs for PEM, 42 µs for DER/SPKI). Node's import runs brand checks
    // (isKeyObject, isCryptoKey) that throw and catch internally; capturing their stack traces is most
    // of the cost (measured inside a ratchet: ~70 µs → ~22 µs with capture off). Keys reaching here are
    // validated, so an import error is not expected; it would propagate without a stack.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      h = createPublicKey(rawPublicKeyInput(pub));
    } finally {
      Error.stackTraceLimit = limit;
    }
    handles.set(pub, h);
  }
  return h;
}

/** RFC 7748 §5 length plus the policy above, on the bytes as given (no copy). */
function checkPublicKey(bytes: Uint8Array): void {
  assertBytes(bytes, 'X25519 public key', X25519_KEY_LENGTH);
  if (((bytes[31] as number) & 0x80) !== 0) {
    throw new CryptoError(ErrorCodes.INVALID_KEY, 'X25519 public key: high bit set (non-canonical)');
  }
  // u >= p (2^255 - 19) is non-canonical: bytes ed..ff ff..ff 7f.
  if ((bytes[31] as number) === 0x7f && bytes.subarray(1, 31).every((b) => b === 0xff) && (bytes[0] as number) >= 0xed) {
    throw new CryptoError(ErrorCodes.INVALID_KEY, 'X25519 public key: not canonical (u >= p)');
  }
  // Public input, so a data-dependent shortcut is fine: only keys ending like a listed point are compared.
  if (SMALL_ORDER_LAST_BYTES.has(bytes[31] as number)) {
    for (const bad of SMALL_ORDER) {
      if (equalBytes(bad, bytes)) throw new CryptoError(ErrorCodes.WEAK_KEY, 'X25519 public key: small-order point');
    }
  }
}

/** Validates and brands a received public key (RFC 7748 §5, plus the policy above). */
export function x25519PublicKey(bytes: Uint8Array): X25519PublicKey {
  checkPublicKey(bytes);
  return Uint8Array.from(bytes) as X25519PublicKey;
}

function fromHandle(handle: KeyObject): X25519KeyPair {
  const { publicKey, privateKey } = exportOkp(handle, 'X25519');
  return { publicKey: publicKey as X25519PublicKey, privateKey, handle };
}

/** Imports a private key (32 bytes, clamped by X25519 itself per RFC 7748 §5). */
export function x25519FromPrivate(privateKey: Uint8Array): X25519KeyPair {
  assertBytes(privateKey, 'X25519 private key', X25519_KEY_LENGTH);
  return fromHandle(importOkpPrivate('x25519', privateKey));
}

export function generateX25519(rng: Rng): X25519KeyPair {
  if (rng.system) {
    const { handle, publicKey, privateKey } = generateOkp('x25519');
    return { publicKey: publicKey as X25519PublicKey, privateKey, handle };
  }
  return x25519FromPrivate(rng.bytes(X25519_KEY_LENGTH));
}

/**
 * Runs OpenSSL's X25519 and applies the RFC 7748 §6.1 all-zero check. OpenSSL (3.x, ossl_x25519)
 * already refuses an all-zero output and reports it as a failed derivation
 * (ERR_OSSL_FAILED_DURING_DERIVATION): that is mapped to the same WEAK_KEY error as our own check,
 * so callers see one typed error whichever layer notices first (Wycheproof ZeroSharedSecret cases).
 */
function derive(privateKey: KeyObject, publicKey: KeyObject | RawPublicKeyInput): SecretBytes {
  let out: Buffer;
  // Stack capture off: with key data rather than a KeyObject, node:crypto's brand checks throw and
  // catch internally five times per call (see publicHandle). A failure still maps to a typed error below.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    // @types/node lists PublicKeyInput (pem/der) only; Node 24 also takes the 'raw-public' form here.
    out = diffieHellman({ privateKey, publicKey: publicKey as KeyObject | PublicKeyInput });
  } catch (cause) {
    if ((cause as { code?: unknown }).code === 'ERR_OSSL_FAILED_DURING_DERIVATION') {
      throw new CryptoError(ErrorCodes.WEAK_KEY, 'X25519: all-zero shared secret', { cause });
    }
    throw new CryptoError(ErrorCodes.INVALID_KEY, 'X25519: key agreement failed', { cause });
  } finally {
    Error.stackTraceLimit = limit;
  }
  const shared = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  if (isAllZero(shared)) throw new CryptoError(ErrorCodes.WEAK_KEY, 'X25519: all-zero shared secret');
  return secretBytes(shared);
}

/** X25519(priv, pub); rejects an all-zero result (contributory behaviour, RFC 7748 §6.1). */
export function x25519(ours: X25519KeyPair, theirs: X25519PublicKey): SecretBytes {
  return derive(ours.handle, publicHandle(theirs));
}

/**
 * X25519(ours, theirs) for a public key that is used once — an onion layer's ephemeral key, a sealed
 * envelope's — under the same policy as x25519PublicKey + x25519. The key goes to OpenSSL as raw bytes
 * inside the agreement (node:crypto's diffieHellman takes key data since nodejs/node#62527, in Node 24
 * here): no KeyObject is built and none is cached, since nothing would use it again
 * (docs/crypto-primitives.md "Import once, reuse" has the costs).
 */
export function x25519Once(ours: X25519KeyPair, theirs: Uint8Array): SecretBytes {
  checkPublicKey(theirs);
  return derive(ours.handle, rawPublicKeyInput(theirs));
}

/**
 * RFC 7748 function on raw bytes, for test vectors only: no canonicality or small-order policy on `u`
 * (bit 255 is masked and u >= p reduced, as §5 requires), but an all-zero output is still WEAK_KEY.
 */
export function x25519Raw(scalar: Uint8Array, u: Uint8Array): SecretBytes {
  assertBytes(u, 'X25519 u', X25519_KEY_LENGTH);
  const pair = x25519FromPrivate(scalar);
  const pub = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: toBase64Url(u) }, format: 'jwk' });
  return derive(pair.handle, pub);
}
