/**
 * The ratchet message on the wire and its encrypted header (Signal Double Ratchet spec §4, HENCRYPT /
 * HDECRYPT), with ChaCha20-Poly1305 for both header and body:
 *
 *   message = version 0x03 (1) | nonce (12) | encrypted header (56) | body ciphertext (16 + plaintext)
 *   header  = DH ratchet public key (32) | PN (u32 BE) | N (u32 BE)                       — 40 bytes
 *   encrypted header = ChaCha20-Poly1305(HK, nonce, header, AD = version byte)
 *   body             = ChaCha20-Poly1305(MK, nonce, plaintext, AD = handshake AD | message[0..69))
 *
 * The nonce is drawn at random per message (ratchet.ts says why) and the body key is the message key
 * itself (kdf.ts); the caller passes both in. A relay sees only the version byte, random-looking
 * bytes and the length: no ratchet key, no counter. The parser is strict: version byte, minimum and maximum length, typed errors.
 * This module knows nothing of chains, counters' meaning or state.
 */
import { readU32be } from '../../lib/bytes.ts';
import { DecodeError, ErrorCodes } from '../../lib/errors.ts';
import { aeadSealInto, aeadTryOpen, AEAD_TAG_LENGTH } from '../../crypto/aead.ts';
import {
  RATCHET_ENCRYPTED_HEADER_LENGTH,
  RATCHET_HEADER_LENGTH,
  RATCHET_HEADER_NONCE_LENGTH,
  RATCHET_MAX_PLAINTEXT,
  RATCHET_MESSAGE_VERSION,
} from '../wire/constants.ts';
import type { HeaderKey } from './kdf.ts';

/** Bytes before the body: version, header nonce, encrypted header (69). */
export const MESSAGE_PREFIX_LENGTH = 1 + RATCHET_HEADER_NONCE_LENGTH + RATCHET_ENCRYPTED_HEADER_LENGTH;
const MIN_LENGTH = MESSAGE_PREFIX_LENGTH + AEAD_TAG_LENGTH;
const MAX_LENGTH = MESSAGE_PREFIX_LENGTH + RATCHET_MAX_PLAINTEXT + AEAD_TAG_LENGTH;
const HEADER_AD = Uint8Array.of(RATCHET_MESSAGE_VERSION);
const NONCE_OFFSET = 1;
const HEADER_OFFSET = NONCE_OFFSET + RATCHET_HEADER_NONCE_LENGTH;

export interface ParsedMessage {
  readonly nonce: Uint8Array;
  readonly encryptedHeader: Uint8Array;
  /** message[0..69): bound into the body's associated data. */
  readonly prefix: Uint8Array;
  readonly body: Uint8Array;
}

/** Strict parse of a ratchet message; views into `wire`, no copies. */
export function parseRatchetMessage(wire: Uint8Array): ParsedMessage {
  if (!(wire instanceof Uint8Array)) {
    throw new DecodeError(ErrorCodes.INVALID_ARGUMENT, 'ratchet message: expected Uint8Array');
  }
  if (wire.length < MIN_LENGTH) {
    throw new DecodeError(
      ErrorCodes.MALFORMED_MESSAGE,
      `ratchet message: expected at least ${MIN_LENGTH} bytes, got ${wire.length}`,
    );
  }
  if (wire[0] !== RATCHET_MESSAGE_VERSION) {
    throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `ratchet message: unsupported version ${wire[0]}`);
  }
  if (wire.length > MAX_LENGTH) {
    throw new DecodeError(ErrorCodes.INVALID_LENGTH, `ratchet message: at most ${MAX_LENGTH} bytes, got ${wire.length}`);
  }
  return {
    nonce: wire.subarray(NONCE_OFFSET, HEADER_OFFSET),
    encryptedHeader: wire.subarray(HEADER_OFFSET, MESSAGE_PREFIX_LENGTH),
    prefix: wire.subarray(0, MESSAGE_PREFIX_LENGTH),
    body: wire.subarray(MESSAGE_PREFIX_LENGTH),
  };
}

export interface Header {
  /** The sender's ratchet public key, raw: validated by the caller only when it starts a new chain. */
  readonly dh: Uint8Array;
  /** PN: the length of the sender's previous sending chain. */
  readonly pn: number;
  /** N: this message's number in the sending chain. */
  readonly n: number;
}

/** HENCRYPT: writes version, nonce and encrypted header into out[0..69). */
export function writeMessagePrefix(
  out: Uint8Array,
  headerKey: HeaderKey,
  nonce: Uint8Array,
  dh: Uint8Array,
  pn: number,
  n: number,
): void {
  const header = new Uint8Array(RATCHET_HEADER_LENGTH);
  header.set(dh, 0);
  const view = new DataView(header.buffer);
  view.setUint32(32, pn, false);
  view.setUint32(36, n, false);
  out[0] = RATCHET_MESSAGE_VERSION;
  out.set(nonce, NONCE_OFFSET);
  aeadSealInto(headerKey, nonce, header, HEADER_AD, out, HEADER_OFFSET);
}

/** HDECRYPT: the header if `headerKey` opens it, else null (the caller tries its next key). */
export function openHeader(headerKey: HeaderKey, message: ParsedMessage): Header | null {
  const plain = aeadTryOpen(headerKey, message.nonce, message.encryptedHeader, HEADER_AD);
  if (plain === null) return null;
  // The AEAD authenticated exactly 40 bytes, so the layout below cannot be out of bounds.
  return { dh: plain.subarray(0, 32), pn: readU32be(plain, 32), n: readU32be(plain, 36) };
}
