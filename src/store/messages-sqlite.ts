/**
 * MessageRepository on the `messages` table (migration 2). The text is sealed with the label
 * messages.text/<contact>/<direction>/<id>; ids, status and times are metadata in the clear.
 * `add` is INSERT … ON CONFLICT DO NOTHING on the (contact, direction, id) key: the dedupe.
 * `local_at` (receivedAt for incoming, sentAt for outgoing) orders the history, then rowid.
 */
import type { DatabaseSync } from 'node:sqlite';
import { fromUtf8 } from '../lib/bytes.ts';
import { DecodeError, ErrorCodes } from '../lib/errors.ts';
import {
  checkMessage,
  checkStatus,
  localTime,
  MESSAGE_STATUSES,
  type MessageDirection,
  type MessageRecord,
  type MessageRepository,
  type MessageStatus,
} from './messages.ts';
import { sealLabel, type Sealer } from './seal.ts';
import { blobColumn, intColumn, intOrNullColumn, textColumn, type Row, prepareCached } from './sql.ts';

const textAd = (contact: string, direction: MessageDirection, id: string): Uint8Array =>
  sealLabel('messages', 'text', `${contact}/${direction}/${id}`);
const COLUMNS = 'contact, direction, id, text, status, sent_at, received_at, expires_at';

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
  const exists = db.prepare('SELECT 1 AS x FROM messages WHERE contact = ? AND direction = ? AND id = ?');
  const one = db.prepare(`SELECT ${COLUMNS} FROM messages WHERE contact = ? AND direction = ? AND id = ?`);
  const updateStatus = db.prepare('UPDATE messages SET status = ? WHERE contact = ? AND direction = ? AND id = ?');
  return {
    add(m) {
      checkMessage(m);
      // An incoming duplicate (a retry whose ack was lost) is checked first so that it costs no
      // sealing; our own outgoing ids are new, and the conflict clause guards both anyway.
      if (m.direction === 'in' && exists.get(m.contact, m.direction, m.id) !== undefined) return false;
      // Buffer.from: the same UTF-8 bytes as utf8(), ~2.5× faster for a 1 KiB text (docs/perf-node.md).
      const sealed = sealer().seal(Buffer.from(m.text, 'utf8'), textAd(m.contact, m.direction, m.id));
      return insert.run(m.contact, m.direction, m.id, sealed, m.status, m.sentAt, m.receivedAt, m.expiresAt, localTime(m)).changes > 0;
    },
    get(contact, dir, id) {
      const row = one.get(contact, dir, id);
      return row === undefined ? undefined : toRecord(row);
    },
    list(contact, opts = {}) {
      if (opts.limit === undefined) {
        return prepareCached(db, `SELECT ${COLUMNS} FROM messages WHERE contact = ? ORDER BY local_at, rowid`).all(contact).map(toRecord);
      }
      const rows = prepareCached(db, `SELECT ${COLUMNS} FROM messages WHERE contact = ? ORDER BY local_at DESC, rowid DESC LIMIT ?`)
        .all(contact, Math.max(0, opts.limit));
      return rows.reverse().map(toRecord);
    },
    count(contact) {
      const row = db.prepare('SELECT COUNT(*) AS n FROM messages WHERE contact = ?').get(contact);
      return row === undefined ? 0 : intColumn(row, 'n');
    },
    setStatus(contact, dir, id, s) {
      checkStatus(s);
      return updateStatus.run(s, contact, dir, id).changes > 0;
    },
    // The ids travel as one JSON array (json_each): one cached statement for any number of them.
    markDelivered: (contact, ids) =>
      ids.length === 0
        ? []
        : prepareCached(
          db,
          `UPDATE messages SET status = 'delivered' WHERE contact = ? AND direction = 'out'
             AND id IN (SELECT value FROM json_each(?)) AND status <> 'delivered' RETURNING id`,
        )
          .all(contact, JSON.stringify(ids))
          .map((r) => textColumn(r, 'id')),
    expire(now) {
      const where = "direction = 'out' AND status IN ('queued', 'sent', 'held') AND expires_at IS NOT NULL AND expires_at <= ?";
      const rows = db.prepare(`SELECT ${COLUMNS} FROM messages WHERE ${where} ORDER BY local_at, rowid`).all(now);
      if (rows.length === 0) return [];
      prepareCached(db, `UPDATE messages SET status = 'expired' WHERE ${where}`).run(now);
      return rows.map((r) => ({ ...toRecord(r), status: 'expired' as const }));
    },
    removeContact: (contact) => Number(prepareCached(db, 'DELETE FROM messages WHERE contact = ?').run(contact).changes),
  };
}
