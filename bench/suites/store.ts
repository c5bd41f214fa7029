/**
 * Store: what sealing secrets at rest costs. Ours is the real IdentityRepository (XChaCha20-Poly1305
 * sealing, row-bound associated data, typed column checks); the baseline is plain node:sqlite doing the
 * same statements on an identical table without sealing. Both databases are files with the same
 * pragmas (WAL, synchronous=FULL), so each write pays the same fsync.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { systemClock, systemRng } from '../../src/lib/system.ts';
import type { StoredIdentity } from '../../src/store/identity.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { defineSuite, opsPerSecond, type Prepared } from '../harness.ts';

const identity: StoredIdentity = {
  name: 'bench',
  publicKey: systemRng.bytes(129),
  secret: systemRng.bytes(65),
  createdAt: 1_700_000_000_000,
};

function fixtures(): { store: Store; plain: DatabaseSync; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'compeer-bench-'));
  const store = openStore({ dir: join(dir, 'ours'), create: true, rng: systemRng, clock: systemClock });
  const plain = new DatabaseSync(join(dir, 'plain.db'));
  plain.exec('PRAGMA journal_mode = WAL');
  plain.exec('PRAGMA synchronous = FULL');
  plain.exec(`CREATE TABLE identity (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT,
    public BLOB NOT NULL, secret BLOB NOT NULL, created_at INTEGER NOT NULL)`);
  return {
    store,
    plain,
    close() {
      store.close();
      plain.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function plainStatements(db: DatabaseSync) {
  const insert = db.prepare('INSERT INTO identity (id, name, public, secret, created_at) VALUES (1, ?, ?, ?, ?)');
  const select = db.prepare('SELECT name, public, secret, created_at FROM identity WHERE id = 1');
  const remove = db.prepare('DELETE FROM identity WHERE id = 1');
  return { insert: () => insert.run(identity.name, identity.publicKey, identity.secret, identity.createdAt), select: () => select.get(), remove: () => remove.run() };
}

export default defineSuite({
  description: 'sealed identity repository vs plain node:sqlite (write+read, read)',
  cases: [
    {
      name: 'identity write+read+delete',
      unit: 'ops/s',
      better: 'higher',
      baselineName: 'plain node:sqlite',
      prepare(): Prepared {
        const f = fixtures();
        const sql = plainStatements(f.plain);
        f.store.identities.get(); // unlock (reads the key file) outside the measurement
        return {
          ours: opsPerSecond(() => {
            f.store.identities.create(identity);
            f.store.identities.get();
            f.store.identities.remove();
          }),
          baseline: opsPerSecond(() => {
            sql.insert();
            sql.select();
            sql.remove();
          }),
          close: f.close,
        };
      },
    },
    {
      name: 'identity read',
      unit: 'ops/s',
      better: 'higher',
      baselineName: 'plain node:sqlite',
      prepare(): Prepared {
        const f = fixtures();
        const sql = plainStatements(f.plain);
        f.store.identities.create(identity);
        sql.insert();
        return { ours: opsPerSecond(() => f.store.identities.get()), baseline: opsPerSecond(sql.select), close: f.close };
      },
    },
  ],
});
