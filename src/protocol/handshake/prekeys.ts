/**
 * Prekeys (PQXDH spec rev. 3 §2.2, §3.2): generation, signatures, and their verification.
 *
 *   signed prekey       SPK   X25519, signed, rotated (the responder's first ratchet key, as in Signal)
 *   one-time prekey     OPK   X25519, unsigned (the bundle signature covers it), deleted after one use
 *   KEM prekey          PQPK  ML-KEM-768, signed, either one-time (deleted after use) or last-resort
 *
 * Every signature is Ed25519 by the identity signing key over a domain-separated message
 * (docs/protocol.md §"Identity, prekeys and PQXDH"):
 *
 *   "compeer/prekey-signature/v1" | role (1) | id (u32) | createdAt (u64, ms) | type byte | key
 *
 * with role 0x01 = signed X25519 prekey, 0x02 = one-time ML-KEM prekey, 0x03 = last-resort ML-KEM
 * prekey. Role and type byte make a signature over one kind of key useless for another (the KEM/DH
 * key-confusion attack of the PQXDH analysis, Bhargavan et al., USENIX Security '24).
 * This module knows nothing of bundles, storage, or the handshake itself.
 */
import { concatBytes, utf8 } from '../../lib/bytes.ts';
import { assertInteger } from '../../lib/assert.ts';
import type { Rng } from '../../lib/deps.ts';
import { ed25519AssertValid, ed25519Sign, type Ed25519PublicKey } from '../../crypto/ed25519.ts';
import { generateX25519, type X25519KeyPair, type X25519PublicKey } from '../../crypto/x25519.ts';
import { generateMlKem768, type MlKem768KeyPair, type MlKem768PublicKey } from '../../crypto/mlkem768.ts';
import type { IdentityKeyPair } from '../identity.ts';
import { encodeMlKem768Key, encodeX25519Key, u32, u64, U32_MAX } from './_codec.ts';

const PREKEY_SIGNATURE_LABEL = utf8('compeer/prekey-signature/v1');

export const PREKEY_ROLE_SIGNED = 0x01;
export const PREKEY_ROLE_KEM_ONE_TIME = 0x02;
export const PREKEY_ROLE_KEM_LAST_RESORT = 0x03;

/** Prekey ids are unsigned 32-bit integers chosen by the owner (unique per kind). */
export type PrekeyId = number;
export type KemPrekeyKind = 'one-time' | 'last-resort';

export interface SignedPrekey {
  readonly id: PrekeyId;
  readonly publicKey: X25519PublicKey;
  /** Milliseconds since the Unix epoch, covered by the signature. */
  readonly createdAt: number;
  readonly signature: Uint8Array;
}

export interface OneTimePrekey {
  readonly id: PrekeyId;
  readonly publicKey: X25519PublicKey;
}

export interface KemPrekey {
  readonly id: PrekeyId;
  readonly kind: KemPrekeyKind;
  readonly publicKey: MlKem768PublicKey;
  readonly createdAt: number;
  readonly signature: Uint8Array;
}

/** Private side: the public record plus its key pair (with the cached OpenSSL handle). */
export interface SignedPrekeyPair {
  readonly public: SignedPrekey;
  readonly keyPair: X25519KeyPair;
}

export interface OneTimePrekeyPair {
  readonly public: OneTimePrekey;
  readonly keyPair: X25519KeyPair;
}

export interface KemPrekeyPair {
  readonly public: KemPrekey;
  readonly keyPair: MlKem768KeyPair;
}

function assertId(id: number, name: string): void {
  assertInteger(id, name, 0, U32_MAX);
}

function assertTimestamp(t: number, name: string): void {
  assertInteger(t, name, 0, Number.MAX_SAFE_INTEGER);
}

/** The exact bytes an SPK signature covers. */
export function signedPrekeyMessage(id: PrekeyId, createdAt: number, publicKey: X25519PublicKey): Uint8Array {
  return concatBytes(PREKEY_SIGNATURE_LABEL, Uint8Array.of(PREKEY_ROLE_SIGNED), u32(id), u64(createdAt), encodeX25519Key(publicKey));
}

/** The exact bytes a KEM prekey signature covers; the kind is part of it. */
export function kemPrekeyMessage(kind: KemPrekeyKind, id: PrekeyId, createdAt: number, publicKey: MlKem768PublicKey): Uint8Array {
  const role = kind === 'one-time' ? PREKEY_ROLE_KEM_ONE_TIME : PREKEY_ROLE_KEM_LAST_RESORT;
  return concatBytes(PREKEY_SIGNATURE_LABEL, Uint8Array.of(role), u32(id), u64(createdAt), encodeMlKem768Key(publicKey));
}

export function generateSignedPrekey(identity: IdentityKeyPair, id: PrekeyId, rng: Rng, now: number): SignedPrekeyPair {
  assertId(id, 'signed prekey id');
  assertTimestamp(now, 'signed prekey createdAt');
  const keyPair = generateX25519(rng);
  const signature = ed25519Sign(identity.signing, signedPrekeyMessage(id, now, keyPair.publicKey));
  return { public: { id, publicKey: keyPair.publicKey, createdAt: now, signature }, keyPair };
}

/** `count` one-time X25519 prekeys with ids firstId, firstId + 1, ... */
export function generateOneTimePrekeys(firstId: PrekeyId, count: number, rng: Rng): OneTimePrekeyPair[] {
  assertInteger(count, 'one-time prekey count', 0, 10_000);
  assertId(firstId, 'one-time prekey id');
  assertId(firstId + Math.max(count - 1, 0), 'last one-time prekey id');
  const out: OneTimePrekeyPair[] = [];
  for (let i = 0; i < count; i++) {
    const keyPair = generateX25519(rng);
    out.push({ public: { id: firstId + i, publicKey: keyPair.publicKey }, keyPair });
  }
  return out;
}

export function generateKemPrekey(
  identity: IdentityKeyPair,
  kind: KemPrekeyKind,
  id: PrekeyId,
  rng: Rng,
  now: number,
): KemPrekeyPair {
  assertId(id, 'KEM prekey id');
  assertTimestamp(now, 'KEM prekey createdAt');
  const keyPair = generateMlKem768(rng);
  const signature = ed25519Sign(identity.signing, kemPrekeyMessage(kind, id, now, keyPair.publicKey));
  return { public: { id, kind, publicKey: keyPair.publicKey, createdAt: now, signature }, keyPair };
}

/** `count` one-time ML-KEM-768 prekeys with ids firstId, firstId + 1, ... */
export function generateOneTimeKemPrekeys(
  identity: IdentityKeyPair,
  firstId: PrekeyId,
  count: number,
  rng: Rng,
  now: number,
): KemPrekeyPair[] {
  assertInteger(count, 'one-time KEM prekey count', 0, 10_000);
  assertId(firstId + Math.max(count - 1, 0), 'last one-time KEM prekey id');
  const out: KemPrekeyPair[] = [];
  for (let i = 0; i < count; i++) out.push(generateKemPrekey(identity, 'one-time', firstId + i, rng, now));
  return out;
}

/** Throws CryptoError BAD_SIGNATURE unless `spk` is signed by `signingKey`. Keys are already validated. */
export function verifySignedPrekey(signingKey: Ed25519PublicKey, spk: SignedPrekey): void {
  ed25519AssertValid(signingKey, signedPrekeyMessage(spk.id, spk.createdAt, spk.publicKey), spk.signature, 'signed prekey');
}

export function verifyKemPrekey(signingKey: Ed25519PublicKey, kem: KemPrekey): void {
  ed25519AssertValid(signingKey, kemPrekeyMessage(kem.kind, kem.id, kem.createdAt, kem.publicKey), kem.signature, `${kem.kind} KEM prekey`);
}
