/**
 * MessageRepository on the `messages` table (migration 2) and `message_pending` (migration 7). The text
 * is sealed with the label messages.text/<contact>/<direction>/<id>; ids, status and times are metadata
 * in the clear. `add` is INSERT … ON CONFLICT DO NOTHING on the (contact, direction, id) key: the dedupe.
 * `local_at` (receivedAt for incoming, sentAt for outgoing) orders the history, then rowid.
 *
 * An outgoing message not delivered yet also has a narrow row in message_pending (its expires_at set
 * while its status can expire): an ack deletes that row and leaves the ~1.2 KB message row alone — it
 * used to rewrite it (docs/perf-node.md, seventh pass). So the status a reader sees is derived: an
 * outgoing message whose row is not 'delivered' and that has no pending row is 'delivered'.
 */
import type { DatabaseSync } from 'node:sqlite';
import { fromUtf8 } from '../lib/bytes.ts';
import { DecodeError, ErrorCodes } from '../lib/errors.ts';
import {
  checkMessage,
  checkStatus,
  EXPIRABLE,
  localTime,
  MESSAGE_STATUSES,
  type MessageDirection,
  type MessageRecord,
  type MessageRepository,
  type MessageStatus,
} from './messages.ts';
import { sealLabel, type Sealer } from './seal.ts';
import { atomically, blobColumn, intColumn, intOrNullColumn, textColumn, type Row, prepareCached } from './sql.ts';

const textAd = (contact: string, direction: MessageDirection, id: string): Uint8Array =>
  sealLabel('messages', 'text', `${contact}/${direction}/${id}`);
const COLUMNS = 'contact, direction, id, text, status, sent_at, received_at, expires_at';
/** COLUMNS of `messages m` with the status a reader sees (see above). */
const READ_COLUMNS = `m.contact, m.direction, m.id, m.text,
  CASE WHEN m.direction = 'out' AND m.status <> 'delivered'
    AND NOT EXISTS (SELECT 1 FROM message_pending p WHERE p.contact = m.contact AND p.id = m.id) THEN 'delivered' ELSE m.status END AS status,
  m.sent_at, m.received_at, m.expires_at`;
const EXPIRED_PENDING = 'p.expires_at IS NOT NULL AND p.expires_at <= ?';

function direction(row: Row): MessageDirection {
  const d = textColumn(row, 'direction');
  if (d !== 'in' && d !== 'out') throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'column direction: in or out');
  return d;
}

function status(row: Row): MessageStatus {
  const s = textColumn(row, 'status');
  const found = MESSAGE_STATUSES.find((x) => x === s);
  if (found === undefined) throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'column status: unknown');
  return found;
}

export function sqliteMessageRepository(db: DatabaseSync, sealer: () => Sealer): MessageRepository {
  const toRecord = (row: Row): MessageRecord => {
    const contact = textColumn(row, 'contact');
    const dir = direction(row);
    const id = textColumn(row, 'id');
    return {
      id,
      contact,
      direction: dir,
      text: fromUtf8(sealer().open(blobColumn(row, 'text'), textAd(contact, dir, id))),
      status: status(row),
      sentAt: intColumn(row, 'sent_at'),
      receivedAt: intOrNullColumn(row, 'received_at'),
      expiresAt: intOrNullColumn(row, 'expires_at'),
    };
  };
  const insert = db.prepare(
    `INSERT INTO messages (${COLUMNS}, local_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (contact, direction, id) DO NOTHING`,
  );
  const insertPending = db.prepare(
    'INSERT INTO message_pending (contact, id, expires_at) VALUES (?, ?, ?) ON CONFLICT (contact, id) DO UPDATE SET expires_at = excluded.expires_at',
  );
  const exists = db.prepare('SELECT 1 AS x FROM messages WHERE contact = ? AND direction = ? AND id = ?');
  const one = db.prepare(`SELECT ${READ_COLUMNS} FROM messages m WHERE m.contact = ? AND m.direction = ? AND m.id = ?`);
  const updateStatus = db.prepare('UPDATE messages SET status = ? WHERE contact = ? AND direction = ? AND id = ?');
  /** Whether a status can still expire: the pending row's expires_at is kept only then. */
  const expirable = (s: MessageStatus): boolean => EXPIRABLE.includes(s);
  return {
    add(m) {
      checkMessage(m);
      // An incoming duplicate (a retry whose ack was lost) is checked first so that it costs no
      // sealing; our own outgoing ids are new, and the conflict clause guards both anyway.
      if (m.direction === 'in' && exists.get(m.contact, m.direction, m.id) !== undefined) return false;
      // Buffer.from: the same UTF-8 bytes as utf8(), ~2.5× faster for a 1 KiB text (docs/perf-node.md).
      // Sealed before any transaction of ours: the storage key's first use runs one of its own.
      const sealed = sealer().seal(Buffer.from(m.text, 'utf8'), textAd(m.contact, m.direction, m.id));
      return atomically(db, () => {
        const added = insert.run(m.contact, m.direction, m.id, sealed, m.status, m.sentAt, m.receivedAt, m.expiresAt, localTime(m)).changes > 0;
        if (added && m.direction === 'out' && m.status !== 'delivered') insertPending.run(m.contact, m.id, expirable(m.status) ? m.expiresAt : null);
        return added;
      });
    },
    get(contact, dir, id) {
      const row = one.get(contact, dir, id);
      return row === undefined ? undefined : toRecord(row);
    },
    list(contact, opts = {}) {
      if (opts.limit === undefined) {
        return prepareCached(db, `SELECT ${READ_COLUMNS} FROM messages m WHERE m.contact = ? ORDER BY m.local_at, m.rowid`).all(contact).map(toRecord);
      }
      const rows = prepareCached(db, `SELECT ${READ_COLUMNS} FROM messages m WHERE m.contact = ? ORDER BY m.local_at DESC, m.rowid DESC LIMIT ?`)
        .all(contact, Math.max(0, opts.limit));
      return rows.reverse().map(toRecord);
    },
    count(contact) {
      const row = db.prepare('SELECT COUNT(*) AS n FROM messages WHERE contact = ?').get(contact);
      return row === undefined ? 0 : intColumn(row, 'n');
    },
    setStatus(contact, dir, id, s) {
      checkStatus(s);
      return atomically(db, () => {
        if (updateStatus.run(s, contact, dir, id).changes === 0) return false;
        if (dir !== 'out') return true;
        if (s === 'delivered') prepareCached(db, 'DELETE FROM message_pending WHERE contact = ? AND id = ?').run(contact, id);
        else {
          prepareCached(
            db,
            `INSERT INTO message_pending (contact, id, expires_at)
               SELECT contact, id, CASE WHEN ? THEN expires_at END FROM messages WHERE contact = ? AND direction = 'out' AND id = ?
               ON CONFLICT (contact, id) DO UPDATE SET expires_at = excluded.expires_at`,
          ).run(expirable(s) ? 1 : 0, contact, id);
        }
        return true;
      });
    },
    // One statement on narrow rows; the message rows are not touched. The ids travel as one JSON array
    // (json_each): one cached statement for any number of them.
    markDelivered: (contact, ids) =>
      ids.length === 0
        ? []
        : prepareCached(db, 'DELETE FROM message_pending WHERE contact = ? AND id IN (SELECT value FROM json_each(?)) RETURNING id')
          .all(contact, JSON.stringify(ids))
          .map((r) => textColumn(r, 'id')),
    expire(now) {
      return atomically(db, () => {
        const rows = prepareCached(
          db,
          `SELECT ${READ_COLUMNS} FROM message_pending p JOIN messages m ON m.contact = p.contact AND m.direction = 'out' AND m.id = p.id
             WHERE ${EXPIRED_PENDING} ORDER BY m.local_at, m.rowid`,
        ).all(now);
        if (rows.length === 0) return [];
        const records = rows.map((r) => ({ ...toRecord(r), status: 'expired' as const }));
        for (const r of records) updateStatus.run('expired', r.contact, 'out', r.id);
        prepareCached(db, `UPDATE message_pending AS p SET expires_at = NULL WHERE ${EXPIRED_PENDING}`).run(now);
        return records;
      });
    },
    removeContact: (contact) =>
      atomically(db, () => {
        prepareCached(db, 'DELETE FROM message_pending WHERE contact = ?').run(contact);
        return Number(prepareCached(db, 'DELETE FROM messages WHERE contact = ?').run(contact).changes);
      }),
  };
}
