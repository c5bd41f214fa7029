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
