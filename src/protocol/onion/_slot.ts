/**
 * One decrypted routing slot of the onion packet (docs/onion.md "Layout"), 112 bytes:
 *
 *   forward = 0x01 | len (1) | next hop's libp2p peer ID, ASCII (len ≤ 62, zero-padded to 62)
 *                  | E_next (32) | γ_next (16, the next layer's Poly1305 tag)
 *   exit    = 0x02 | payload length (u16, big-endian) | 109 zero bytes
 *
 * Decoding is strict (kind, length bounds, characters, zero padding): after the MAC verified, a bad
 * slot can only come from a sender that built it so, and it is refused as malformed.
 * This module knows nothing of keys or of where the slot sits in the packet.
 */
import { assertBytes } from '../../lib/assert.ts';
import { isAllZero } from '../../lib/bytes.ts';
import { CompeerError, DecodeError, ErrorCodes } from '../../lib/errors.ts';

export const SLOT_BYTES = 112;
export const ONION_MAX_PEER_ID_BYTES = 62;
const KEY_BYTES = 32;
const TAG_BYTES = 16;
const FORWARD = 0x01;
const EXIT = 0x02;
const PEER_OFF = 2;
const E_OFF = PEER_OFF + ONION_MAX_PEER_ID_BYTES; // 64
const MAC_OFF = E_OFF + KEY_BYTES; // 96, and MAC_OFF + TAG_BYTES = SLOT_BYTES

export type Slot =
  | { readonly kind: 'forward'; readonly next: string; readonly ephemeral: Uint8Array; readonly mac: Uint8Array }
  | { readonly kind: 'exit'; readonly length: number };

/** Printable ASCII without space: covers base58btc and multibase base32 peer IDs. */
function isPeerIdByte(c: number): boolean {
  return c >= 0x21 && c <= 0x7e;
}

/** Throws INVALID_ARGUMENT unless `next` can be carried in a slot (1..62 printable ASCII characters). */
export function assertPeerId(next: string): void {
  let ok = next.length >= 1 && next.length <= ONION_MAX_PEER_ID_BYTES;
  for (let i = 0; ok && i < next.length; i++) ok = isPeerIdByte(next.charCodeAt(i));
  if (!ok) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `onion: next hop must be 1..${ONION_MAX_PEER_ID_BYTES} printable ASCII characters`);
  }
}

export function encodeForwardSlot(next: string, ephemeral: Uint8Array, mac: Uint8Array): Uint8Array {
  assertPeerId(next);
  assertBytes(ephemeral, 'onion slot ephemeral key', KEY_BYTES);
  assertBytes(mac, 'onion slot tag', TAG_BYTES);
  const slot = new Uint8Array(SLOT_BYTES);
  slot[0] = FORWARD;
  slot[1] = next.length;
  for (let i = 0; i < next.length; i++) slot[PEER_OFF + i] = next.charCodeAt(i);
  slot.set(ephemeral, E_OFF);
  slot.set(mac, MAC_OFF);
  return slot;
}

export function encodeExitSlot(length: number): Uint8Array {
  const slot = new Uint8Array(SLOT_BYTES);
  slot[0] = EXIT;
  slot[1] = length >>> 8;
  slot[2] = length & 0xff;
  return slot;
}

function malformed(what: string): DecodeError {
  return new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `onion slot: ${what}`);
}

/** Decodes a decrypted slot; `maxLength` bounds an exit's payload length. */
export function decodeSlot(slot: Uint8Array, maxLength: number): Slot {
  if (slot.length !== SLOT_BYTES) throw malformed(`expected ${SLOT_BYTES} bytes, got ${slot.length}`);
  const kind = slot[0] as number;
  if (kind === EXIT) {
    const length = ((slot[1] as number) << 8) | (slot[2] as number);
    if (length > maxLength) throw malformed(`payload length ${length} exceeds ${maxLength}`);
    if (!isAllZero(slot.subarray(3))) throw malformed('non-zero padding');
    return { kind: 'exit', length };
  }
  if (kind !== FORWARD) throw malformed(`unknown kind ${kind}`);
  const len = slot[1] as number;
  if (len < 1 || len > ONION_MAX_PEER_ID_BYTES) throw malformed(`peer ID length ${len}`);
  // One loop for the check and the string: spreading the bytes into String.fromCharCode went through the
  // iterator protocol and was ~4 % of a peel (profiled).
  let next = '';
  for (let i = PEER_OFF; i < PEER_OFF + len; i++) {
    const c = slot[i] as number;
    if (!isPeerIdByte(c)) throw malformed('peer ID is not printable ASCII');
    next += String.fromCharCode(c);
  }
  if (!isAllZero(slot.subarray(PEER_OFF + len, E_OFF))) throw malformed('non-zero padding');
  return {
    kind: 'forward',
    next,
    ephemeral: slot.slice(E_OFF, MAC_OFF),
    mac: slot.slice(MAC_OFF, MAC_OFF + TAG_BYTES),
  };
}
