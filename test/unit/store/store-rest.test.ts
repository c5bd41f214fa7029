/**
 * The sqlite store at rest: sealed columns are really sealed (raw rows and the database files hold no
 * message text, session state, pairwise secret or private key), sealed values are bound to their row,
 * everything survives close and reopen, a v1 database migrates to the current schema, and a memory
 * store writes nothing to disk.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { utf8 } from '../../../src/lib/bytes.ts';
import { silentLogger } from '../../../src/lib/log.ts';
import { createPeerPolicy } from '../../../src/routing/peer-policy.ts';
import { generateOneTimePrekeys, generateKemPrekey, generateSignedPrekey } from '../../../src/protocol/handshake/prekeys.ts';
import { generateIdentity } from '../../../src/protocol/identity.ts';
import { sqliteIdentityRepository } from '../../../src/store/identity-sqlite.ts';
import { MIGRATIONS, migrate, schemaVersion } from '../../../src/store/migrations.ts';
import { openSqlite } from '../../../src/store/sql.ts';
import { DB_FILE, openMemoryStore, type SqliteStore, type StoreOptions } from '../../../src/store/store.ts';
import { unlock } from '../../../src/store/storage-key.ts';
import { contact } from './contacts-compliance.ts';
import { sample } from './identity-compliance.ts';
import { message } from './messages-compliance.ts';
import { item } from './outbox-compliance.ts';
import { sighting } from './peers-compliance.ts';
import { fixedClock, seededRng, storeOptions, tempDir, withStore } from './helpers.ts';
import { uid } from './subjects.ts';

const TEXT = 'meet me at the old mill at midnight, bring the ledger';
const SESSION = Uint8Array.from({ length: 400 }, (_, i) => (i * 31 + 7) & 0xff);
const SECRET = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 ^ i);
const NODE_KEY = Uint8Array.from({ length: 64 }, (_, i) => 0x5c ^ (i * 3));
const rng = seededRng(9);
const bob = generateIdentity(rng);
const spk = generateSignedPrekey(bob, 1, rng, 1_000);
const opks = generateOneTimePrekeys(10, 3, rng);
const kem = generateKemPrekey(bob, 'last-resort', 20, rng, 1_000);

const opts = (dir: string, more: Partial<StoreOptions> = {}): StoreOptions => storeOptions(dir, { peerPolicy: createPeerPolicy(), ...more });


function fill(s: SqliteStore): void {
  s.transaction(() => {
    s.contacts.add(contact('alice'));
    s.contacts.setSecret(uid('alice'), SECRET);
    s.sessions.put(uid('alice'), SESSION, 1_000);
    s.messages.add(message(1, { text: TEXT }));
    s.outbox.enqueue(item(1));
    s.peers.upsert(sighting('peer-1', '1.2.3.4'));
    s.kv.set('node.key', NODE_KEY);
  });
  s.prekeys.addSignedPrekey(spk);
  s.prekeys.addOneTimePrekeys(opks);
  s.prekeys.addKemPrekeys([kem]);
  s.replayCache.add(1, new Uint8Array(32).fill(4), 1_000);
}

/** Secrets that must never appear in the clear, as 16-byte needles. */
const needles = (): [string, Buffer][] => [
  ['message text', Buffer.from(utf8(TEXT).subarray(0, 16))],
  ['session state', Buffer.from(SESSION.subarray(100, 116))],
  ['pairwise secret', Buffer.from(SECRET.subarray(8, 24))],
  ['signed prekey private key', Buffer.from(spk.keyPair.privateKey.subarray(8, 24))],
  ['one-time prekey private key', Buffer.from((opks[1]?.keyPair.privateKey ?? new Uint8Array(32)).subarray(8, 24))],
  ['KEM prekey seed', Buffer.from(kem.keyPair.seed.subarray(8, 24))],
  ['kv value', Buffer.from(NODE_KEY.subarray(8, 24))],
];

function assertNoneIn(bytes: Uint8Array, where: string): void {
  const hay = Buffer.from(bytes);
  for (const [what, needle] of needles()) assert.equal(hay.indexOf(needle), -1, `${what} in the clear in ${where}`);
}

describe('store at rest', () => {
  it('sealed columns hold no plaintext, in raw rows or anywhere in the database files', (t) => {
    const dir = tempDir(t);
    withStore(opts(dir), (s) => {
      fill(s);
      const raw = (sql: string): Uint8Array[] =>
        s.db.prepare(sql).all().flatMap((r) => Object.values(r).flatMap((v: unknown) => (v instanceof Uint8Array ? [v] : [])));
      for (const [table, col] of [
        ['messages', 'text'], ['sessions', 'state'], ['contacts', 'secret'],
        ['signed_prekeys', 'private'], ['one_time_prekeys', 'private'], ['kem_prekeys', 'seed'], ['kv', 'value'],
      ] as const) {
        const values = raw(`SELECT ${col} FROM ${table}`);
        assert.ok(values.length > 0, `${table}.${col} has rows`);
        for (const v of values) {
          assert.equal(v[0], 1, `${table}.${col} starts with the seal version`);
          assertNoneIn(v, `${table}.${col}`);
        }
      }
    });
    const files = readdirSync(dir).filter((f) => f.startsWith(DB_FILE));
    for (const f of files) assertNoneIn(readFileSync(join(dir, f)), f);
    // Positive control: the outbox wire bytes are stored as they are (already encrypted), and the scan finds them.
    const wire = Buffer.from(item(1).wire.subarray(1, 17));
    assert.ok(files.some((f) => readFileSync(join(dir, f)).indexOf(wire) !== -1), 'the scan sees stored bytes');
  });

  it('a sealed value moved to another row does not open (the row is bound)', (t) => {
    const dir = tempDir(t);
    withStore(opts(dir), (s) => {
      fill(s);
      s.contacts.add(contact('bob'));
      s.sessions.put(uid('bob'), new Uint8Array(10).fill(1), 1_000);
      s.db.prepare('UPDATE sessions SET state = (SELECT state FROM sessions WHERE user_id = ?) WHERE user_id = ?').run(uid('alice'), uid('bob'));
      // Read through another connection: this one keeps the state it wrote in memory (sessions-sqlite.ts).
      withStore(opts(dir, { create: false }), (other) => assert.throws(() => other.sessions.get(uid('bob')), { code: 'DECRYPT_FAILED' }));
      s.messages.add(message(2, { text: 'other' }));
      s.db.prepare('UPDATE messages SET text = (SELECT text FROM messages WHERE id = ?) WHERE id = ?').run(message(1).id, message(2).id);
      assert.throws(() => s.messages.get(uid('alice'), 'out', message(2).id), { code: 'DECRYPT_FAILED' });
      s.db.prepare('UPDATE one_time_prekeys SET private = (SELECT private FROM one_time_prekeys WHERE id = 10) WHERE id = 11').run();
      assert.throws(() => s.prekeys.getOneTimePrekey(11), { code: 'DECRYPT_FAILED' });
      s.db.prepare('UPDATE contacts SET secret = (SELECT secret FROM contacts WHERE user_id = ?) WHERE user_id = ?').run(uid('alice'), uid('bob'));
      assert.throws(() => s.contacts.getSecret(uid('bob')), { code: 'DECRYPT_FAILED' });
      s.kv.set('other', Uint8Array.of(1));
      s.db.prepare("UPDATE kv SET value = (SELECT value FROM kv WHERE key = 'node.key') WHERE key = 'other'").run();
      assert.throws(() => s.kv.get('other'), { code: 'DECRYPT_FAILED' });
    });
  });

  it('everything survives close and reopen', (t) => {
    const dir = tempDir(t);
    withStore(opts(dir), (s) => {
      s.identities.create(sample());
      fill(s);
      s.contacts.changeIdentity(uid('alice'), new Uint8Array(66).fill(2), 5_000);
      s.peers.recordOutcome('peer-1', true, 6_000);
    });
    withStore(opts(dir, { create: false }), (s) => {
      assert.deepEqual(s.identities.get(), sample());
      assert.equal(s.contacts.get(uid('alice'))?.keyChanged, true);
      assert.equal(s.contacts.keyHistory(uid('alice')).length, 1);
      assert.deepEqual(s.contacts.getSecret(uid('alice')), SECRET);
      assert.deepEqual(s.sessions.get(uid('alice')), SESSION);
      assert.deepEqual(s.messages.list(uid('alice')), [message(1, { text: TEXT })]);
      assert.deepEqual(s.outbox.get(item(1).messageId), item(1));
      assert.equal(s.peers.get('peer-1')?.score, 0.625);
      assert.deepEqual(s.prekeys.getSignedPrekey(1)?.public, spk.public);
      assert.deepEqual(s.prekeys.getKemPrekey(20)?.keyPair.seed, kem.keyPair.seed);
      assert.equal(s.prekeys.availableOneTimePrekeys(), 3);
      assert.equal(s.replayCache.has(1, new Uint8Array(32).fill(4)), true);
      assert.deepEqual(s.kv.get('node.key'), NODE_KEY);
    });
  });

  it('a passphrase store works the same (messages sealed under the scrypt key)', (t) => {
    const dir = tempDir(t);
    withStore(opts(dir, { passphrase: 'correct horse' }), (s) => fill(s));
    withStore(opts(dir, { create: false, passphrase: 'correct horse' }), (s) => assert.equal(s.messages.list(uid('alice'))[0]?.text, TEXT));
    withStore(opts(dir, { create: false, passphrase: 'wrong' }), (s) => {
      assert.throws(() => s.messages.list(uid('alice')), { code: 'UNAUTHORIZED' });
      assert.equal(s.outbox.counts().queued, 1, 'unsealed bookkeeping needs no key');
    });
  });

  it('migrates a v2 database to the current schema, keeping its rows', (t) => {
    const dir = tempDir(t);
    const db = openSqlite(join(dir, DB_FILE));
    migrate(db, fixedClock, MIGRATIONS.filter((m) => m.version <= 2));
    assert.equal(schemaVersion(db), 2);
    db.prepare("INSERT INTO outbox VALUES ('m', 'c', x'01', 0, 1, 2, 'queued', 0)").run();
    db.close();
    withStore(opts(dir), (s) => {
      assert.equal(schemaVersion(s.db), Math.max(...MIGRATIONS.map((m) => m.version)));
      assert.equal(s.outbox.counts().queued, 1);
      s.kv.set('node.key', NODE_KEY);
      assert.deepEqual(s.kv.get('node.key'), NODE_KEY);
    });
  });

  it('migrates a v1 database (identity only) to the current schema, keeping the identity', (t) => {
    const dir = tempDir(t);
    const v1 = MIGRATIONS.filter((m) => m.version === 1);
    const db = openSqlite(join(dir, DB_FILE));
    migrate(db, fixedClock, v1);
    assert.equal(schemaVersion(db), 1);
    const sealer = unlock({ db, dir, rng: seededRng(), create: true, passphrase: undefined, logger: silentLogger });
    sqliteIdentityRepository(db, () => sealer).create(sample());
    db.close();
    withStore(opts(dir, { create: false }), (s) => {
      assert.equal(schemaVersion(s.db), Math.max(...MIGRATIONS.map((m) => m.version)));
      assert.deepEqual(s.identities.get(), sample());
      fill(s);
      assert.equal(s.messages.list(uid('alice'))[0]?.text, TEXT);
    });
    withStore(opts(dir, { create: false }), (s) => assert.equal(s.db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get()?.n, MIGRATIONS.length));
  });

  it('a store opened without a peer policy reads the peer table but refuses writes', (t) => {
    withStore(opts(tempDir(t), { peerPolicy: undefined }), (s) => {
      assert.equal(s.peers.count(), 0);
      assert.throws(() => s.peers.upsert(sighting('p', '1.2.3.4')), { code: 'INTERNAL' });
    });
  });

  it('a memory store keeps the same data and writes nothing', (t) => {
    const dir = tempDir(t);
    const s = openMemoryStore({ peerPolicy: createPeerPolicy() });
    assert.equal(s.dir, null);
    s.transaction(() => {
      s.contacts.add(contact('alice'));
      s.sessions.put(uid('alice'), SESSION, 1);
      s.messages.add(message(1, { text: TEXT }));
      s.outbox.enqueue(item(1));
    });
    s.prekeys.addSignedPrekey(spk);
    assert.equal(s.messages.list(uid('alice'))[0]?.text, TEXT);
    assert.deepEqual(s.prekeys.currentSignedPrekey(), spk.public);
    s.close();
    assert.deepEqual(readdirSync(dir), []);
  });
});
