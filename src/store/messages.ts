/**
 * Messages: the conversation history per contact, as the application shows it. A message is keyed by
 * (contact, direction, id): ids are 16 random bytes in hex chosen by the sending node, so an incoming
 * id is only unique per contact and direction. `add` is insert-if-absent and says whether the message
 * is new — the dedupe that lets the application see every incoming message exactly once, however often
 * the network delivers it. The text is user content: sealed at rest.
 *
 * Order: by local time (receivedAt for incoming, sentAt for outgoing — a sender's claimed time never
 * reorders our history), then by insertion.
 * This module knows nothing of sessions, the outbox or the wire. Implementations: memory (below) and
 * messages-sqlite.ts; test/unit/store/messages-compliance.ts runs against both.
 */
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import { mapSet, noUndo, type UndoLog } from './memory-tx.ts';

export type MessageDirection = 'in' | 'out';
export type MessageStatus = 'queued' | 'sent' | 'held' | 'delivered' | 'expired' | 'failed';
export const MESSAGE_STATUSES: readonly MessageStatus[] = ['queued', 'sent', 'held', 'delivered', 'expired', 'failed'];
/** 16 random bytes in lowercase hex. */
export const MESSAGE_ID_PATTERN = /^[0-9a-f]{32}$/;
export const MAX_MESSAGE_TEXT_BYTES = 64 * 1024;

export interface MessageRecord {
  readonly id: string;
  /** The contact's user ID. */
  readonly contact: string;
  readonly direction: MessageDirection;
  readonly text: string;
  readonly status: MessageStatus;
  /** ms; for incoming messages the sender's claimed time. */
  readonly sentAt: number;
  /** ms; null for outgoing messages. */
  readonly receivedAt: number | null;
  /** ms after which an undelivered message expires; null for none. */
  readonly expiresAt: number | null;
}

export interface MessageListOptions {
  /** The most recent `limit` messages (still returned oldest first). */
  readonly limit?: number;
}

export interface MessageRepository {
  /** Inserts unless (contact, direction, id) exists; returns whether it was new. */
  add(message: MessageRecord): boolean;
  get(contact: string, direction: MessageDirection, id: string): MessageRecord | undefined;
  /** The contact's messages, oldest first. */
  list(contact: string, opts?: MessageListOptions): MessageRecord[];
  count(contact: string): number;
  /** Returns whether the message exists. */
  setStatus(contact: string, direction: MessageDirection, id: string, status: MessageStatus): boolean;
  /**
   * An ack: the contact's outgoing messages among `ids` that are not 'delivered' yet become 'delivered'
   * (one statement, no text unsealed); returns their ids.
   */
  markDelivered(contact: string, ids: readonly string[]): string[];
  /**
   * Outgoing messages still queued, sent or held whose expiresAt has passed become 'expired';
   * returns them (with the new status).
   */
  expire(now: number): MessageRecord[];
  /** Deletes all of a contact's messages; returns how many. */
  removeContact(contact: string): number;
}

export function checkMessage(m: MessageRecord): void {
  if (!MESSAGE_ID_PATTERN.test(m.id)) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'message id: 32 lowercase hex digits');
  if (m.direction !== 'in' && m.direction !== 'out') throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'message direction: in or out');
  if (!MESSAGE_STATUSES.includes(m.status)) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'message status: unknown');
  if (Buffer.byteLength(m.text, 'utf8') > MAX_MESSAGE_TEXT_BYTES) {
    throw new CompeerError(ErrorCodes.LIMIT_EXCEEDED, `message text: at most ${MAX_MESSAGE_TEXT_BYTES} bytes`);
  }
  // Three plain checks, not a loop over a literal table: this runs once per stored message at each end.
  checkTime('sentAt', m.sentAt);
  checkTime('receivedAt', m.receivedAt ?? 0);
  checkTime('expiresAt', m.expiresAt ?? 0);
}

function checkTime(name: string, v: number): void {
  if (!Number.isSafeInteger(v)) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `message ${name}: expected an integer (ms)`);
}

export function checkStatus(status: MessageStatus): void {
  if (!MESSAGE_STATUSES.includes(status)) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'message status: unknown');
}

export const EXPIRABLE: readonly MessageStatus[] = ['queued', 'sent', 'held'];

/** The local time a message sorts by. */
export function localTime(m: MessageRecord): number {
  return m.direction === 'in' ? (m.receivedAt ?? m.sentAt) : m.sentAt;
}

function keyOf(contact: string, direction: MessageDirection, id: string): string {
  return `${contact}/${direction}/${id}`;
}

export function memoryMessageRepository(log: UndoLog = noUndo): MessageRepository {
  // Insertion order of the Map is the tie-breaker, as rowid is in sqlite.
  const rows = new Map<string, { seq: number; m: MessageRecord }>();
  let seq = 0;
  const byContact = (contact: string): { seq: number; m: MessageRecord }[] =>
    [...rows.values()].filter((r) => r.m.contact === contact).sort((a, b) => localTime(a.m) - localTime(b.m) || a.seq - b.seq);
  return {
    add(m) {
      checkMessage(m);
      const k = keyOf(m.contact, m.direction, m.id);
      if (rows.has(k)) return false;
      mapSet(log, rows, k, { seq: seq++, m: { ...m } });
      return true;
    },
    get: (contact, direction, id) => {
      const r = rows.get(keyOf(contact, direction, id));
      return r ? { ...r.m } : undefined;
    },
    list(contact, opts = {}) {
      const all = byContact(contact).map((r) => ({ ...r.m }));
      return opts.limit === undefined ? all : all.slice(Math.max(0, all.length - opts.limit));
    },
    count: (contact) => {
      let n = 0;
      for (const r of rows.values()) if (r.m.contact === contact) n++;
      return n;
    },
    setStatus(contact, direction, id, status) {
      checkStatus(status);
      const k = keyOf(contact, direction, id);
      const r = rows.get(k);
      if (!r) return false;
      mapSet(log, rows, k, { seq: r.seq, m: { ...r.m, status } });
      return true;
    },
    markDelivered(contact, ids) {
      const out: string[] = [];
      for (const id of new Set(ids)) {
        const k = keyOf(contact, 'out', id);
        const r = rows.get(k);
        if (!r || r.m.status === 'delivered') continue;
        mapSet(log, rows, k, { seq: r.seq, m: { ...r.m, status: 'delivered' } });
        out.push(id);
      }
      return out;
    },
    expire(now) {
      const out: MessageRecord[] = [];
      for (const [k, r] of [...rows]) {
        const m = r.m;
        if (m.direction !== 'out' || m.expiresAt === null || m.expiresAt > now || !EXPIRABLE.includes(m.status)) continue;
        const next = { ...m, status: 'expired' as const };
        mapSet(log, rows, k, { seq: r.seq, m: next });
        out.push({ ...next });
      }
      return out.sort((a, b) => localTime(a) - localTime(b));
    },
    removeContact(contact) {
      let n = 0;
      for (const [k, r] of [...rows]) {
        if (r.m.contact !== contact) continue;
        rows.delete(k);
        log.record(() => rows.set(k, r));
        n++;
      }
      return n;
    },
  };
}
