/**
 * Folder-private: moving X25519 and Ed25519 keys ("OKP" keys, RFC 8037) in and out of OpenSSL.
 * Private keys enter through PKCS#8 (RFC 8410: a fixed 16-byte prefix + the 32 raw bytes) in a Buffer
 * that is wiped after the import; both halves of an imported key leave through one JWK export, those of
 * a generated X25519 key raw (generateOkp).
 * This module knows nothing of what the keys are for.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { fromBase64Url } from '../lib/bytes.ts';
import { CryptoError, ErrorCodes } from '../lib/errors.ts';
import { secretBytes, type SecretBytes } from './secret.ts';

// RFC 8410 §7 PrivateKeyInfo for a 32-byte key: SEQUENCE { version 0, AlgorithmIdentifier { OID },
// OCTET STRING { OCTET STRING (32) } }; the OID's last byte tells X25519 (0x6e) from Ed25519 (0x70).
const PKCS8_PREFIX = (oidLast: number): Uint8Array =>
  Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, oidLast, 0x04, 0x22, 0x04, 0x20]);
const PREFIXES = { x25519: PKCS8_PREFIX(0x6e), ed25519: PKCS8_PREFIX(0x70) };
const RAW_PUBLIC = { publicKeyEncoding: { format: 'raw-public' } } as const;

export function importOkpPrivate(type: 'x25519' | 'ed25519', raw: Uint8Array): KeyObject {
  const prefix = PREFIXES[type];
  // A Buffer from the start, so the copy OpenSSL reads is the one we wipe.
  const der = Buffer.alloc(prefix.length + 32);
  der.set(prefix, 0);
  der.set(raw, prefix.length);
  // Node's import runs brand checks that throw and catch internally; capturing their stack traces costs
  // a third of the import (CPU, Node 24, load ~15: ~150 µs → ~95 µs; the rest is OpenSSL deriving the
  // public key), as in x25519.ts publicHandle. An import error propagates without a stack.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    Error.stackTraceLimit = limit;
    der.fill(0);
  }
}

export function exportOkp(handle: KeyObject, what: string): { publicKey: Uint8Array; privateKey: SecretBytes } {
  const jwk = handle.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string' || typeof jwk.d !== 'string') {
    throw new CryptoError(ErrorCodes.INTERNAL, `${what}: key export failed`);
  }
  return { publicKey: fromBase64Url(jwk.x), privateKey: secretBytes(fromBase64Url(jwk.d)) };
}

/** A Buffer's bytes as a plain Uint8Array over the same memory (node returns a fresh 32-byte Buffer). */
function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * A fresh key pair from OpenSSL: the private key as a KeyObject and both halves as bytes. The public
 * half comes out of the generation already encoded ('raw-public'), so node builds no public KeyObject
 * (each is a native handle the collector must finalize), and the private bytes leave through the
 * 'raw-private' export: no JWK object, no base64url strings to decode (nor an immutable string copy of
 * the private key left to the collector).
 */
export function generateOkp(type: 'x25519'): { handle: KeyObject; publicKey: Uint8Array; privateKey: SecretBytes } {
  // @types/node types the encoded public half for pem/der only; Node 24 also takes 'raw-public' here.
  const pair = (generateKeyPairSync as unknown as (t: string, o: typeof RAW_PUBLIC) => { publicKey: Buffer; privateKey: KeyObject })(type, RAW_PUBLIC);
  const priv = pair.privateKey.export({ format: 'raw-private' });
  if (pair.publicKey.length !== 32 || priv.length !== 32) {
    priv.fill(0);
    throw new CryptoError(ErrorCodes.INTERNAL, `${type}: key generation returned unexpected lengths`);
  }
  return { handle: pair.privateKey, publicKey: plain(pair.publicKey), privateKey: secretBytes(plain(priv)) };
}
