/**
 * Sealed-sender envelope: the outer envelope carries no sender identity in clear; only the recipient learns
 * who sent it, and learns it authenticated (docs/protocol.md "Sealed sender"). After Signal's sealed sender
 * v1 without the server certificate (there is no server); the shape is Noise's one-way X pattern
 * (<- s; -> e, es, s, ss).
 *
 *   envelope = V (1) | E (32) | c1 = AEAD(k1, n1, enc(IK_A), ad1) (145) | c2 = AEAD(k2, n2, pad(content), ad2)
 *   R        = IK_B signing key | IK_B DH key (the recipient identity, 64 bytes);  S likewise for the sender
 *   ad1      = V | E | R                                   ad2 = V | E | R | S | c1
 *   ck | k1 | n1 = HKDF-SHA256(ikm = DH(e, IK_B), salt = ∅,  info = "compeer/sealed/v1/ephemeral" | ad1, 76)
 *   k2 | n2      = HKDF-SHA256(ikm = DH(IK_A, IK_B), salt = ck, info = "compeer/sealed/v1/static" | ad2, 44)
 *
 * Pipeline, seal: 1. pad 2. fresh ephemeral e 3. chain 1, encrypt the sender identity 4. mix in the static
 * DH, encrypt the content. Open: 1. sizes and version 2. E valid 3. c1 → sender identity (binding signature
 * verified) 4. c2 under the static DH → only the holder of IK_A's DH key can have made it 5. unpad.
 * Keys are single-use (a fresh e per envelope), so the nonces are derived with them.
 * This module knows nothing of what the content is (a ratchet message), of routing, or of replay caches.
 */
import { concatBytes, utf8, wipe } from '../../lib/bytes.ts';
import type { Rng } from '../../lib/deps.ts';
import { DecodeError, ErrorCodes, LimitError } from '../../lib/errors.ts';
import { AEAD_KEY_LENGTH, AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH, aeadOpen, aeadSeal } from '../../crypto/aead.ts';
import { hkdfSha256 } from '../../crypto/hkdf.ts';
import { secretBytes } from '../../crypto/secret.ts';
import { X25519_KEY_LENGTH, generateX25519, x25519, x25519Once } from '../../crypto/x25519.ts';
import {
  PUBLIC_IDENTITY_LENGTH,

  encodePublicIdentity,
  type IdentityKeyPair,
  type PublicIdentity,
} from '../identity.ts';
import { SEALED_PAD_MAX, SEALED_PAD_MIN, SEALED_VERSION } from '../wire/constants.ts';
import { isBucketSize, pad, unpad } from './padding.ts';
import { staticDh } from './static-dh.ts';
import { decodeKnownIdentity, type IdentityDecoder } from '../identity-cache.ts';

const EPHEMERAL_INFO = utf8('compeer/sealed/v1/ephemeral');
const STATIC_INFO = utf8('compeer/sealed/v1/static');
const CHAIN_KEY_LENGTH = 32;

const HEADER_LENGTH = 1 + X25519_KEY_LENGTH;
const SENDER_BLOCK_LENGTH = PUBLIC_IDENTITY_LENGTH + AEAD_TAG_LENGTH;
/** Everything but the padded content: 1 + 32 + 145 + 16 = 194 bytes. */
export const SEALED_OVERHEAD = HEADER_LENGTH + SENDER_BLOCK_LENGTH + AEAD_TAG_LENGTH;
export const SEALED_MIN_LENGTH = SEALED_OVERHEAD + SEALED_PAD_MIN;
export const SEALED_MAX_LENGTH = SEALED_OVERHEAD + SEALED_PAD_MAX;

export interface OpenedEnvelope {
  /** The authenticated sender: its binding signature verified, its DH key proven by the static DH. */
  readonly sender: PublicIdentity;
  readonly content: Uint8Array;
}

function identityKeys(pub: PublicIdentity): Uint8Array {
  return concatBytes(pub.signingKey, pub.dhKey);
}

interface Chain1 {
  readonly ck: Uint8Array;
  readonly k1: Uint8Array;
  readonly n1: Uint8Array;
}

function chain1(dh: Uint8Array, ad1: Uint8Array): Chain1 {
  const okm = hkdfSha256(dh, undefined, concatBytes(EPHEMERAL_INFO, ad1), CHAIN_KEY_LENGTH + AEAD_KEY_LENGTH + AEAD_NONCE_LENGTH);
  const out = {
    ck: secretBytes(okm.slice(0, CHAIN_KEY_LENGTH)),
    k1: secretBytes(okm.slice(CHAIN_KEY_LENGTH, CHAIN_KEY_LENGTH + AEAD_KEY_LENGTH)),
    n1: okm.slice(CHAIN_KEY_LENGTH + AEAD_KEY_LENGTH),
  };
  wipe(okm, dh);
  return out;
}

function chain2(dh: Uint8Array, ck: Uint8Array, ad2: Uint8Array): { k2: Uint8Array; n2: Uint8Array } {
  const okm = hkdfSha256(dh, ck, concatBytes(STATIC_INFO, ad2), AEAD_KEY_LENGTH + AEAD_NONCE_LENGTH);
  const out = { k2: secretBytes(okm.slice(0, AEAD_KEY_LENGTH)), n2: okm.slice(AEAD_KEY_LENGTH) };
  wipe(okm, dh, ck);
  return out;
}

/** Seals `content` (at most SEALED_PAD_MAX - 1 bytes) from `sender` to `recipient`. */
export function sealEnvelope(sender: IdentityKeyPair, recipient: PublicIdentity, content: Uint8Array, rng: Rng): Uint8Array {
  const padded = pad(content); // throws LimitError when too large
  const eph = generateX25519(rng);
  const header = concatBytes(Uint8Array.of(SEALED_VERSION), eph.publicKey);
  const r = identityKeys(recipient);
  const ad1 = concatBytes(header, r);

  const { ck, k1, n1 } = chain1(x25519(eph, recipient.dhKey), ad1);
  wipe(eph.privateKey);
  const c1 = aeadSeal(k1, n1, encodePublicIdentity(sender.public), ad1);

  const ad2 = concatBytes(ad1, identityKeys(sender.public), c1);
  const { k2, n2 } = chain2(staticDh(sender.dh, recipient.dhKey), ck, ad2);
  const c2 = aeadSeal(k2, n2, padded, ad2);
  wipe(k1, k2, padded);
  return concatBytes(header, c1, c2);
}

/**
 * Opens an envelope addressed to `recipient`. Every failure is a typed CompeerError: LimitError (too large),
 * DecodeError (length, version, padding), CryptoError (invalid ephemeral key, authentication, sender binding).
 * The caller must not tell the sender why an envelope failed (no oracle). `decodeSender` defaults to
 * the memoized strict decoder of identity-cache.ts (tests may pass their own) to skip re-verifying
 * known senders.
 */
export function openEnvelope(
  recipient: IdentityKeyPair,
  bytes: Uint8Array,
  decodeSender: IdentityDecoder = decodeKnownIdentity,
): OpenedEnvelope {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(ErrorCodes.INVALID_ARGUMENT, 'sealed envelope: expected Uint8Array');
  if (bytes.length > SEALED_MAX_LENGTH) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `sealed envelope: at most ${SEALED_MAX_LENGTH} bytes, got ${bytes.length}`);
  }
  if (bytes.length < SEALED_MIN_LENGTH || !isBucketSize(bytes.length - SEALED_OVERHEAD)) {
    throw new DecodeError(ErrorCodes.INVALID_LENGTH, `sealed envelope: ${bytes.length} bytes is not a valid envelope size`);
  }
  if (bytes[0] !== SEALED_VERSION) {
    throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `sealed envelope: unsupported version ${bytes[0]}`);
  }
  const header = bytes.subarray(0, HEADER_LENGTH);
  // Used for this one envelope: validated inside x25519Once (canonical, not small order) and handed to
  // OpenSSL as raw bytes, with no key object built or cached for it.
  const ephemeral = header.subarray(1);
  const c1 = bytes.subarray(HEADER_LENGTH, HEADER_LENGTH + SENDER_BLOCK_LENGTH);
  const c2 = bytes.subarray(HEADER_LENGTH + SENDER_BLOCK_LENGTH);
  const ad1 = concatBytes(header, identityKeys(recipient.public));

  const { ck, k1, n1 } = chain1(x25519Once(recipient.dh, ephemeral), ad1);
  let sender: PublicIdentity;
  try {
    sender = decodeSender(aeadOpen(k1, n1, c1, ad1));
  } catch (e) {
    wipe(ck);
    throw e;
  } finally {
    wipe(k1);
  }

  const ad2 = concatBytes(ad1, identityKeys(sender), c1);
  const { k2, n2 } = chain2(staticDh(recipient.dh, sender.dhKey), ck, ad2);
  let padded: Uint8Array;
  try {
    padded = aeadOpen(k2, n2, c2, ad2);
  } finally {
    wipe(k2);
  }
  const content = unpad(padded);
  wipe(padded);
  return { sender, content };
}
