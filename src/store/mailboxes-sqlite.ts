/**
 * MailboxRepository on the `mailbox_items` table (migration 4). Blobs are opaque ciphertext stored as
 * they are. The totals live in `mailbox_totals`, kept by triggers on insert and delete, so the holder's
 * cap checks cost one row read instead of a scan of up to 50,000 items (and roll back with the rest).
 */
import type { DatabaseSync } from 'node:sqlite';
import { assertBytes, assertInteger } from '../lib/assert.ts';
import { MAILBOX_ADDRESS_LENGTH } from '../protocol/mailbox/keys.ts';
import { checkIds, checkListLimit, checkMailboxItem, type MailboxItem, type MailboxRepository, type MailboxUsage } from './mailboxes.ts';
import { blobColumn, intColumn, type Row } from './sql.ts';

const COLUMNS = 'address, id, blob, expires_at, stored_at';

function toItem(row: Row): MailboxItem {
  return {
    address: blobColumn(row, 'address'),
    id: blobColumn(row, 'id'),
    blob: blobColumn(row, 'blob'),
    expiresAt: intColumn(row, 'expires_at'),
    storedAt: intColumn(row, 'stored_at'),
  };
}

function toUsage(row: Row | undefined): MailboxUsage {
  return row === undefined ? { count: 0, bytes: 0 } : { count: intColumn(row, 'count'), bytes: intColumn(row, 'bytes') };
}

export function sqliteMailboxRepository(db: DatabaseSync): MailboxRepository {
  const insert = db.prepare(
    `INSERT INTO mailbox_items (${COLUMNS}, size) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (address, id) DO NOTHING`,
  );
  const list = db.prepare(`SELECT ${COLUMNS} FROM mailbox_items WHERE address = ? ORDER BY stored_at, rowid LIMIT ?`);
  const remove = db.prepare('DELETE FROM mailbox_items WHERE address = ? AND id = ?');
  const expired = db.prepare('DELETE FROM mailbox_items WHERE expires_at <= ?');
  const usage = db.prepare('SELECT COUNT(*) AS count, COALESCE(SUM(size), 0) AS bytes FROM mailbox_items WHERE address = ?');
  const totals = db.prepare('SELECT count, bytes FROM mailbox_totals WHERE id = 1');
  return {
    put(i) {
      checkMailboxItem(i);
      return insert.run(i.address, i.id, i.blob, i.expiresAt, i.storedAt, i.blob.length).changes > 0 ? 'stored' : 'duplicate';
    },
    list(address, limit) {
      assertBytes(address, 'mailbox address', MAILBOX_ADDRESS_LENGTH);
      checkListLimit(limit);
      return list.all(address, limit).map(toItem);
    },
    remove(address, ids) {
      checkIds(address, ids);
      let n = 0;
      for (const id of ids) n += Number(remove.run(address, id).changes);
      return n;
    },
    removeExpired(now) {
      assertInteger(now, 'now', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
      return Number(expired.run(now).changes);
    },
    usage(address) {
      assertBytes(address, 'mailbox address', MAILBOX_ADDRESS_LENGTH);
      return toUsage(usage.get(address));
    },
    totals: () => toUsage(totals.get()),
  };
}
