/**
 * Versioned schema migrations. Each migration runs once, in its own transaction, and is recorded in
 * `schema_migrations`. Migrations are append-only: never edit one that has shipped, add the next.
 * A database whose schema is newer than this code is refused rather than guessed at.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { Clock } from '../lib/deps.ts';
import { ErrorCodes, StateError } from '../lib/errors.ts';
import { transaction } from './sql.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'meta and identity',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB);
      CREATE TABLE identity (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT,
        public BLOB NOT NULL,
        secret BLOB NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'contacts, sessions, messages, outbox, prekeys, peers',
    // Sealed columns (seal.ts, label = table.column/row): contacts.secret, sessions.state, messages.text,
    // signed_prekeys.private, one_time_prekeys.private, kem_prekeys.seed. Everything else is metadata
    // in the clear (the database file is 0600). Text lists are JSON arrays.
    sql: `
      CREATE TABLE contacts (
        user_id TEXT PRIMARY KEY,
        name TEXT UNIQUE,
        public BLOB NOT NULL,
        verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
        key_changed INTEGER NOT NULL DEFAULT 0 CHECK (key_changed IN (0, 1)),
        addresses TEXT NOT NULL DEFAULT '[]',
        secret BLOB,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE contact_key_history (
        user_id TEXT NOT NULL REFERENCES contacts (user_id) ON DELETE CASCADE,
        public BLOB NOT NULL,
        replaced_at INTEGER NOT NULL
      );
      CREATE INDEX contact_key_history_by_user ON contact_key_history (user_id, replaced_at);
      CREATE TABLE sessions (
        user_id TEXT PRIMARY KEY,
        state BLOB NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE messages (
        contact TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        id TEXT NOT NULL,
        text BLOB NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'held', 'delivered', 'expired', 'failed')),
        sent_at INTEGER NOT NULL,
        received_at INTEGER,
        expires_at INTEGER,
        local_at INTEGER NOT NULL,
        PRIMARY KEY (contact, direction, id)
      );
      CREATE INDEX messages_by_time ON messages (contact, local_at);
      CREATE INDEX messages_expiring ON messages (expires_at)
        WHERE direction = 'out' AND status IN ('queued', 'sent', 'held') AND expires_at IS NOT NULL;
      CREATE TABLE outbox (
        message_id TEXT PRIMARY KEY,
        contact TEXT NOT NULL,
        wire BLOB NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'held')),
        created_at INTEGER NOT NULL
      );
      CREATE INDEX outbox_due ON outbox (next_attempt_at);
      CREATE INDEX outbox_by_contact ON outbox (contact, created_at);
      CREATE INDEX outbox_expiry ON outbox (expires_at);
      CREATE TABLE signed_prekeys (
        id INTEGER NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        public BLOB NOT NULL,
        signature BLOB NOT NULL,
        private BLOB NOT NULL
      );
      CREATE TABLE one_time_prekeys (
        id INTEGER NOT NULL UNIQUE,
        public BLOB NOT NULL,
        private BLOB NOT NULL,
        reserved INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE kem_prekeys (
        id INTEGER NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('one-time', 'last-resort')),
        created_at INTEGER NOT NULL,
        public BLOB NOT NULL,
        signature BLOB NOT NULL,
        seed BLOB NOT NULL,
        reserved INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE prekey_replay (
        spk_id INTEGER NOT NULL,
        tag BLOB NOT NULL,
        added_at INTEGER NOT NULL,
        PRIMARY KEY (spk_id, tag)
      ) WITHOUT ROWID;
      CREATE TABLE peers (
        peer_id TEXT PRIMARY KEY,
        addresses TEXT NOT NULL,
        capabilities TEXT NOT NULL,
        routing_key BLOB,
        score REAL NOT NULL,
        source TEXT NOT NULL,
        prefix TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
      );
      CREATE INDEX peers_by_prefix ON peers (prefix);
      CREATE INDEX peers_by_source ON peers (source);
      CREATE INDEX peers_by_rank ON peers (score, last_seen);
    `,
  },
  {
    version: 3,
    name: 'sealed key/value area',
    // Every kv.value is sealed (label kv.value/<key>): the node's private facts (node key, invites).
    sql: `
      CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    name: 'mailbox items held for others',
    // Blobs are opaque ciphertext chunks deposited by others (docs/mailboxes.md), not sealed again.
    // mailbox_totals (one row) is kept by the triggers so the holder's total caps need no scan.
    sql: `
      CREATE TABLE mailbox_items (
        address BLOB NOT NULL,
        id BLOB NOT NULL,
        blob BLOB NOT NULL,
        size INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        stored_at INTEGER NOT NULL,
        PRIMARY KEY (address, id)
      );
      CREATE INDEX mailbox_items_by_age ON mailbox_items (address, stored_at);
      CREATE INDEX mailbox_items_expiry ON mailbox_items (expires_at);
      CREATE TABLE mailbox_totals (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        count INTEGER NOT NULL,
        bytes INTEGER NOT NULL
      );
      INSERT INTO mailbox_totals (id, count, bytes) VALUES (1, 0, 0);
      CREATE TRIGGER mailbox_items_added AFTER INSERT ON mailbox_items BEGIN
        UPDATE mailbox_totals SET count = count + 1, bytes = bytes + NEW.size WHERE id = 1;
      END;
      CREATE TRIGGER mailbox_items_removed AFTER DELETE ON mailbox_items BEGIN
        UPDATE mailbox_totals SET count = count - 1, bytes = bytes - OLD.size WHERE id = 1;
      END;
    `,
  },
  {
    version: 5,
    name: 'peers ranked with a total order',
    // PeerTableAccess.worst orders by (score, last_seen, peer_id): with peer_id in the index it is an
    // index scan of LIMIT rows; without, SQLite sorts every row of a (score, last_seen) tie, which is
    // the whole table when untested peers arrive in one batch (~40x slower at 2,000 such peers).
    // The new index covers everything peers_by_rank served, so that one goes.
    sql: `
      CREATE INDEX peers_by_worst ON peers (score, last_seen, peer_id);
      DROP INDEX peers_by_rank;
    `,
  },
  {
    version: 6,
    name: 'peers reached, unverified entries indexed',
    // reached_at: the last successful outcome with the peer (NULL: never reached). Gossip-learned
    // entries never reached are "unverified" and capped as a share of the table (peers.ts
    // isUnverified, docs/networking.md): the partial index serves that cap's count and victims.
    // Existing rows: a score above the initial 0.5 needs a success, so those count as reached (at
    // last_seen); the others start unverified, as a fresh table's would.
    sql: `
      ALTER TABLE peers ADD COLUMN reached_at INTEGER;
      UPDATE peers SET reached_at = last_seen WHERE score > 0.5;
      CREATE INDEX peers_unverified ON peers (score, last_seen, peer_id) WHERE reached_at IS NULL AND source GLOB 'gossip:*';
    `,
  },
  {
    version: 7,
    name: 'outgoing messages awaiting delivery kept apart from their rows',
    // An ack used to rewrite each acked message's row (~1.2 KB with its sealed text: a page per three
    // messages in the WAL, and again at the checkpoint) and drop it from messages_expiring. Now a
    // narrow row per outgoing message not delivered yet (message_pending) carries that state: an ack
    // deletes it (messages-sqlite.ts markDelivered) and the message row is not touched. The status a
    // reader sees is 'delivered' for an outgoing message whose row says otherwise and that has no
    // pending row. pending.expires_at is set while the message's status can expire (queued, sent,
    // held), NULL otherwise: the partial index is what expire() scans, as messages_expiring was.
    sql: `
      CREATE TABLE message_pending (
        contact TEXT NOT NULL,
        id TEXT NOT NULL,
        expires_at INTEGER,
        PRIMARY KEY (contact, id)
      ) WITHOUT ROWID;
      CREATE INDEX message_pending_expiry ON message_pending (expires_at) WHERE expires_at IS NOT NULL;
      INSERT INTO message_pending (contact, id, expires_at)
        SELECT contact, id, CASE WHEN status IN ('queued', 'sent', 'held') THEN expires_at END
        FROM messages WHERE direction = 'out' AND status <> 'delivered';
      DROP INDEX messages_expiring;
    `,
  },
];

export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get();
  return typeof row?.v === 'number' ? row.v : 0;
}

/** Brings `db` up to the last migration; returns the versions before and after. */
export function migrate(db: DatabaseSync, clock: Clock, migrations: readonly Migration[] = MIGRATIONS): { from: number; to: number } {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const from = schemaVersion(db);
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (from > latest) {
    throw new StateError(ErrorCodes.UNSUPPORTED_VERSION, `database schema v${from} is newer than this Compeer (v${latest})`);
  }
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= from) continue;
    transaction(db, () => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, clock());
    });
  }
  return { from, to: Math.max(from, latest) };
}
