/**
 * The sqlite MessageRepository beyond the compliance suite: migration 7 (the state of outgoing messages
 * awaiting delivery kept apart from their rows) upgrades a store written by the old schema without
 * changing any status a reader sees, and an ack no longer rewrites the acked messages' rows.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createPeerPolicy } from '../../../src/routing/peer-policy.ts';
import { MIGRATIONS, migrate, schemaVersion } from '../../../src/store/migrations.ts';
import { sealLabel } from '../../../src/store/seal.ts';
import { openSqlite } from '../../../src/store/sql.ts';
import { silentLogger } from '../../../src/lib/log.ts';
import { unlock } from '../../../src/store/storage-key.ts';
import { DB_FILE, type StoreOptions } from '../../../src/store/store.ts';
import type { MessageRecord } from '../../../src/store/messages.ts';
import { message, incoming, msgId } from './messages-compliance.ts';
import { fixedClock, seededRng, storeOptions, tempDir, withStore } from './helpers.ts';
import { uid } from './subjects.ts';

const opts = (dir: string): StoreOptions => storeOptions(dir, { peerPolicy: createPeerPolicy() });


/** Writes `rows` as the v6 schema kept them (the status in the row, messages_expiring), text sealed as messages-sqlite.ts does. */
function v6StoreWith(dir: string, rows: readonly MessageRecord[]): void {
  const db = openSqlite(join(dir, DB_FILE));
  migrate(db, fixedClock, MIGRATIONS.filter((m) => m.version <= 6));
  assert.equal(schemaVersion(db), 6);
  const sealer = unlock({ db, dir, rng: seededRng(), create: true, passphrase: undefined, logger: silentLogger });
  const insert = db.prepare('INSERT INTO messages (contact, direction, id, text, status, sent_at, received_at, expires_at, local_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  for (const m of rows) {
    const sealed = sealer.seal(Buffer.from(m.text, 'utf8'), sealLabel('messages', 'text', `${m.contact}/${m.direction}/${m.id}`));
    insert.run(m.contact, m.direction, m.id, sealed, m.status, m.sentAt, m.receivedAt, m.expiresAt, m.direction === 'in' ? (m.receivedAt ?? m.sentAt) : m.sentAt);
  }
  db.close();
}

describe('sqlite messages: migration 7 (outgoing messages awaiting delivery kept apart)', () => {
  const old: MessageRecord[] = [
    message(1, { status: 'queued', expiresAt: 100 }),
    message(2, { status: 'sent', expiresAt: 100 }),
    message(3, { status: 'held', expiresAt: null }),
    message(4, { status: 'delivered', expiresAt: 100 }),
    message(5, { status: 'expired', expiresAt: 100 }),
    message(6, { status: 'failed', expiresAt: 100 }),
    message(7, { status: 'sent', expiresAt: 500, contact: uid('bob') }),
    incoming(8, { expiresAt: 100 }),
  ];

  it('reads back every message of a v6 store exactly, statuses included', (t) => {
    const dir = tempDir(t);
    v6StoreWith(dir, old);
    withStore(opts(dir), (s) => {
      assert.equal(schemaVersion(s.db), Math.max(...MIGRATIONS.map((m) => m.version)));
      for (const m of old) assert.deepEqual(s.messages.get(m.contact, m.direction, m.id), m);
      assert.deepEqual(s.messages.list(uid('alice')), old.filter((m) => m.contact === uid('alice')).sort((a, b) => (a.direction === 'in' ? a.receivedAt ?? 0 : a.sentAt) - (b.direction === 'in' ? b.receivedAt ?? 0 : b.sentAt)));
      assert.equal(s.db.prepare("SELECT COUNT(*) AS n FROM sqlite_schema WHERE name = 'messages_expiring'").get()?.n, 0);
    });
  });

  it('then expires, acks and changes them as the v6 store would have', (t) => {
    const dir = tempDir(t);
    v6StoreWith(dir, old);
    withStore(opts(dir), (s) => {
      // Only the undelivered ones that can still expire (queued and sent at 100; held has no expiry).
      assert.deepEqual(s.messages.expire(100).map((m) => m.id).sort(), [msgId(1), msgId(2)]);
      assert.deepEqual(s.messages.expire(1_000).map((m) => m.id), [msgId(7)]);
      // An ack delivers every outgoing message not delivered yet, expired and failed ones included.
      assert.deepEqual(s.messages.markDelivered(uid('alice'), [1, 2, 3, 4, 5, 6, 8].map(msgId)).sort(), [1, 2, 3, 5, 6].map(msgId));
      for (const n of [1, 2, 3, 4, 5, 6]) assert.equal(s.messages.get(uid('alice'), 'out', msgId(n))?.status, 'delivered');
      assert.equal(s.messages.get(uid('alice'), 'in', msgId(8))?.status, 'delivered');
      assert.equal(s.messages.setStatus(uid('alice'), 'out', msgId(3), 'held'), true);
      assert.equal(s.messages.get(uid('alice'), 'out', msgId(3))?.status, 'held');
      assert.equal(s.messages.removeContact(uid('alice')), 7);
      assert.equal(s.db.prepare('SELECT COUNT(*) AS n FROM message_pending WHERE contact = ?').get(uid('alice'))?.n, 0);
    });
  });
});

describe('sqlite messages: an ack', () => {
  it('writes a few narrow pages, not the acked messages\' rows', (t) => {
    withStore(opts(tempDir(t)), (s) => {
      const text = 'x'.repeat(1024);
      const ids = Array.from({ length: 300 }, (_, n) => msgId(n + 1));
      s.transaction(() => {
        for (const [n, id] of ids.entries()) s.messages.add(message(n + 1, { id, text, expiresAt: 9_999_999 }));
      });
      s.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      s.transaction(() => assert.equal(s.messages.markDelivered(uid('alice'), ids).length, 300));
      // WAL frames the ack's commit wrote: rewriting 300 rows of ~1.1 KB each would be ~85 table
      // pages alone; deleting 300 narrow rows (and their expiry index entries) is a handful.
      const { log } = s.db.prepare('PRAGMA wal_checkpoint(PASSIVE)').get() as { log: number };
      assert.ok(log < 25, `${log} WAL frames for an ack of 300 messages`);
      assert.ok(s.messages.list(uid('alice')).every((m) => m.status === 'delivered'));
    });
  });
});
