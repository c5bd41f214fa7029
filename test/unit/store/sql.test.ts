/**
 * src/store/sql.ts: `prepareCached` prepares a statement once per database and SQL text, and a cached
 * statement gives the same answers as a fresh one — also after the table it reads has changed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { prepareCached } from '../../../src/store/sql.ts';

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
