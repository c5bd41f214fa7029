/**
 * Outbox: what is still to be delivered. Each entry holds the encrypted wire bytes to send (already
 * end-to-end encrypted by the session: stored as is), the attempts so far, when to try next and when
 * to give up. Persist the entry (with the session state that produced it) before the bytes leave the
 * node; remove it when the end-to-end ack arrives.
 *
 *   queued  waiting for a path (or for the next attempt)
 *   sent    handed to a path, waiting for the ack (retried at nextAttemptAt)
 *   held    handed to mailbox holders for an offline recipient
 *
 * This module knows nothing of routes, acks or retries policy (src/routing/); it keeps entries.
 * Implementations: memory (below) and outbox-sqlite.ts; test/unit/store/outbox-compliance.ts runs
 * against both.
 */
import { assertBytes } from '../lib/assert.ts';
import { CompeerError, ErrorCodes, StateError } from '../lib/errors.ts';
import { mapDelete, mapSet, noUndo, type UndoLog } from './memory-tx.ts';

export type OutboxState = 'queued' | 'sent' | 'held';
export const OUTBOX_STATES: readonly OutboxState[] = ['queued', 'sent', 'held'];
/** A sanity bound on one entry's wire bytes (an envelope, before onion wrapping). */
export const MAX_OUTBOX_WIRE_BYTES = 256 * 1024;

export interface OutboxItem {
  /** The message id (unique per node: 16 random bytes in hex). */
  readonly messageId: string;
  readonly contact: string;
  /** The encrypted envelope to send. */
  readonly wire: Uint8Array;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly expiresAt: number;
  readonly state: OutboxState;
  readonly createdAt: number;
}

export interface OutboxUpdate {
  readonly state?: OutboxState;
  readonly attempts?: number;
  readonly nextAttemptAt?: number;
  readonly wire?: Uint8Array;
}

export interface OutboxCounts {
  readonly queued: number;
  readonly sent: number;
  readonly held: number;
}

export interface OutboxRepository {
  /** ALREADY_EXISTS when the message id is queued already. */
  enqueue(item: OutboxItem): void;
  get(messageId: string): OutboxItem | undefined;
  /** Entries with nextAttemptAt <= now that have not expired, earliest first (at most `limit`). */
  due(now: number, limit?: number): OutboxItem[];
  /** The earliest nextAttemptAt of any entry, or undefined when empty (for timers). */
  nextDueAt(): number | undefined;
  /**
   * A contact's entries, oldest first (to flush when the contact shows up); the first `limit` only when
   * given — a flush reads one batch's worth, not the whole backlog (docs/perf-node.md T2) — and never
   * those named in `skip` (a flush's entries in flight: not read again for every request). With
   * `after` (a message id), only the entries after that one in this order, and none when it is not an
   * entry of the contact: a reader that already holds everything up to an entry reads the rest only.
   */
  forContact(contact: string, limit?: number, skip?: readonly string[], after?: string): OutboxItem[];
  /**
   * How many of the contact's entries come at or before `messageId` in forContact's order (0 when it is
   * not one of them): a reader that knows that many of them (a flush, its entries in flight) knows
   * there is no other, and reads after it (`after`) instead of skipping them one by one.
   */
  countThrough(contact: string, messageId: string): number;
  /** Changes an entry; returns whether it exists. */
  update(messageId: string, change: OutboxUpdate): boolean;
  /** Removes the entry when it belongs to `contact` (an ack names both); returns whether it did. */
  remove(contact: string, messageId: string): boolean;
  /** `remove` for a whole ack at once (one statement): returns the ids it removed. */
  removeMany(contact: string, messageIds: readonly string[]): string[];
  /**
   * The contact's `held` entries not due yet become due at `now` (the contact just reached us: mail left
   * in its mailboxes goes again); one statement, no entry read. Returns how many changed.
   */
  wakeHeld(contact: string, now: number): number;
  /** Removes entries with expiresAt <= now and returns them. */
  removeExpired(now: number): OutboxItem[];
  counts(): OutboxCounts;
}

export function checkOutboxItem(item: OutboxItem): void {
  assertBytes(item.wire, 'outbox wire bytes');
  if (item.wire.length > MAX_OUTBOX_WIRE_BYTES) {
    throw new CompeerError(ErrorCodes.LIMIT_EXCEEDED, `outbox wire bytes: at most ${MAX_OUTBOX_WIRE_BYTES}`);
  }
  checkOutboxUpdate(item);
}

export function checkOutboxUpdate(u: OutboxUpdate): void {
  if (u.state !== undefined && !OUTBOX_STATES.includes(u.state)) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'outbox state: unknown');
  if (u.attempts !== undefined && (!Number.isSafeInteger(u.attempts) || u.attempts < 0)) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'outbox attempts: a non-negative integer');
  }
  if (u.nextAttemptAt !== undefined && !Number.isSafeInteger(u.nextAttemptAt)) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'outbox nextAttemptAt: an integer (ms)');
  }
  if (u.wire !== undefined) assertBytes(u.wire, 'outbox wire bytes');
}

export function outboxExists(): CompeerError {
  return new StateError(ErrorCodes.ALREADY_EXISTS, 'message already in the outbox');
}

function copyItem(i: OutboxItem): OutboxItem {
  return { ...i, wire: i.wire.slice() };
}

const byDue = (a: OutboxItem, b: OutboxItem): number => a.nextAttemptAt - b.nextAttemptAt || a.createdAt - b.createdAt;

export function memoryOutboxRepository(log: UndoLog = noUndo): OutboxRepository {
  const rows = new Map<string, OutboxItem>();
  return {
    enqueue(item) {
      checkOutboxItem(item);
      if (rows.has(item.messageId)) throw outboxExists();
      mapSet(log, rows, item.messageId, copyItem(item));
    },
    get: (id) => {
      const i = rows.get(id);
      return i ? copyItem(i) : undefined;
    },
    due(now, limit = Number.MAX_SAFE_INTEGER) {
      return [...rows.values()]
        .filter((i) => i.nextAttemptAt <= now && i.expiresAt > now)
        .sort(byDue)
        .slice(0, limit)
        .map(copyItem);
    },
    nextDueAt() {
      let min: number | undefined;
      for (const i of rows.values()) if (min === undefined || i.nextAttemptAt < min) min = i.nextAttemptAt;
      return min;
    },
    forContact(contact, limit = Number.MAX_SAFE_INTEGER, skip = [], after) {
      const skipped = new Set(skip);
      let all = [...rows.values()].filter((i) => i.contact === contact).sort((a, b) => a.createdAt - b.createdAt);
      if (after !== undefined) {
        const k = all.findIndex((i) => i.messageId === after);
        all = k < 0 ? [] : all.slice(k + 1);
      }
      return all
        .filter((i) => !skipped.has(i.messageId))
        .slice(0, Math.max(0, limit))
        .map(copyItem);
    },
    countThrough(contact, id) {
      const all = [...rows.values()].filter((i) => i.contact === contact).sort((a, b) => a.createdAt - b.createdAt);
      return all.findIndex((i) => i.messageId === id) + 1;
    },
    update(id, change) {
      checkOutboxUpdate(change);
      const i = rows.get(id);
      if (!i) return false;
      const next: OutboxItem = {
        ...i,
        ...(change.state !== undefined && { state: change.state }),
        ...(change.attempts !== undefined && { attempts: change.attempts }),
        ...(change.nextAttemptAt !== undefined && { nextAttemptAt: change.nextAttemptAt }),
        ...(change.wire !== undefined && { wire: change.wire.slice() }),
      };
      mapSet(log, rows, id, next);
      return true;
    },
    remove(contact, id) {
      if (rows.get(id)?.contact !== contact) return false;
      return mapDelete(log, rows, id);
    },
    removeMany(contact, ids) {
      const out: string[] = [];
      for (const id of new Set(ids)) if (rows.get(id)?.contact === contact && mapDelete(log, rows, id)) out.push(id);
      return out;
    },
    wakeHeld(contact, now) {
      let n = 0;
      for (const i of [...rows.values()]) {
        if (i.contact !== contact || i.state !== 'held' || i.nextAttemptAt <= now) continue;
        mapSet(log, rows, i.messageId, { ...i, nextAttemptAt: now });
        n++;
      }
      return n;
    },
    removeExpired(now) {
      const out = [...rows.values()].filter((i) => i.expiresAt <= now).sort(byDue);
      for (const i of out) mapDelete(log, rows, i.messageId);
      return out.map(copyItem);
    },
    counts() {
      const c = { queued: 0, sent: 0, held: 0 };
      for (const i of rows.values()) c[i.state]++;
      return c;
    },
  };
}
