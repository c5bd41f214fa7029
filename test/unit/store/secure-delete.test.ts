/**
 * A deleted or rewritten row leaves no copy of its old bytes in the database file (src/store/sql.ts
 * `openSqlite`, secure_delete=ON), nor, once the node is idle, in the -wal file (the background
 * checkpointer empties it): superseded ratchet states must not be recoverable from free space.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../../src/lib/log.ts';
import { startCheckpointer } from '../../../src/store/checkpointer.ts';
import { openSqlite } from '../../../src/store/sql.ts';
import { waitFor } from '../net-helpers.ts';
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

  it('the -wal file holds no old version of a rewritten row once the node is idle (the checkpointer empties it)', async (t) => {
    const path = join(tempDir(t), 'x.db');
    const db = openSqlite(path);
    const checkpointer = startCheckpointer(db, path, silentLogger, 10, 100);
    t.after(() => {
      checkpointer.stop();
      db.close();
    });
    db.exec('CREATE TABLE s (id INTEGER PRIMARY KEY, state BLOB NOT NULL)');
    // A session's state rewritten message after message: each version a frame of the -wal file.
    const versions = Array.from({ length: 8 }, () => randomBytes(600));
    db.prepare('INSERT INTO s (id, state) VALUES (0, ?)').run(versions[0] as Buffer);
    for (const v of versions.slice(1)) db.prepare('UPDATE s SET state = ? WHERE id = 0').run(v);
    const wal = `${path}-wal`;
    const inWal = (b: Buffer): boolean => readFileSync(wal).includes(b.subarray(64, 96));
    assert.ok(versions.slice(0, -1).some(inWal), 'old versions were in the -wal file (the search can find them)');
    assert.ok(await waitFor(() => statSync(wal).size === 0, 20_000), `the -wal file emptied once idle (${statSync(wal).size} bytes)`);
    assert.deepEqual(versions.slice(0, -1).map(inWal), versions.slice(0, -1).map(() => false), 'no old version left in it');
    const live = db.prepare('SELECT state FROM s WHERE id = 0').get()?.state as Uint8Array;
    assert.deepEqual(Buffer.from(live), versions.at(-1), 'the live row is intact');
  });
});
