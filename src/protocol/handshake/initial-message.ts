/**
 * The PQXDH initial message (PQXDH spec rev. 3 §3.3, "Sending the initial message"): what the initiator
 * prepends to its ratchet messages until the responder's first reply arrives. Fixed-layout binary:
 *
 *   version            1   0x01
 *   initiator        129   PublicIdentity encoding (IK_A, protocol/identity.ts)
 *   ephemeral key     33   0x05 | EK_A (32)
 *   flags              1   bit 0: a one-time prekey id follows the SPK id
 *   SPK id             4   u32
 *   [OPK id            4]  u32
 *   KEM prekey id      4   u32
 *   KEM ciphertext  1088   ML-KEM-768 ciphertext CT
 *
 * 1,260 bytes without a one-time prekey, 1,264 with one; nothing else decodes. Decoding checks the
 * version, lengths, flags, the identity binding and the ephemeral key (canonical, not small order). It
 * cannot check authenticity: that comes from the first ratchet message's AEAD under the derived keys.
 * This module knows nothing of key derivation or prekey storage.
 */
import { concatBytes } from '../../lib/bytes.ts';
import { assertBytes } from '../../lib/assert.ts';
import { DecodeError, ErrorCodes, LimitError } from '../../lib/errors.ts';
import { MLKEM768_CIPHERTEXT_LENGTH } from '../../crypto/mlkem768.ts';
import type { X25519PublicKey } from '../../crypto/x25519.ts';
import { encodePublicIdentity, PUBLIC_IDENTITY_LENGTH, type PublicIdentity } from '../identity.ts';
import { PQXDH_INITIAL_MESSAGE_VERSION } from '../wire/constants.ts';
import { encodeX25519Key, ENCODED_X25519_LENGTH, Reader, u32 } from './_codec.ts';
import type { PrekeyId } from './prekeys.ts';
import { decodeKnownIdentity } from '../identity-cache.ts';

const FLAG_ONE_TIME_PREKEY = 0x01;

export const INITIAL_MESSAGE_MIN_LENGTH = 1 + PUBLIC_IDENTITY_LENGTH + ENCODED_X25519_LENGTH + 1 + 4 + 4 + MLKEM768_CIPHERTEXT_LENGTH;
export const INITIAL_MESSAGE_MAX_LENGTH = INITIAL_MESSAGE_MIN_LENGTH + 4;

export interface InitialMessage {
  readonly initiator: PublicIdentity;
  /** EK_A's public half; the private half never leaves initiatePqxdh. */
  readonly ephemeralKey: X25519PublicKey;
  readonly signedPrekeyId: PrekeyId;
  readonly oneTimePrekeyId: PrekeyId | undefined;
  readonly kemPrekeyId: PrekeyId;
  readonly kemCiphertext: Uint8Array;
}

export function encodeInitialMessage(m: InitialMessage): Uint8Array {
  assertBytes(m.kemCiphertext, 'KEM ciphertext', MLKEM768_CIPHERTEXT_LENGTH);
  const hasOpk = m.oneTimePrekeyId !== undefined;
  return concatBytes(
    Uint8Array.of(PQXDH_INITIAL_MESSAGE_VERSION),
    encodePublicIdentity(m.initiator),
    encodeX25519Key(m.ephemeralKey),
    Uint8Array.of(hasOpk ? FLAG_ONE_TIME_PREKEY : 0),
    u32(m.signedPrekeyId),
    ...(m.oneTimePrekeyId !== undefined ? [u32(m.oneTimePrekeyId)] : []),
    u32(m.kemPrekeyId),
    m.kemCiphertext,
  );
}

export function decodeInitialMessage(bytes: Uint8Array): InitialMessage {
  if (bytes.length > INITIAL_MESSAGE_MAX_LENGTH) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `PQXDH initial message: at most ${INITIAL_MESSAGE_MAX_LENGTH} bytes, got ${bytes.length}`);
  }
  if (bytes.length !== INITIAL_MESSAGE_MIN_LENGTH && bytes.length !== INITIAL_MESSAGE_MAX_LENGTH) {
    throw new DecodeError(
      ErrorCodes.INVALID_LENGTH,
      `PQXDH initial message: expected ${INITIAL_MESSAGE_MIN_LENGTH} or ${INITIAL_MESSAGE_MAX_LENGTH} bytes, got ${bytes.length}`,
    );
  }
  const r = new Reader(bytes, 'PQXDH initial message');
  const version = r.u8('version');
  if (version !== PQXDH_INITIAL_MESSAGE_VERSION) {
    throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `PQXDH initial message: unsupported version ${version}`);
  }
  const initiator = decodeKnownIdentity(r.bytes(PUBLIC_IDENTITY_LENGTH, 'initiator identity'));
  const ephemeralKey = r.x25519Key('ephemeral key');
  const flags = r.u8('flags');
  if ((flags & ~FLAG_ONE_TIME_PREKEY) !== 0) {
    throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `PQXDH initial message: unknown flags 0x${flags.toString(16)}`);
  }
  const signedPrekeyId = r.u32('signed prekey id');
  const oneTimePrekeyId = flags & FLAG_ONE_TIME_PREKEY ? r.u32('one-time prekey id') : undefined;
  const kemPrekeyId = r.u32('KEM prekey id');
  const kemCiphertext = r.bytes(MLKEM768_CIPHERTEXT_LENGTH, 'KEM ciphertext');
  r.end();
  return { initiator, ephemeralKey, signedPrekeyId, oneTimePrekeyId, kemPrekeyId, kemCiphertext };
}
