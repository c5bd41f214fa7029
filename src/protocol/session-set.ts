/**
 * All sessions with one contact, and the rules that make both sides converge on one session when
 * they initiated at the same time or when a peer started over (docs/protocol.md §"Session sets").
 *
 *   active    the session we encrypt on
 *   archived  older sessions, newest first, at most SESSION_SET_MAX_ARCHIVED: messages still in flight
 *             on them decrypt
 *
 * R1 (a new session arrives from the peer): if our active session is our own unanswered initiation,
 *    both sides initiated at once — the session with the smaller initial-message hash wins, which
 *    both sides compute alike; otherwise the peer started over and the new session becomes active.
 * R2 (a message decrypts on an archived session): it becomes active if its initial-message hash is
 *    smaller than the active one's. R1 only moves to a larger hash on a new session from the peer and
 *    R2 only moves towards smaller hashes, so the two sides cannot oscillate and settle on one session.
 * This module knows nothing of storage or transport; the caller persists the encoded set after every
 * change, before any ciphertext leaves the node.
 */
import { concatBytes, equalBytes, readU32be, u32be } from '../lib/bytes.ts';
import type { Rng } from '../lib/deps.ts';
import { DecodeError, ErrorCodes, ProtocolError } from '../lib/errors.ts';
import {
  decodeSession,
  encodeSession,
  isPrekeyMessage,
  sessionDecrypt,
  sessionEncrypt,
  type AcceptedSession,
  type Session,
} from './session.ts';
import { SESSION_SET_MAX_ARCHIVED, SESSION_SET_VERSION } from './wire/constants.ts';

export interface SessionSet {
  active: Session | undefined;
  /** Newest first. */
  archived: Session[];
}

export interface SetDecryptResult {
  readonly plaintext: Uint8Array;
  /** True when the message started a new session (the caller treats its sender as first contact). */
  readonly newSession: boolean;
}

export function emptySessionSet(): SessionSet {
  return { active: undefined, archived: [] };
}

function compareHashes(a: Session, b: Session): number {
  const x = a.initialMessageHash;
  const y = b.initialMessageHash;
  for (let i = 0; i < x.length && i < y.length; i++) {
    if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  }
  return x.length - y.length;
}

function archive(set: SessionSet, s: Session): void {
  set.archived.unshift(s);
  if (set.archived.length > SESSION_SET_MAX_ARCHIVED) set.archived.length = SESSION_SET_MAX_ARCHIVED;
}

/** R1: a session the peer just started joins the set. */
export function adoptSession(set: SessionSet, incoming: Session): void {
  const current = set.active;
  if (current === undefined) {
    set.active = incoming;
    return;
  }
  const simultaneous = current.pendingInitialMessage !== undefined;
  if (simultaneous && compareHashes(current, incoming) < 0) {
    archive(set, incoming);
    return;
  }
  archive(set, current);
  set.active = incoming;
}

/** Encrypts on the active session; NO_SESSION when there is none. */
export function setEncrypt(set: SessionSet, plaintext: Uint8Array, rng: Rng): Uint8Array {
  if (set.active === undefined) throw new ProtocolError(ErrorCodes.NO_SESSION, 'no session with this contact');
  return sessionEncrypt(set.active, plaintext, rng);
}

function isNoSession(e: unknown): boolean {
  return e instanceof ProtocolError && e.code === ErrorCodes.NO_SESSION;
}

/**
 * Decrypts a session message from the peer: on the active session, then the archived ones (R2), and
 * when it starts a new session, through `accept` (the caller's acceptSession inside its store
 * transaction) followed by R1. Errors from the session that owns the message pass through; a message
 * no session owns is DECRYPT_FAILED from the active session's attempt.
 */
export function setDecrypt(set: SessionSet, wire: Uint8Array, now: number, accept: () => AcceptedSession): SetDecryptResult {
  const candidates = set.active ? [set.active, ...set.archived] : [...set.archived];
  let firstError: unknown;
  for (const s of candidates) {
    try {
      const plaintext = sessionDecrypt(s, wire, now);
      if (s !== set.active) promote(set, s);
      return { plaintext, newSession: false };
    } catch (e) {
      // A prekey message for another session is NO_SESSION; try the next one, then accept.
      if (!isNoSession(e) && firstError === undefined) firstError = e;
    }
  }
  if (isPrekeyMessage(wire) && firstError === undefined) {
    const { session, plaintext } = accept();
    adoptSession(set, session);
    return { plaintext, newSession: true };
  }
  throw firstError ?? new ProtocolError(ErrorCodes.NO_SESSION, 'no session with this contact');
}

/** R2: a message arrived on archived session `s`. */
function promote(set: SessionSet, s: Session): void {
  const current = set.active;
  if (current !== undefined && compareHashes(s, current) >= 0) return;
  set.archived = set.archived.filter((x) => x !== s);
  if (current !== undefined) archive(set, current);
  set.active = s;
}

/** True when both sets would encrypt on the same session (tests and diagnostics). */
export function sameActiveSession(a: SessionSet, b: SessionSet): boolean {
  return a.active !== undefined && b.active !== undefined && equalBytes(a.active.initialMessageHash, b.active.initialMessageHash);
}

// Encoding: version | flags (bit 0: has active) | count (u8) | (length u32 | session)* — active first.
export function encodeSessionSet(set: SessionSet): Uint8Array {
  const sessions = set.active ? [set.active, ...set.archived] : set.archived;
  const parts: Uint8Array[] = [Uint8Array.of(SESSION_SET_VERSION, set.active ? 1 : 0, sessions.length)];
  for (const s of sessions) {
    const bytes = encodeSession(s);
    parts.push(u32be(bytes.length), bytes);
  }
  return concatBytes(...parts);
}

export function decodeSessionSet(bytes: Uint8Array): SessionSet {
  if (bytes.length < 3) throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'session set: truncated');
  if (bytes[0] !== SESSION_SET_VERSION) {
    throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `session set: unsupported version ${String(bytes[0])}`);
  }
  const flags = bytes[1] as number;
  const count = bytes[2] as number;
  if ((flags & ~1) !== 0 || count > SESSION_SET_MAX_ARCHIVED + 1 || (flags === 1 && count === 0)) {
    throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'session set: bad header');
  }
  const sessions: Session[] = [];
  let off = 3;
  for (let i = 0; i < count; i++) {
    if (bytes.length < off + 4) throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'session set: truncated');
    const len = readU32be(bytes, off);
    off += 4;
    if (bytes.length < off + len) throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'session set: truncated session');
    sessions.push(decodeSession(bytes.subarray(off, off + len)));
    off += len;
  }
  if (off !== bytes.length) throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'session set: trailing bytes');
  const active = flags === 1 ? sessions.shift() : undefined;
  if (sessions.length > SESSION_SET_MAX_ARCHIVED) throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'session set: too many archived sessions');
  return { active, archived: sessions };
}
