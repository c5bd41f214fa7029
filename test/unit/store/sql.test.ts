/**
 * src/store/sql.ts: `prepareCached` prepares a statement once per database and SQL text, and a cached
 * statement gives the same answers as a fresh one — also after the table it reads has changed.
 * `transaction` commits or rolls back; `durable: false` relaxes `synchronous` for that one commit only.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite, prepareCached, transaction } from '../../../src/store/sql.ts';

function db(): DatabaseSync {
  const d = new DatabaseSync(':memory:');
  d.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  return d;
}

describe('store/sql prepareCached', () => {
  test('one statement per database and SQL text', () => {
    const a = db();
    const b = db();
    const sql = 'SELECT v FROM t WHERE k = ?';
    assert.equal(prepareCached(a, sql), prepareCached(a, sql));
    assert.notEqual(prepareCached(a, sql), prepareCached(b, sql));
    assert.notEqual(prepareCached(a, sql), prepareCached(a, 'SELECT k FROM t WHERE v = ?'));
  });

  test('a reused statement reads the current rows and survives a schema change', () => {
    const d = db();
    const insert = (k: number, v: string): void => void prepareCached(d, 'INSERT INTO t (k, v) VALUES (?, ?)').run(k, v);
    const read = (k: number): unknown => prepareCached(d, 'SELECT v FROM t WHERE k = ?').get(k)?.v;
    insert(1, 'one');
    assert.equal(read(1), 'one');
    assert.equal(read(2), undefined);
    insert(2, 'two');
    assert.equal(read(2), 'two');
    d.exec('ALTER TABLE t ADD COLUMN w TEXT'); // sqlite re-prepares a statement whose schema changed
    d.exec('CREATE INDEX t_by_v ON t (v)');
    assert.equal(read(1), 'one');
    assert.deepEqual(prepareCached(d, 'SELECT k FROM t ORDER BY k').all().map((r) => r.k), [1, 2]);
  });
});

describe('store/sql transaction', () => {
  const sync = (d: DatabaseSync): unknown => d.prepare('PRAGMA synchronous').get()?.synchronous;
  const FULL = 2;
  const NORMAL = 1;

  test('durable by default; durable: false is NORMAL inside and FULL again after, also after a throw', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'compeer-sql-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const d = openSqlite(join(dir, 'db.sqlite'));
    t.after(() => d.close());
    d.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    assert.equal(sync(d), FULL);
    assert.equal(transaction(d, () => (d.exec("INSERT INTO t VALUES (1, 'a')"), sync(d))), FULL);
    assert.equal(transaction(d, () => (d.exec("INSERT INTO t VALUES (2, 'b')"), sync(d)), { durable: false }), NORMAL);
    assert.equal(sync(d), FULL);
    assert.throws(
      () =>
        transaction(
          d,
          () => {
            d.exec("INSERT INTO t VALUES (3, 'c')");
            throw new Error('boom');
          },
          { durable: false },
        ),
      /boom/,
    );
    assert.equal(sync(d), FULL);
    assert.equal(d.isTransaction, false);
    assert.deepEqual(d.prepare('SELECT k FROM t ORDER BY k').all().map((r) => r.k), [1, 2]);
  });
});

describe('store/sql openSqlite', () => {
  test('WAL, synchronous=FULL, temp_store=MEMORY; a statement failing midway undoes only itself (statement journal in memory)', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'compeer-sql-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const d = openSqlite(join(dir, 'db.sqlite'));
    t.after(() => d.close());
    assert.equal(d.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
    assert.equal(d.prepare('PRAGMA synchronous').get()?.synchronous, 2);
    assert.equal(d.prepare('PRAGMA temp_store').get()?.temp_store, 2); // MEMORY
    d.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL, n INTEGER NOT NULL UNIQUE)');
    const rows = 300; // ~300 pages of statement journal: far over the 64 KiB a file-backed one keeps in memory
    transaction(d, () => {
      for (let k = 1; k <= rows; k++) d.prepare('INSERT INTO t VALUES (?, ?, ?)').run(k, new Uint8Array(3000).fill(1), k);
    });
    transaction(d, () => {
      d.exec('UPDATE t SET v = zeroblob(3000) WHERE k = 1');
      // Rewrites every row, then hits the UNIQUE constraint at the last one: this statement alone is undone.
      assert.throws(() => d.exec(`UPDATE t SET v = zeroblob(3000), n = CASE WHEN k = ${rows} THEN 1 ELSE n END`), /UNIQUE/);
    });
    const ones = d.prepare("SELECT COUNT(*) AS c FROM t WHERE v = zeroblob(3000)").get()?.c;
    assert.equal(ones, 1, 'only the first statement of the transaction changed a row');
    assert.deepEqual(d.prepare('SELECT n FROM t WHERE k IN (1, ?) ORDER BY k').all(rows).map((r) => r.n), [1, rows]);
  });
});
