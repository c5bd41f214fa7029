/**
 * A user identity: an Ed25519 signing key and an X25519 DH key, bound by a signature of the signing key
 * over the DH key (DESIGN.md "Identity and first contact"). The user ID is a short hash of both.
 *
 * Encodings (docs/protocol.md §Identity), every one versioned and strict:
 *   public:  0x01 | ed25519 pub (32) | x25519 pub (32) | sig (64) = 129 bytes
 *   secret:  0x81 | ed25519 seed (32) | x25519 private (32)       = 65 bytes
 *   binding signature = Ed25519(sign key, "compeer/identity-binding/v1" | x25519 pub)
 *   user ID = base32(SHA-256("compeer/user-id/v1" | ed25519 pub | x25519 pub)[0..20])
 * This module knows nothing of prekeys, sessions or storage.
 */
import { concatBytes, equalBytes, toBase32, utf8 } from '../lib/bytes.ts';
import type { Rng } from '../lib/deps.ts';
import { CryptoError, DecodeError, ErrorCodes } from '../lib/errors.ts';
import {
  ed25519AssertValid,
  ed25519FromSeed,
  ed25519PublicKey,
  ed25519Sign,
  generateEd25519,
  type Ed25519KeyPair,
  type Ed25519PublicKey,
} from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { secretBytes } from '../crypto/secret.ts';
import { generateX25519, x25519FromPrivate, x25519PublicKey, type X25519KeyPair, type X25519PublicKey } from '../crypto/x25519.ts';

export const PUBLIC_IDENTITY_VERSION = 0x01;
export const SECRET_IDENTITY_VERSION = 0x81;
export const PUBLIC_IDENTITY_LENGTH = 1 + 32 + 32 + 64;
export const SECRET_IDENTITY_LENGTH = 1 + 32 + 32;
export const USER_ID_BYTES = 20;

const BINDING_LABEL = utf8('compeer/identity-binding/v1');
const USER_ID_LABEL = utf8('compeer/user-id/v1');

declare const userIdBrand: unique symbol;
/** Lowercase base32 of 20 bytes (32 characters). */
export type UserId = string & { readonly [userIdBrand]: true };

export interface PublicIdentity {
  readonly signingKey: Ed25519PublicKey;
  readonly dhKey: X25519PublicKey;
  readonly binding: Uint8Array;
}

export interface IdentityKeyPair {
  readonly signing: Ed25519KeyPair;
  readonly dh: X25519KeyPair;
  readonly public: PublicIdentity;
}

function bind(signing: Ed25519KeyPair, dh: X25519KeyPair): IdentityKeyPair {
  const binding = ed25519Sign(signing, concatBytes(BINDING_LABEL, dh.publicKey));
  return { signing, dh, public: { signingKey: signing.publicKey, dhKey: dh.publicKey, binding } };
}

export function generateIdentity(rng: Rng): IdentityKeyPair {
  return bind(generateEd25519(rng), generateX25519(rng));
}

export function publicIdentity(id: IdentityKeyPair): PublicIdentity {
  return id.public;
}

export function userIdOf(pub: PublicIdentity): UserId {
  const digest = sha256(concatBytes(USER_ID_LABEL, pub.signingKey, pub.dhKey));
  return toBase32(digest.subarray(0, USER_ID_BYTES)) as UserId;
}

const USER_ID_RE = /^[a-z2-7]{32}$/;
export function isUserId(s: string): s is UserId {
  return USER_ID_RE.test(s);
}

export function encodePublicIdentity(pub: PublicIdentity): Uint8Array {
  return concatBytes(Uint8Array.of(PUBLIC_IDENTITY_VERSION), pub.signingKey, pub.dhKey, pub.binding);
}

/** Strict decode: version, length, both keys validated, binding signature verified. */
export function decodePublicIdentity(bytes: Uint8Array): PublicIdentity {
  if (bytes.length !== PUBLIC_IDENTITY_LENGTH) {
    throw new DecodeError(ErrorCodes.INVALID_LENGTH, `public identity: expected ${PUBLIC_IDENTITY_LENGTH} bytes, got ${bytes.length}`);
  }
  if (bytes[0] !== PUBLIC_IDENTITY_VERSION) {
    throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `public identity: unsupported version ${bytes[0]}`);
  }
  const signingKey = ed25519PublicKey(bytes.subarray(1, 33));
  const dhKey = x25519PublicKey(bytes.subarray(33, 65));
  const binding = Uint8Array.from(bytes.subarray(65, 129));
  ed25519AssertValid(signingKey, concatBytes(BINDING_LABEL, dhKey), binding, 'identity binding');
  return { signingKey, dhKey, binding };
}

export function sameIdentity(a: PublicIdentity, b: PublicIdentity): boolean {
  return equalBytes(a.signingKey, b.signingKey) && equalBytes(a.dhKey, b.dhKey);
}

export function encodeIdentitySecret(id: IdentityKeyPair): Uint8Array {
  return secretBytes(concatBytes(Uint8Array.of(SECRET_IDENTITY_VERSION), id.signing.seed, id.dh.privateKey));
}

export function decodeIdentitySecret(bytes: Uint8Array): IdentityKeyPair {
  if (bytes.length !== SECRET_IDENTITY_LENGTH) {
    throw new DecodeError(ErrorCodes.INVALID_LENGTH, `identity secret: expected ${SECRET_IDENTITY_LENGTH} bytes, got ${bytes.length}`);
  }
  if (bytes[0] !== SECRET_IDENTITY_VERSION) {
    throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `identity secret: unsupported version ${bytes[0]}`);
  }
  const id = bind(ed25519FromSeed(bytes.subarray(1, 33)), x25519FromPrivate(bytes.subarray(33, 65)));
  // Ed25519 signing is deterministic, so the rebuilt binding must verify; a failure means a corrupt secret.
  try {
    ed25519AssertValid(id.signing.publicKey, concatBytes(BINDING_LABEL, id.dh.publicKey), id.public.binding, 'identity binding');
  } catch (cause) {
    throw new CryptoError(ErrorCodes.STATE_CORRUPT, 'identity secret: keys do not bind', { cause });
  }
  return id;
}
