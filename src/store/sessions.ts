/**
 * Sessions: the one current session state per contact, as the opaque bytes of encodeSession()
 * (src/protocol/session.ts). At rest the state is sealed with associated data naming the contact, so
 * a state cannot be moved to another contact's row. Persist the new state in the same transaction as
 * what it produced (a message, an outbox entry) and before a ciphertext leaves the node: a rolled-back
 * ratchet state would reuse message keys.
 *
 * This module knows nothing of the ratchet; it keeps bytes. Implementations: memory (below) and
 * sessions-sqlite.ts; test/unit/store/sessions-compliance.ts runs against both.
 */
import { assertBytes } from '../lib/assert.ts';
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import { mapDelete, mapSet, noUndo, type UndoLog } from './memory-tx.ts';

/** A sanity bound on an encoded session (ratchet state with skipped keys is tens of KiB at most). */
export const MAX_SESSION_STATE_BYTES = 1 << 20;

export interface SessionRepository {
  /** The contact's current session state, or undefined. Returned bytes are the caller's to wipe. */
  get(userId: string): Uint8Array | undefined;
  /** Replaces the contact's session state. Call inside store.transaction() with what it produced. */
  put(userId: string, state: Uint8Array, now: number): void;
  /** Deletes the contact's session; returns whether there was one. */
  delete(userId: string): boolean;
  /** Whether a session exists (needs no storage key). */
  has(userId: string): boolean;
}

export function checkSessionState(state: Uint8Array): void {
  assertBytes(state, 'session state');
  if (state.length === 0 || state.length > MAX_SESSION_STATE_BYTES) {
    throw new CompeerError(ErrorCodes.INVALID_LENGTH, `session state: 1 to ${MAX_SESSION_STATE_BYTES} bytes, got ${state.length}`);
  }
}

export function memorySessionRepository(log: UndoLog = noUndo): SessionRepository {
  const rows = new Map<string, Uint8Array>();
  return {
    get: (userId) => rows.get(userId)?.slice(),
    put(userId, state) {
      checkSessionState(state);
      mapSet(log, rows, userId, state.slice());
    },
    delete: (userId) => mapDelete(log, rows, userId),
    has: (userId) => rows.has(userId),
  };
}
