/**
 * A deleted or rewritten row leaves no copy of its old bytes in the database file (src/store/sql.ts
 * `openSqlite`, secure_delete=FAST): superseded ratchet states must not be recoverable from free space.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqlite } from '../../../src/store/sql.ts';
import { tempDir } from './helpers.ts';

describe('store: no old row bytes in free space', () => {
  for (const size of [600, 9_000]) {
    it(`rows of ${size} bytes, deleted or rewritten, are gone from the file after a checkpoint`, (t) => {
      const path = join(tempDir(t), 'x.db');
      const db = openSqlite(path);
      db.exec('CREATE TABLE s (id INTEGER PRIMARY KEY, state BLOB NOT NULL)');
      const rows = Array.from({ length: 12 }, () => randomBytes(size));
      rows.forEach((b, i) => db.prepare('INSERT INTO s (id, state) VALUES (?, ?)').run(i, b));
      const rewritten = randomBytes(size + 40);
      db.prepare('UPDATE s SET state = ? WHERE id = 0').run(rewritten);
      for (let i = 6; i < 12; i++) db.prepare('DELETE FROM s WHERE id = ?').run(i);
      db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      db.close();
      const file = readFileSync(path);
      const present = (b: Buffer): boolean => file.includes(b.subarray(64, 96));
      assert.ok(present(rewritten) && rows.slice(1, 6).every(present), 'the live rows are in the file (the search can find them)');
      assert.equal(present(rows[0] as Buffer), false, 'the rewritten row\'s old bytes');
      assert.deepEqual(rows.slice(6).map(present), rows.slice(6).map(() => false), 'the deleted rows\' bytes');
    });
  }
});
