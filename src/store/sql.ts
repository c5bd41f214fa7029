/**
 * Small node:sqlite helpers shared by the repositories: open with the project's pragmas, transactions,
 * and typed column reads (rows come back as untyped records).
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { DecodeError, ErrorCodes } from '../lib/errors.ts';

export type Row = Record<string, unknown>;

/**
 * WAL for concurrent readers; synchronous=FULL because a rolled-back ratchet state after a power loss
 * would reuse message keys (DESIGN.md: persist state before a ciphertext leaves the node).
 * temp_store=MEMORY: a statement that may change several rows inside a transaction (an ack's
 * `markDelivered` and `removeMany`, an envelope cached on its outbox entry) keeps a statement journal
 * of the pages it changes, and node's SQLite spills any over 64 KiB to a temporary file — a second
 * write of those pages, never read back unless the statement fails, and never needed after a crash
 * (the transaction as a whole is in the WAL or not). In memory they cost no syscall: the sender's
 * thread wrote 10.0 → 7.7 KB per streamed message, the recipient's 2.7 → 2.0 (docs/perf-node.md,
 * sixth pass). Durability is unchanged: it concerns the database file and its WAL only.
 * secure_delete=ON: a deleted or rewritten row's old bytes are zeroed, so a superseded ratchet state
 * (sealed, but under a storage key that may sit beside the file) cannot be read back from free space:
 * forward secrecy at rest (docs/threat-model.md "Storage"). Not FAST: it skips pages it would write only
 * to zero them, and a freed overflow page kept a deleted row's bytes (test/unit/store/secure-delete).
 * Old page versions stay in the -wal file until the background checkpointer empties it once the node
 * is idle for 30 s (checkpoint-worker.ts).
 */
export function openSqlite(path: string): DatabaseSync {
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: true, timeout: 5000 });
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA temp_store = MEMORY');
  db.exec('PRAGMA secure_delete = ON');
  return db;
}

const statementCache = new WeakMap<DatabaseSync, Map<string, StatementSync>>();

/**
 * `db.prepare(sql)` once per database and SQL text. Preparing costs 15-30 µs here (docs/perf-node.md),
 * more than running most of these statements; repositories use this for statements they do not hoist.
 * Safe because nothing here iterates a statement lazily: `.all()`, `.get()` and `.run()` finish before
 * the next use.
 */
export function prepareCached(db: DatabaseSync, sql: string): StatementSync {
  let cache = statementCache.get(db);
  if (cache === undefined) {
    cache = new Map();
    statementCache.set(db, cache);
  }
  let st = cache.get(sql);
  if (st === undefined) {
    st = db.prepare(sql);
    cache.set(sql, st);
  }
  return st;
}

const rollbackListeners = new WeakMap<DatabaseSync, Set<() => void>>();

/**
 * Calls `fn` after every rollback on `db` (a transaction's or a savepoint's): repositories that keep
 * rows in memory (contacts-sqlite.ts) drop what a rolled-back write may have put there.
 */
export function onRollback(db: DatabaseSync, fn: () => void): void {
  let set = rollbackListeners.get(db);
  if (set === undefined) {
    set = new Set();
    rollbackListeners.set(db, set);
  }
  set.add(fn);
}

/** Tells the onRollback listeners of `db` that a rollback happened. */
export function rolledBack(db: DatabaseSync): void {
  for (const fn of rollbackListeners.get(db) ?? []) fn();
}

const epochs = new WeakMap<DatabaseSync, number>();

/**
 * Counts the transactions begun on `db` by transaction() below. Inside one (BEGIN IMMEDIATE holds the
 * write lock, the snapshot is fixed) no other connection can commit, so what was checked against the
 * database once in this epoch stays checked until it ends.
 */
export function transactionEpoch(db: DatabaseSync): number {
  return db.isTransaction ? (epochs.get(db) ?? 0) : -1;
}

export interface TransactionOptions {
  /**
   * false: the COMMIT returns before the WAL reaches the disk (synchronous=NORMAL for this one commit).
   * Only for writes whose loss in a power cut is the same as a message lost on the wire — e.g. applying
   * an ack: the entry stays queued, is sent again and deduplicated. Safe with the key-reuse rule because
   * WAL frames are synced in order: the next durable commit (every send is one) syncs these frames too,
   * so no ciphertext can leave from a state the disk does not hold. Default true.
   */
  readonly durable?: boolean;
}

/** Runs `fn` in BEGIN IMMEDIATE … COMMIT, rolling back on any throw. Not re-entrant. */
export function transaction<T>(db: DatabaseSync, fn: () => T, opts: TransactionOptions = {}): T {
  const lazy = opts.durable === false;
  if (lazy) db.exec('PRAGMA synchronous = NORMAL');
  try {
    db.exec('BEGIN IMMEDIATE');
    epochs.set(db, (epochs.get(db) ?? 0) + 1);
    try {
      const out = fn();
      db.exec('COMMIT');
      return out;
    } catch (e) {
      if (db.isTransaction) db.exec('ROLLBACK');
      rolledBack(db);
      throw e;
    }
  } finally {
    if (lazy) db.exec('PRAGMA synchronous = FULL');
  }
}

/**
 * Runs `fn` in the caller's transaction when there is one (its rollback undoes all of `fn`), else in a
 * transaction of its own: a repository method that writes with several statements is all or nothing.
 */
export function atomically<T>(db: DatabaseSync, fn: () => T): T {
  return db.isTransaction ? fn() : transaction(db, fn);
}

export function blobColumn(row: Row, name: string): Uint8Array {
  const v = row[name];
  if (!(v instanceof Uint8Array)) throw new DecodeError(ErrorCodes.STATE_CORRUPT, `column ${name}: expected a blob`);
  return v;
}

export function intColumn(row: Row, name: string): number {
  const v = row[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new DecodeError(ErrorCodes.STATE_CORRUPT, `column ${name}: expected an integer`);
  }
  return v;
}

export function textOrNullColumn(row: Row, name: string): string | null {
  const v = row[name];
  if (v === null || typeof v === 'string') return v;
  throw new DecodeError(ErrorCodes.STATE_CORRUPT, `column ${name}: expected text or null`);
}

export function textColumn(row: Row, name: string): string {
  const v = row[name];
  if (typeof v !== 'string') throw new DecodeError(ErrorCodes.STATE_CORRUPT, `column ${name}: expected text`);
  return v;
}

export function intOrNullColumn(row: Row, name: string): number | null {
  return row[name] === null ? null : intColumn(row, name);
}

export function blobOrNullColumn(row: Row, name: string): Uint8Array | null {
  return row[name] === null ? null : blobColumn(row, name);
}

export function realColumn(row: Row, name: string): number {
  const v = row[name];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new DecodeError(ErrorCodes.STATE_CORRUPT, `column ${name}: expected a number`);
  return v;
}

/** A JSON array of strings kept in a text column (address and capability lists). */
export function stringListColumn(row: Row, name: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(textColumn(row, name));
  } catch {
    throw new DecodeError(ErrorCodes.STATE_CORRUPT, `column ${name}: expected a JSON list`);
  }
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw new DecodeError(ErrorCodes.STATE_CORRUPT, `column ${name}: expected a list of strings`);
  }
  return v as string[];
}
