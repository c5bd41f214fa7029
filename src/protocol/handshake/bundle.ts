/**
 * The prekey bundle (PQXDH spec rev. 3 §3.2, "Bob publishes keys"): a signed, versioned record that an
 * initiator fetches (DHT, invite, the owner's node) to start a session. Fixed-layout binary, not
 * protobuf: the bundle signature must cover exactly one encoding of each value, and a fixed layout has
 * no field order, unknown fields, repeated fields or non-minimal varints to canonicalise.
 *
 *   version            1   0x01
 *   identity         129   PublicIdentity encoding (protocol/identity.ts)
 *   timestamp          8   u64 ms since the epoch (newer bundles replace older ones)
 *   flags              1   bit 0: a one-time prekey follows the SPK; bit 1: the KEM prekey is last-resort
 *   SPK              109   id u32 | createdAt u64 | 0x05 | key (32) | signature (64)
 *   [OPK              37]  id u32 | 0x05 | key (32)
 *   KEM prekey      1261   id u32 | createdAt u64 | 0x08 | key (1184) | signature (64)
 *   signature         64   Ed25519(IK, "compeer/prekey-bundle/v1" | all preceding bytes)
 *
 * 1,573 bytes without a one-time prekey, 1,610 with one; nothing else decodes.
 * Decoding verifies everything: the identity binding, every key (canonical, not small order, FIPS 203
 * modulus check), the SPK and KEM prekey signatures, the bundle signature. The result is branded
 * `VerifiedPrekeyBundle`; the initiator only accepts that type. Whether the identity is the one the
 * caller expected (invite, contact list) is the caller's check; this module does not know contacts.
 */
import { concatBytes, utf8 } from '../../lib/bytes.ts';
import { assertInteger } from '../../lib/assert.ts';
import { DecodeError, ErrorCodes, LimitError } from '../../lib/errors.ts';
import { ed25519AssertValid, ed25519Sign, ED25519_SIGNATURE_LENGTH } from '../../crypto/ed25519.ts';
import {

  encodePublicIdentity,
  PUBLIC_IDENTITY_LENGTH,
  userIdOf,
  type IdentityKeyPair,
  type PublicIdentity,
  type UserId,
} from '../identity.ts';
import { PREKEY_BUNDLE_VERSION } from '../wire/constants.ts';
import { encodeMlKem768Key, encodeX25519Key, ENCODED_MLKEM768_LENGTH, ENCODED_X25519_LENGTH, Reader, u32, u64 } from './_codec.ts';
import { verifyKemPrekey, verifySignedPrekey, type KemPrekey, type OneTimePrekey, type SignedPrekey } from './prekeys.ts';
import type { PrekeyPool } from './prekey-store.ts';
import { decodeKnownIdentity } from '../identity-cache.ts';

const BUNDLE_SIGNATURE_LABEL = utf8('compeer/prekey-bundle/v1');

const FLAG_ONE_TIME_PREKEY = 0x01;
const FLAG_KEM_LAST_RESORT = 0x02;
const KNOWN_FLAGS = FLAG_ONE_TIME_PREKEY | FLAG_KEM_LAST_RESORT;

const SPK_LENGTH = 4 + 8 + ENCODED_X25519_LENGTH + ED25519_SIGNATURE_LENGTH;
const OPK_LENGTH = 4 + ENCODED_X25519_LENGTH;
const KEM_LENGTH = 4 + 8 + ENCODED_MLKEM768_LENGTH + ED25519_SIGNATURE_LENGTH;
export const PREKEY_BUNDLE_MIN_LENGTH = 1 + PUBLIC_IDENTITY_LENGTH + 8 + 1 + SPK_LENGTH + KEM_LENGTH + ED25519_SIGNATURE_LENGTH;
export const PREKEY_BUNDLE_MAX_LENGTH = PREKEY_BUNDLE_MIN_LENGTH + OPK_LENGTH;

export interface PrekeyBundle {
  readonly identity: PublicIdentity;
  /** userIdOf(identity), computed once. */
  readonly userId: UserId;
  readonly timestamp: number;
  readonly signedPrekey: SignedPrekey;
  readonly oneTimePrekey: OneTimePrekey | undefined;
  readonly kemPrekey: KemPrekey;
  readonly signature: Uint8Array;
}

declare const verifiedBrand: unique symbol;
/** A bundle whose every key and signature has been checked (by decoding, or because we made it). */
export type VerifiedPrekeyBundle = PrekeyBundle & { readonly [verifiedBrand]: true };

export interface BundleParts {
  readonly signedPrekey: SignedPrekey;
  readonly oneTimePrekey?: OneTimePrekey | undefined;
  readonly kemPrekey: KemPrekey;
}

function encodeBody(identity: PublicIdentity, timestamp: number, parts: BundleParts): Uint8Array {
  const { signedPrekey: spk, oneTimePrekey: opk, kemPrekey: kem } = parts;
  const flags = (opk ? FLAG_ONE_TIME_PREKEY : 0) | (kem.kind === 'last-resort' ? FLAG_KEM_LAST_RESORT : 0);
  return concatBytes(
    Uint8Array.of(PREKEY_BUNDLE_VERSION),
    encodePublicIdentity(identity),
    u64(timestamp),
    Uint8Array.of(flags),
    u32(spk.id),
    u64(spk.createdAt),
    encodeX25519Key(spk.publicKey),
    spk.signature,
    ...(opk ? [u32(opk.id), encodeX25519Key(opk.publicKey)] : []),
    u32(kem.id),
    u64(kem.createdAt),
    encodeMlKem768Key(kem.publicKey),
    kem.signature,
  );
}

/**
 * Signs a bundle with the identity key. The parts must be this identity's (their signatures are
 * checked, so a wrong or corrupt prekey is caught here rather than by every initiator).
 */
export function createPrekeyBundle(identity: IdentityKeyPair, parts: BundleParts, timestamp: number): VerifiedPrekeyBundle {
  assertInteger(timestamp, 'bundle timestamp', 0, Number.MAX_SAFE_INTEGER);
  verifySignedPrekey(identity.public.signingKey, parts.signedPrekey);
  verifyKemPrekey(identity.public.signingKey, parts.kemPrekey);
  const body = encodeBody(identity.public, timestamp, parts);
  const signature = ed25519Sign(identity.signing, concatBytes(BUNDLE_SIGNATURE_LABEL, body));
  return {
    identity: identity.public,
    userId: userIdOf(identity.public),
    timestamp,
    signedPrekey: parts.signedPrekey,
    oneTimePrekey: parts.oneTimePrekey,
    kemPrekey: parts.kemPrekey,
    signature,
  } as VerifiedPrekeyBundle;
}

/**
 * The next bundle from a pool: current SPK, a fresh one-time prekey if any, a one-time KEM prekey if
 * any else the last-resort one. Undefined when the pool has no SPK or no KEM prekey yet.
 */
export function bundleFromPool(identity: IdentityKeyPair, pool: PrekeyPool, now: number): VerifiedPrekeyBundle | undefined {
  const signedPrekey = pool.currentSignedPrekey();
  if (!signedPrekey) return undefined;
  const kemPrekey = pool.reserveKemPrekey();
  if (!kemPrekey) return undefined;
  return createPrekeyBundle(identity, { signedPrekey, oneTimePrekey: pool.reserveOneTimePrekey(), kemPrekey }, now);
}

export function encodePrekeyBundle(bundle: PrekeyBundle): Uint8Array {
  return concatBytes(encodeBody(bundle.identity, bundle.timestamp, bundle), bundle.signature);
}

/** Strict decode and full verification; every failure is a typed error (DecodeError, CryptoError, LimitError). */
export function decodePrekeyBundle(bytes: Uint8Array): VerifiedPrekeyBundle {
  if (bytes.length > PREKEY_BUNDLE_MAX_LENGTH) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `prekey bundle: at most ${PREKEY_BUNDLE_MAX_LENGTH} bytes, got ${bytes.length}`);
  }
  if (bytes.length !== PREKEY_BUNDLE_MIN_LENGTH && bytes.length !== PREKEY_BUNDLE_MAX_LENGTH) {
    throw new DecodeError(
      ErrorCodes.INVALID_LENGTH,
      `prekey bundle: expected ${PREKEY_BUNDLE_MIN_LENGTH} or ${PREKEY_BUNDLE_MAX_LENGTH} bytes, got ${bytes.length}`,
    );
  }
  const r = new Reader(bytes, 'prekey bundle');
  const version = r.u8('version');
  if (version !== PREKEY_BUNDLE_VERSION) {
    throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `prekey bundle: unsupported version ${version}`);
  }
  const identity = decodeKnownIdentity(r.bytes(PUBLIC_IDENTITY_LENGTH, 'identity'));
  const timestamp = r.u64('timestamp');
  const flags = r.u8('flags');
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `prekey bundle: unknown flags 0x${flags.toString(16)}`);
  }
  const signedPrekey: SignedPrekey = {
    id: r.u32('signed prekey id'),
    createdAt: r.u64('signed prekey createdAt'),
    publicKey: r.x25519Key('signed prekey'),
    signature: r.bytes(ED25519_SIGNATURE_LENGTH, 'signed prekey signature'),
  };
  let oneTimePrekey: OneTimePrekey | undefined;
  if (flags & FLAG_ONE_TIME_PREKEY) {
    oneTimePrekey = { id: r.u32('one-time prekey id'), publicKey: r.x25519Key('one-time prekey') };
  }
  const kemPrekey: KemPrekey = {
    id: r.u32('KEM prekey id'),
    kind: flags & FLAG_KEM_LAST_RESORT ? 'last-resort' : 'one-time',
    createdAt: r.u64('KEM prekey createdAt'),
    publicKey: r.mlKem768Key('KEM prekey'),
    signature: r.bytes(ED25519_SIGNATURE_LENGTH, 'KEM prekey signature'),
  };
  const bodyLength = r.offset;
  const signature = r.bytes(ED25519_SIGNATURE_LENGTH, 'bundle signature');
  r.end();

  ed25519AssertValid(identity.signingKey, concatBytes(BUNDLE_SIGNATURE_LABEL, bytes.subarray(0, bodyLength)), signature, 'prekey bundle');
  verifySignedPrekey(identity.signingKey, signedPrekey);
  verifyKemPrekey(identity.signingKey, kemPrekey);
  return { identity, userId: userIdOf(identity), timestamp, signedPrekey, oneTimePrekey, kemPrekey, signature } as VerifiedPrekeyBundle;
}
