/**
 * Mailbox addresses and fetch proofs (docs/mailboxes.md; DESIGN.md "Security notes": a pairwise
 * rendezvous secret, and a proof of ownership that does not reveal the user ID).
 *
 * Pipeline, for UTC day d = floor(ms / 86,400,000):
 *   1. seed_d    = HKDF-SHA256(secret, salt none, "compeer/mailbox/v1/day" ‖ u32 d, 32)
 *   2. key_d     = Ed25519 key pair from seed_d (RFC 8032 §5.1.5)
 *   3. address_d = SHA-256("compeer/mailbox/v1/address" ‖ pub_d)
 *   4. proof     = pub_d (32) ‖ Ed25519 signature by key_d over
 *                  "compeer/mailbox/v1/fetch" ‖ len (u8) ‖ holder peer ID (UTF-8) ‖ challenge (32) ‖ address (32) ‖ op (u8)
 *
 * The secret is 32 random bytes the recipient gives to one contact inside the encrypted session; an
 * address is unlinkable to another day's or another pair's without it. The proof binds the holder (no
 * replay at another holder), its challenge (no replay later), the address and the operation (a fetch
 * proof cannot delete). A holder learns pub_d, which it could already link to the address, and nothing
 * about the user.
 *
 * This module knows nothing of the wire, storage or holders; it derives keys and signs/verifies proofs.
 */
import { assertBytes, assertInteger } from '../../lib/assert.ts';
import { concatBytes, equalBytes, utf8, wipe } from '../../lib/bytes.ts';
import { CompeerError, CryptoError, ErrorCodes } from '../../lib/errors.ts';
import { u32 } from '../../lib/reader.ts';
import { ed25519AssertValid, ed25519FromSeed, ed25519PublicKey, ed25519Sign, ED25519_PUBLIC_KEY_LENGTH, ED25519_SIGNATURE_LENGTH, type Ed25519KeyPair } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { hkdfSha256 } from '../../crypto/hkdf.ts';

export const MAILBOX_SECRET_LENGTH = 32;
export const MAILBOX_ADDRESS_LENGTH = 32;
export const MAILBOX_CHALLENGE_LENGTH = 32;
export const MAILBOX_PROOF_LENGTH = ED25519_PUBLIC_KEY_LENGTH + ED25519_SIGNATURE_LENGTH;
/** Bytes of a holder's peer ID string in a proof (an Ed25519 peer ID is 52 characters). */
export const MAILBOX_MAX_PEER_ID_BYTES = 128;
export const MAILBOX_DAY_MS = 86_400_000;

const DAY_INFO = utf8('compeer/mailbox/v1/day');
const ADDRESS_PREFIX = utf8('compeer/mailbox/v1/address');
const PROOF_PREFIX = utf8('compeer/mailbox/v1/fetch');

declare const addressBrand: unique symbol;
/** SHA-256 of a day's public key: what deposits and fetches name. */
export type MailboxAddress = Uint8Array & { readonly [addressBrand]: true };

/** What a proof allows: reading a mailbox, or deleting from it. */
export type MailboxOp = 'fetch' | 'delete';
const OP_BYTES: Record<MailboxOp, number> = { fetch: 0x01, delete: 0x02 };

/** One day's mailbox of one contact pair. */
export interface Mailbox {
  readonly day: number;
  readonly address: MailboxAddress;
  readonly keyPair: Ed25519KeyPair;
}

/** Brands 32 received bytes as a mailbox address (length only: any 32 bytes may name a mailbox). */
export function mailboxAddress(bytes: Uint8Array): MailboxAddress {
  assertBytes(bytes, 'mailbox address', MAILBOX_ADDRESS_LENGTH);
  return Uint8Array.from(bytes) as MailboxAddress;
}

/** The UTC day number of a time in ms since the epoch. */
export function mailboxDay(ms: number): number {
  assertInteger(ms, 'mailbox time', 0, Number.MAX_SAFE_INTEGER);
  return Math.floor(ms / MAILBOX_DAY_MS);
}

/** address = SHA-256("compeer/mailbox/v1/address" ‖ pub). */
export function addressOf(publicKey: Uint8Array): MailboxAddress {
  return sha256(concatBytes(ADDRESS_PREFIX, publicKey)) as MailboxAddress;
}

export function deriveMailbox(secret: Uint8Array, day: number): Mailbox {
  assertBytes(secret, 'mailbox secret', MAILBOX_SECRET_LENGTH);
  assertInteger(day, 'mailbox day', 0, 0xffff_ffff);
  const seed = hkdfSha256(secret, undefined, concatBytes(DAY_INFO, u32(day)), 32);
  try {
    const keyPair = ed25519FromSeed(seed);
    return { day, address: addressOf(keyPair.publicKey), keyPair };
  } finally {
    wipe(seed);
  }
}

function signedMessage(holderPeerId: string, challenge: Uint8Array, address: Uint8Array, op: MailboxOp): Uint8Array {
  const peer = utf8(holderPeerId);
  if (peer.length < 1 || peer.length > MAILBOX_MAX_PEER_ID_BYTES) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `mailbox proof: holder peer ID of 1 to ${MAILBOX_MAX_PEER_ID_BYTES} bytes`);
  }
  assertBytes(challenge, 'mailbox challenge', MAILBOX_CHALLENGE_LENGTH);
  assertBytes(address, 'mailbox address', MAILBOX_ADDRESS_LENGTH);
  const opByte = OP_BYTES[op] as number | undefined;
  if (opByte === undefined) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'mailbox proof: unknown operation');
  return concatBytes(PROOF_PREFIX, Uint8Array.of(peer.length), peer, challenge, address, Uint8Array.of(opByte));
}

/** pub_d ‖ signature: lets `holderPeerId` run `op` on this mailbox once it has issued `challenge`. */
export function signMailboxProof(mailbox: Mailbox, holderPeerId: string, challenge: Uint8Array, op: MailboxOp): Uint8Array {
  const message = signedMessage(holderPeerId, challenge, mailbox.address, op);
  return concatBytes(mailbox.keyPair.publicKey, ed25519Sign(mailbox.keyPair, message));
}

/**
 * Throws CryptoError unless `proof` was made with the key behind `address` for this holder, challenge
 * and operation. The key must hash to the address and be canonical and of prime order (crypto/ed25519.ts).
 */
export function verifyMailboxProof(address: Uint8Array, holderPeerId: string, challenge: Uint8Array, op: MailboxOp, proof: Uint8Array): void {
  const message = signedMessage(holderPeerId, challenge, address, op);
  assertBytes(proof, 'mailbox proof');
  if (proof.length !== MAILBOX_PROOF_LENGTH) throw new CryptoError(ErrorCodes.BAD_SIGNATURE, 'mailbox proof: wrong length');
  const pub = proof.subarray(0, ED25519_PUBLIC_KEY_LENGTH);
  if (!equalBytes(addressOf(pub), address)) throw new CryptoError(ErrorCodes.BAD_SIGNATURE, 'mailbox proof: key does not match the address');
  ed25519AssertValid(ed25519PublicKey(pub), message, proof.subarray(ED25519_PUBLIC_KEY_LENGTH), 'mailbox proof');
}
