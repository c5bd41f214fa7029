/**
 * A session: the PQXDH handshake (protocol/handshake/) feeding a Double Ratchet (protocol/ratchet/),
 * and the one framing between them (docs/protocol.md §"Identity, prekeys and PQXDH", "Sessions"):
 *
 *   session message = 0x01 (prekey) | initial message length (u16) | initial message | ratchet message
 *                   | 0x02 (normal) | ratchet message
 *
 * Initiator: initiateSession → every sessionEncrypt carries the initial message (a "prekey" message)
 *            until the first sessionDecrypt of a reply succeeds; then "normal" messages.
 * Responder: acceptSession(first message) → PQXDH respond, ratchet init, decrypt the first ratchet
 *            message, and only then commit (one-time prekeys deleted, replay tag recorded): a forged or
 *            tampered initial message fails the AEAD and changes nothing. Later prekey messages that
 *            carry the same initial message (the initiator has not heard back yet) go to sessionDecrypt.
 *
 * Session state encoding (for the store, which seals it): version 0x01 | flags (bit 0 pending initial
 * message) | remote identity (129) | transcript hash (32) | initial message hash (32)
 * | [pending: length (u16) | initial message] | ratchet state (rest).
 * This module knows nothing of transport, storage, contacts or which identities to trust: the caller
 * checks the remote identity (bundle.userId, session.remoteIdentity) against its contact list.
 */
import { equalBytes } from '../lib/bytes.ts';
import type { Rng } from '../lib/deps.ts';
import { DecodeError, ErrorCodes, LimitError, ProtocolError } from '../lib/errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { encodePublicIdentity, PUBLIC_IDENTITY_LENGTH, type IdentityKeyPair, type PublicIdentity } from './identity.ts';
import type { VerifiedPrekeyBundle } from './handshake/bundle.ts';
import { decodeInitialMessage, encodeInitialMessage, INITIAL_MESSAGE_MAX_LENGTH } from './handshake/initial-message.ts';
import { initiatePqxdh, respondPqxdh } from './handshake/pqxdh.ts';
import type { PrekeyStore } from './handshake/prekey-store.ts';
import type { ReplayCache } from './handshake/replay-cache.ts';
import {
  decodeRatchetState,
  encodeRatchetState,
  initRatchetInitiator,
  initRatchetResponder,
  ratchetDecrypt,
  ratchetEncrypt,
  type RatchetState,
} from './ratchet/index.ts';
import { decodeKnownIdentity } from './identity-cache.ts';

export const SESSION_MESSAGE_PREKEY = 0x01;
export const SESSION_MESSAGE_NORMAL = 0x02;
export const SESSION_STATE_VERSION = 0x01;
const FLAG_PENDING = 0x01;
const HASH_LENGTH = 32;

export interface Session {
  readonly ratchet: RatchetState;
  readonly remoteIdentity: PublicIdentity;
  /** HandshakeSecrets.transcriptHash: input to the SAS. */
  readonly transcriptHash: Uint8Array;
  /** SHA-256 of the encoded initial message that started this session (recognises its repeats). */
  readonly initialMessageHash: Uint8Array;
  /** Initiator only: the encoded initial message, until a reply from the responder decrypted. */
  pendingInitialMessage: Uint8Array | undefined;
}

/** The initiator's side. `bundle` is verified; whether its identity is the expected one is the caller's check. */
export function initiateSession(own: IdentityKeyPair, bundle: VerifiedPrekeyBundle, rng: Rng): Session {
  const init = initiatePqxdh(own, bundle, rng);
  const initial = encodeInitialMessage(init.initialMessage);
  return {
    ratchet: initRatchetInitiator(init.secrets, init.remoteRatchetKey, rng),
    remoteIdentity: bundle.identity,
    transcriptHash: init.secrets.transcriptHash,
    initialMessageHash: sha256(initial),
    pendingInitialMessage: initial,
  };
}

export function sessionEncrypt(session: Session, plaintext: Uint8Array, rng: Rng): Uint8Array {
  const initial = session.pendingInitialMessage;
  // The ratchet writes its message after the framing's bytes: no copy of the message.
  const head = initial === undefined ? 1 : 3 + initial.length;
  const wire = ratchetEncrypt(session.ratchet, plaintext, rng, head);
  if (initial === undefined) {
    wire[0] = SESSION_MESSAGE_NORMAL;
    return wire;
  }
  wire[0] = SESSION_MESSAGE_PREKEY;
  wire[1] = initial.length >>> 8;
  wire[2] = initial.length & 0xff;
  wire.set(initial, 3);
  return wire;
}

interface Framed {
  readonly initial: Uint8Array | undefined;
  readonly ratchetMessage: Uint8Array;
}

function parseFrame(wire: Uint8Array): Framed {
  if (wire.length < 1) throw new DecodeError(ErrorCodes.INVALID_LENGTH, 'session message: empty');
  const kind = wire[0];
  if (kind === SESSION_MESSAGE_NORMAL) return { initial: undefined, ratchetMessage: wire.subarray(1) };
  if (kind !== SESSION_MESSAGE_PREKEY) {
    throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `session message: unknown kind ${String(kind)}`);
  }
  if (wire.length < 3) throw new DecodeError(ErrorCodes.INVALID_LENGTH, 'session message: truncated length');
  const len = ((wire[1] as number) << 8) | (wire[2] as number);
  if (len > INITIAL_MESSAGE_MAX_LENGTH) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `session message: initial message of ${len} bytes`);
  }
  if (wire.length < 3 + len) throw new DecodeError(ErrorCodes.INVALID_LENGTH, 'session message: truncated initial message');
  return { initial: wire.subarray(3, 3 + len), ratchetMessage: wire.subarray(3 + len) };
}

/** True for a message that carries an initial message (a candidate for acceptSession). */
export function isPrekeyMessage(wire: Uint8Array): boolean {
  return wire.length > 0 && wire[0] === SESSION_MESSAGE_PREKEY;
}

export interface AcceptedSession {
  readonly session: Session;
  readonly plaintext: Uint8Array;
}

/**
 * The responder's side: a prekey message from someone without a session. Run it inside the store
 * transaction that saves the session (node:sqlite is synchronous): on success the used one-time
 * prekeys are deleted and the replay tag recorded; on any error nothing changed. Errors: DecodeError,
 * LimitError, ProtocolError REPLAYED_MESSAGE / UNKNOWN_PREKEY, CryptoError DECRYPT_FAILED (a forged or
 * tampered initial message, or a corrupt first message).
 */
export function acceptSession(
  own: IdentityKeyPair,
  store: PrekeyStore,
  replayCache: ReplayCache,
  wire: Uint8Array,
  now: number,
): AcceptedSession {
  const { initial, ratchetMessage } = parseFrame(wire);
  if (initial === undefined) throw new ProtocolError(ErrorCodes.NO_SESSION, 'session message: no session and no initial message');
  const response = respondPqxdh(own, store, decodeInitialMessage(initial), replayCache, now);
  const ratchet = initRatchetResponder(response.secrets, response.signedPrekey.keyPair);
  const plaintext = ratchetDecrypt(ratchet, ratchetMessage, now);
  response.commit();
  const session: Session = {
    ratchet,
    remoteIdentity: response.initiator,
    transcriptHash: response.secrets.transcriptHash,
    initialMessageHash: sha256(initial),
    pendingInitialMessage: undefined,
  };
  return { session, plaintext };
}

/**
 * A message on an existing session. A prekey message is accepted only if it carries this session's own
 * initial message (a repeat from an initiator that has not heard back); another initial message is
 * ProtocolError NO_SESSION: a new session, for acceptSession. The ratchet's errors pass through.
 */
export function sessionDecrypt(session: Session, wire: Uint8Array, now: number): Uint8Array {
  const { initial, ratchetMessage } = parseFrame(wire);
  if (initial !== undefined && !equalBytes(sha256(initial), session.initialMessageHash)) {
    throw new ProtocolError(ErrorCodes.NO_SESSION, 'session message: initial message of another session');
  }
  const plaintext = ratchetDecrypt(session.ratchet, ratchetMessage, now);
  // A reply authenticated under this session: the responder has the initial message.
  if (initial === undefined) session.pendingInitialMessage = undefined;
  return plaintext;
}

/** Encoded remote identities, per identity object: the fixed part of every encoding after a message. */
const encodedIdentities = new WeakMap<PublicIdentity, Uint8Array>();

export function encodeSession(session: Session): Uint8Array {
  const pending = session.pendingInitialMessage;
  let identity = encodedIdentities.get(session.remoteIdentity);
  if (identity === undefined) {
    identity = encodePublicIdentity(session.remoteIdentity);
    encodedIdentities.set(session.remoteIdentity, identity);
  }
  const head = 2 + PUBLIC_IDENTITY_LENGTH + 2 * HASH_LENGTH + (pending ? 2 + pending.length : 0);
  // The ratchet state is encoded after the session's own fields, into the one output array.
  const out = encodeRatchetState(session.ratchet, head);
  out[0] = SESSION_STATE_VERSION;
  out[1] = pending ? FLAG_PENDING : 0;
  let off = 2;
  out.set(identity, off);
  off += PUBLIC_IDENTITY_LENGTH;
  out.set(session.transcriptHash, off);
  out.set(session.initialMessageHash, off + HASH_LENGTH);
  off += 2 * HASH_LENGTH;
  if (pending) {
    out[off] = pending.length >>> 8;
    out[off + 1] = pending.length & 0xff;
    out.set(pending, off + 2);
  }
  return out;
}

export function decodeSession(bytes: Uint8Array): Session {
  const fixed = 2 + PUBLIC_IDENTITY_LENGTH + 2 * HASH_LENGTH;
  if (bytes.length < fixed) throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'session state: truncated');
  if (bytes[0] !== SESSION_STATE_VERSION) {
    throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `session state: unsupported version ${String(bytes[0])}`);
  }
  const flags = bytes[1] as number;
  if ((flags & ~FLAG_PENDING) !== 0) throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'session state: unknown flags');
  let off = 2;
  const remoteIdentity = decodeKnownIdentity(bytes.subarray(off, (off += PUBLIC_IDENTITY_LENGTH)));
  const transcriptHash = bytes.slice(off, (off += HASH_LENGTH));
  const initialMessageHash = bytes.slice(off, (off += HASH_LENGTH));
  let pendingInitialMessage: Uint8Array | undefined;
  if (flags & FLAG_PENDING) {
    if (bytes.length < off + 2) throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'session state: truncated');
    const len = ((bytes[off] as number) << 8) | (bytes[off + 1] as number);
    off += 2;
    if (len > INITIAL_MESSAGE_MAX_LENGTH || bytes.length < off + len) {
      throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'session state: bad initial message length');
    }
    pendingInitialMessage = bytes.slice(off, (off += len));
    if (!equalBytes(sha256(pendingInitialMessage), initialMessageHash)) {
      throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'session state: initial message does not match its hash');
    }
  }
  return { ratchet: decodeRatchetState(bytes.subarray(off)), remoteIdentity, transcriptHash, initialMessageHash, pendingInitialMessage };
}
