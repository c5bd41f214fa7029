import assert from 'node:assert/strict';
import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { toHex } from '../../../src/lib/bytes.ts';
import { MIGRATIONS, schemaVersion } from '../../../src/store/migrations.ts';
import { DB_FILE, openStore } from '../../../src/store/store.ts';
import { BACKSTOP_PAGES, liveCheckpointers, startCheckpointer } from '../../../src/store/checkpointer.ts';
import { silentLogger } from '../../../src/lib/log.ts';
import { deriveFromPassphrase, KEY_FILE } from '../../../src/store/storage-key.ts';
import { sample } from './identity-compliance.ts';
import { storeOptions, tempDir, withStore } from './helpers.ts';

const opts = storeOptions;


describe('store', () => {
  it('creates DIR 0700, the database 0600 in WAL mode, and the key file 0600', (t) => {
    const dir = join(tempDir(t), 'new', 'home');
    withStore(opts(dir), (s) => {
      s.identities.create(sample());
      assert.equal(s.db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
    });
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, DB_FILE)).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, KEY_FILE)).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, KEY_FILE)).length, 32);
  });

  it('backgroundCheckpoint: a worker copies committed WAL frames into the database file (without: they stay in the WAL)', async (t) => {
    const dbSize = async (background: boolean): Promise<number> => {
      const dir = join(tempDir(t), background ? 'bg' : 'fg');
      const s = openStore(opts(dir, { backgroundCheckpoint: background }));
      try {
        // ~0.6 MB in 10 commits: under SQLite's own autocheckpoint threshold (1,000 pages), so only a
        // background checkpoint moves these pages into the database file.
        for (let k = 0; k < 10; k++) {
          s.transaction(() => {
            for (let i = 0; i < 50; i++) {
              const id = (k * 50 + i).toString(16).padStart(32, '0');
              s.messages.add({ id, contact: 'c'.repeat(32), direction: 'in', text: 'x'.repeat(1024), status: 'delivered', sentAt: 1, receivedAt: 2, expiresAt: null });
            }
          });
        }
        const file = join(dir, DB_FILE);
        for (let i = 0; i < 60 && statSync(file).size < 500_000; i++) await new Promise((r) => setTimeout(r, 50));
        return statSync(file).size;
      } finally {
        s.close();
      }
    };
    const [bg, fg] = [await dbSize(true), await dbSize(false)];
    assert.ok(bg > 500_000 && fg < 200_000, `database file ${bg} bytes with, ${fg} without`);
  });

  it('backgroundCheckpoint: the worker stops with the store; a worker that fails is logged, and SQLite\'s own checkpoint is back', async (t) => {
    const until = async (ok: () => boolean): Promise<boolean> => {
      for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
      return ok();
    };
    const before = liveCheckpointers();
    const s = openStore(opts(join(tempDir(t), 'stops'), { backgroundCheckpoint: true }));
    assert.equal(liveCheckpointers(), before + 1);
    assert.equal(s.db.prepare('PRAGMA wal_autocheckpoint').get()?.wal_autocheckpoint, BACKSTOP_PAGES);
    s.close();
    assert.ok(await until(() => liveCheckpointers() === before), 'the worker exits once the store is closed');
    // A worker that cannot work (its database is not there): a warning, the default threshold again.
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (msg: string) => void warnings.push(msg), child: () => logger };
    const dir = join(tempDir(t), 'fails');
    const s2 = openStore(opts(dir, { backgroundCheckpoint: false }));
    try {
      const failing = startCheckpointer(s2.db, join(dir, 'missing', 'nothing.db'), logger);
      assert.ok(await until(() => warnings.length > 0 && liveCheckpointers() === before), 'the failure is logged and the worker gone');
      assert.equal(s2.db.prepare('PRAGMA wal_autocheckpoint').get()?.wal_autocheckpoint, 1000);
      failing.stop();
      s2.transaction(() => s2.kv.set('still', new Uint8Array([1])));
    } finally {
      s2.close();
    }
  });

  it('records migrations once and reopens without re-running them', (t) => {
    const dir = tempDir(t);
    withStore(opts(dir), (s) => s.identities.create(sample()));
    withStore(opts(dir, { create: false }), (s) => {
      assert.equal(schemaVersion(s.db), MIGRATIONS.length);
      const rows = s.db.prepare('SELECT version, name FROM schema_migrations').all();
      assert.equal(rows.length, MIGRATIONS.length);
      assert.deepEqual(s.identities.get(), sample());
    });
  });

  it('refuses a database from a newer Compeer', (t) => {
    const dir = tempDir(t);
    withStore(opts(dir), () => {});
    const db = new DatabaseSync(join(dir, DB_FILE));
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(MIGRATIONS.length + 1, 'future', 0);
    db.close();
    assert.throws(() => openStore(opts(dir, { create: false })), { code: 'UNSUPPORTED_VERSION' });
  });

  it('without create, a missing store is NOT_FOUND and nothing is created', (t) => {
    const dir = join(tempDir(t), 'absent');
    assert.throws(() => openStore(opts(dir, { create: false })), { code: 'NOT_FOUND' });
    assert.throws(() => statSync(dir));
  });

  it('never stores the secret in the clear', (t) => {
    const dir = tempDir(t);
    const id = sample();
    withStore(opts(dir), (s) => {
      s.identities.create(id);
      const raw = s.db.prepare('SELECT secret FROM identity').get()?.secret;
      assert.ok(raw instanceof Uint8Array);
      assert.ok(!toHex(raw).includes(toHex(id.secret.subarray(1, 17))));
    });
    assertNoPlaintextInFiles(dir, id.secret);
  });

  it('detects a secret moved next to another public key (the public key is bound)', (t) => {
    const dir = tempDir(t);
    withStore(opts(dir), (s) => {
      s.identities.create(sample());
      s.db.prepare('UPDATE identity SET public = ?').run(new Uint8Array(129).fill(1));
      assert.throws(() => s.identities.get(), { code: 'DECRYPT_FAILED' });
      assert.ok(s.identities.getPublic(), 'the public part stays readable');
    });
  });

  it('key file mode: a missing or replaced key file is refused', (t) => {
    const dir = tempDir(t);
    withStore(opts(dir), (s) => s.identities.create(sample()));
    writeFileSync(join(dir, KEY_FILE), new Uint8Array(32).fill(3));
    withStore(opts(dir, { create: false }), (s) => assert.throws(() => s.identities.get(), { code: 'UNAUTHORIZED' }));
    unlinkSync(join(dir, KEY_FILE));
    withStore(opts(dir, { create: false }), (s) => assert.throws(() => s.identities.get(), { code: 'NOT_FOUND' }));
  });

  it('passphrase mode: scrypt with a stored salt, no key file, wrong or missing passphrase refused', (t) => {
    const dir = tempDir(t);
    withStore(opts(dir, { passphrase: 'correct horse' }), (s) => {
      s.identities.create(sample());
      const salt = s.db.prepare("SELECT value FROM meta WHERE key = 'storage.salt'").get()?.value;
      assert.ok(salt instanceof Uint8Array && salt.length === 16);
    });
    assert.throws(() => statSync(join(dir, KEY_FILE)), { code: 'ENOENT' });
    withStore(opts(dir, { create: false, passphrase: 'correct horse' }), (s) => assert.deepEqual(s.identities.get(), sample()));
    withStore(opts(dir, { create: false, passphrase: 'wrong horse' }), (s) => assert.throws(() => s.identities.get(), { code: 'UNAUTHORIZED' }));
    withStore(opts(dir, { create: false }), (s) => {
      assert.throws(() => s.identities.get(), { code: 'UNAUTHORIZED' });
      assert.equal(s.identities.getPublic()?.name, 'alice', 'the public part needs no passphrase');
    });
  });

  it('derives the passphrase key deterministically, normalising Unicode (NFKC)', () => {
    const salt = new Uint8Array(16).fill(5);
    const a = deriveFromPassphrase('caf\u00e9', salt);
    assert.equal(a.length, 32);
    assert.deepEqual(deriveFromPassphrase('cafe\u0301', salt), a);
    assert.notDeepEqual(deriveFromPassphrase('cafe', salt), a);
    assert.notDeepEqual(deriveFromPassphrase('caf\u00e9', new Uint8Array(16)), a);
  });
});

/** No 16-byte run of the secret appears in any file of the store folder (database, WAL, key file). */
function assertNoPlaintextInFiles(dir: string, secret: Uint8Array): void {
  const needle = Buffer.from(secret.subarray(1, 17));
  for (const f of [DB_FILE, `${DB_FILE}-wal`, KEY_FILE]) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(dir, f));
    } catch {
      continue;
    }
    assert.equal(bytes.indexOf(needle), -1, `secret found in ${f}`);
  }
}
