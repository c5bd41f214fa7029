/**
 * OutboxRepository on the `outbox` table (migration 2). The wire bytes are already end-to-end
 * encrypted by the session and stored as they are; the rest is delivery bookkeeping.
 */
import type { DatabaseSync } from 'node:sqlite';
import { DecodeError, ErrorCodes } from '../lib/errors.ts';
import {
  checkOutboxItem,
  checkOutboxUpdate,
  OUTBOX_STATES,
  outboxExists,
  type OutboxItem,
  type OutboxRepository,
  type OutboxState,
} from './outbox.ts';
import { blobColumn, intColumn, textColumn, type Row, prepareCached } from './sql.ts';

const COLUMNS = 'message_id, contact, wire, attempts, next_attempt_at, expires_at, state, created_at';

function state(row: Row): OutboxState {
  const s = textColumn(row, 'state');
  const found = OUTBOX_STATES.find((x) => x === s);
  if (found === undefined) throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'column state: unknown');
  return found;
}

function toItem(row: Row): OutboxItem {
  return {
    messageId: textColumn(row, 'message_id'),
    contact: textColumn(row, 'contact'),
    wire: blobColumn(row, 'wire'),
    attempts: intColumn(row, 'attempts'),
    nextAttemptAt: intColumn(row, 'next_attempt_at'),
    expiresAt: intColumn(row, 'expires_at'),
    state: state(row),
    createdAt: intColumn(row, 'created_at'),
  };
}

export function sqliteOutboxRepository(db: DatabaseSync): OutboxRepository {
  const insert = db.prepare(`INSERT INTO outbox (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`);
  const one = db.prepare(`SELECT ${COLUMNS} FROM outbox WHERE message_id = ?`);
  const due = db.prepare(
    `SELECT ${COLUMNS} FROM outbox WHERE next_attempt_at <= ? AND expires_at > ? ORDER BY next_attempt_at, created_at, rowid LIMIT ?`,
  );
  const update = db.prepare(
    `UPDATE outbox SET state = COALESCE(?, state), attempts = COALESCE(?, attempts),
       next_attempt_at = COALESCE(?, next_attempt_at), wire = COALESCE(?, wire) WHERE message_id = ?`,
  );
  const remove = db.prepare('DELETE FROM outbox WHERE message_id = ? AND contact = ?');
  return {
    enqueue(i) {
      checkOutboxItem(i);
      const { changes } = insert.run(i.messageId, i.contact, i.wire, i.attempts, i.nextAttemptAt, i.expiresAt, i.state, i.createdAt);
      if (changes === 0) throw outboxExists();
    },
    get(id) {
      const row = one.get(id);
      return row === undefined ? undefined : toItem(row);
    },
    due: (now, limit = Number.MAX_SAFE_INTEGER) => due.all(now, now, limit).map(toItem),
    nextDueAt() {
      const row = db.prepare('SELECT MIN(next_attempt_at) AS t FROM outbox').get();
      return typeof row?.t === 'number' ? row.t : undefined;
    },
    forContact(contact, limit = -1, skip = [], after) {
      // (created_at, rowid) is the index's order (outbox_by_contact): the entries after `after` are a
      // range of it. No such entry of the contact: the sub-select is NULL and nothing compares greater.
      const where = [
        'contact = ?',
        ...(skip.length > 0 ? ['message_id NOT IN (SELECT value FROM json_each(?))'] : []),
        ...(after !== undefined ? ['(created_at, rowid) > (SELECT created_at, rowid FROM outbox WHERE message_id = ? AND contact = ?)'] : []),
      ];
      const args = [contact, ...(skip.length > 0 ? [JSON.stringify(skip)] : []), ...(after !== undefined ? [after, contact] : [])];
      return prepareCached(db, `SELECT ${COLUMNS} FROM outbox WHERE ${where.join(' AND ')} ORDER BY created_at, rowid LIMIT ?`)
        .all(...args, limit === -1 ? -1 : Math.max(0, limit))
        .map(toItem);
    },
    countThrough(contact, id) {
      // An index range (outbox_by_contact holds rowid): no row read. NULL sub-select: nothing compares.
      const row = prepareCached(
        db,
        'SELECT COUNT(*) AS n FROM outbox WHERE contact = ? AND (created_at, rowid) <= (SELECT created_at, rowid FROM outbox WHERE message_id = ? AND contact = ?)',
      ).get(contact, id, contact);
      return row === undefined ? 0 : intColumn(row, 'n');
    },
    update(id, c) {
      checkOutboxUpdate(c);
      const r = update.run(c.state ?? null, c.attempts ?? null, c.nextAttemptAt ?? null, c.wire ?? null, id);
      return r.changes > 0;
    },
    remove: (contact, id) => remove.run(id, contact).changes > 0,
    // The ids travel as one JSON array (json_each): one cached statement for any number of them.
    removeMany: (contact, ids) =>
      ids.length === 0
        ? []
        : prepareCached(db, 'DELETE FROM outbox WHERE contact = ? AND message_id IN (SELECT value FROM json_each(?)) RETURNING message_id')
          .all(contact, JSON.stringify(ids))
          .map((r) => textColumn(r, 'message_id')),
    wakeHeld: (contact, now) =>
      Number(prepareCached(db, "UPDATE outbox SET next_attempt_at = ? WHERE contact = ? AND state = 'held' AND next_attempt_at > ?").run(now, contact, now).changes),
    removeExpired(now) {
      const rows = db.prepare(`SELECT ${COLUMNS} FROM outbox WHERE expires_at <= ? ORDER BY next_attempt_at, created_at, rowid`).all(now);
      if (rows.length > 0) prepareCached(db, 'DELETE FROM outbox WHERE expires_at <= ?').run(now);
      return rows.map(toItem);
    },
    counts() {
      const c = { queued: 0, sent: 0, held: 0 };
      for (const row of prepareCached(db, 'SELECT state, COUNT(*) AS n FROM outbox GROUP BY state').all()) c[state(row)] = intColumn(row, 'n');
      return c;
    },
  };
}
