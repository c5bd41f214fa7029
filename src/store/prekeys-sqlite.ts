/**
 * PrekeyPool (src/protocol/handshake/prekey-store.ts) and ReplayCache (replay-cache.ts) on sqlite
 * (migration 2): `signed_prekeys`, `one_time_prekeys`, `kem_prekeys`, `prekey_replay`.
 *
 * Private halves are sealed: the X25519 private key (signed and one-time prekeys) and the ML-KEM-768
 * seed, each with the label <table>.<column>/<id> plus the public key as associated data, so a private
 * key cannot be paired with another public key or id by editing the database. On load the key pair is
 * rebuilt from the private half and its public key must equal the stored one (else STATE_CORRUPT).
 * Keys are handed out in insertion order (rowid), like the in-memory reference.
 *
 * This module knows nothing of the handshake; it keeps keys and tags.
 */
import type { DatabaseSync } from 'node:sqlite';
import { equalBytes, wipe } from '../lib/bytes.ts';
import { DecodeError, ErrorCodes, StateError } from '../lib/errors.ts';
import { mlKem768FromSeed, mlKem768PublicKey } from '../crypto/mlkem768.ts';
import { x25519FromPrivate, x25519PublicKey } from '../crypto/x25519.ts';
import type { PrekeyPool } from '../protocol/handshake/prekey-store.ts';
import type { ReplayCache } from '../protocol/handshake/replay-cache.ts';
import type {
  KemPrekey,
  KemPrekeyKind,
  KemPrekeyPair,
  OneTimePrekey,
  OneTimePrekeyPair,
  PrekeyId,
  SignedPrekey,
  SignedPrekeyPair,
} from '../protocol/handshake/prekeys.ts';
import { sealLabel, type Sealer } from './seal.ts';
import { blobColumn, intColumn, textColumn, transaction, type Row, prepareCached } from './sql.ts';

const ad = (table: string, column: string, id: PrekeyId, publicKey: Uint8Array): Uint8Array => sealLabel(table, column, id, publicKey);

function corrupt(what: string): DecodeError {
  return new DecodeError(ErrorCodes.STATE_CORRUPT, `${what}: private key does not match the stored public key`);
}

function kind(row: Row): KemPrekeyKind {
  const k = textColumn(row, 'kind');
  if (k !== 'one-time' && k !== 'last-resort') throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'column kind: unknown');
  return k;
}

function atomically<T>(db: DatabaseSync, fn: () => T): T {
  return db.isTransaction ? fn() : transaction(db, fn);
}

function exists(what: string, id: PrekeyId): StateError {
  return new StateError(ErrorCodes.ALREADY_EXISTS, `${what} ${id} already exists`);
}

export function sqlitePrekeyPool(db: DatabaseSync, sealer: () => Sealer): PrekeyPool {
  const x25519Pair = (table: string, id: PrekeyId, publicKey: Uint8Array, sealed: Uint8Array): ReturnType<typeof x25519FromPrivate> => {
    const priv = sealer().open(sealed, ad(table, 'private', id, publicKey));
    try {
      const pair = x25519FromPrivate(priv);
      if (!equalBytes(pair.publicKey, publicKey)) throw corrupt(`${table} ${id}`);
      return pair;
    } finally {
      wipe(priv);
    }
  };
  const signedOf = (row: Row): SignedPrekeyPair => {
    const id = intColumn(row, 'id');
    const keyPair = x25519Pair('signed_prekeys', id, blobColumn(row, 'public'), blobColumn(row, 'private'));
    const pub: SignedPrekey = { id, publicKey: keyPair.publicKey, createdAt: intColumn(row, 'created_at'), signature: blobColumn(row, 'signature') };
    return { public: pub, keyPair };
  };
  const kemPublicOf = (row: Row): KemPrekey => ({
    id: intColumn(row, 'id'),
    kind: kind(row),
    publicKey: mlKem768PublicKey(blobColumn(row, 'public')),
    createdAt: intColumn(row, 'created_at'),
    signature: blobColumn(row, 'signature'),
  });
  const kemOf = (row: Row): KemPrekeyPair => {
    const id = intColumn(row, 'id');
    const publicKey = blobColumn(row, 'public');
    const seed = sealer().open(blobColumn(row, 'seed'), ad('kem_prekeys', 'seed', id, publicKey));
    try {
      const keyPair = mlKem768FromSeed(seed);
      if (!equalBytes(keyPair.publicKey, publicKey)) throw corrupt(`kem_prekeys ${id}`);
      const pub: KemPrekey = {
        id,
        kind: kind(row),
        publicKey: keyPair.publicKey,
        createdAt: intColumn(row, 'created_at'),
        signature: blobColumn(row, 'signature'),
      };
      return { public: pub, keyPair };
    } finally {
      wipe(seed);
    }
  };
  const newestLastResort = db.prepare(
    "SELECT id, kind, created_at, public, signature FROM kem_prekeys WHERE kind = 'last-resort' ORDER BY created_at DESC, id DESC LIMIT 1",
  );
  const count = (sql: string): number => {
    const row = db.prepare(sql).get();
    return row === undefined ? 0 : intColumn(row, 'n');
  };

  return {
    getSignedPrekey(id) {
      const row = db.prepare('SELECT id, created_at, public, signature, private FROM signed_prekeys WHERE id = ?').get(id);
      return row === undefined ? undefined : signedOf(row);
    },
    getOneTimePrekey(id) {
      const row = db.prepare('SELECT id, public, private FROM one_time_prekeys WHERE id = ?').get(id);
      if (row === undefined) return undefined;
      const keyPair = x25519Pair('one_time_prekeys', id, blobColumn(row, 'public'), blobColumn(row, 'private'));
      return { public: { id, publicKey: keyPair.publicKey }, keyPair };
    },
    getKemPrekey(id) {
      const row = db.prepare('SELECT id, kind, created_at, public, signature, seed FROM kem_prekeys WHERE id = ?').get(id);
      return row === undefined ? undefined : kemOf(row);
    },
    removeOneTimePrekey(id) {
      prepareCached(db, 'DELETE FROM one_time_prekeys WHERE id = ?').run(id);
    },
    removeOneTimeKemPrekey(id) {
      prepareCached(db, "DELETE FROM kem_prekeys WHERE id = ? AND kind = 'one-time'").run(id);
    },
    addSignedPrekey(pair) {
      const p = pair.public;
      if (prepareCached(db, 'SELECT 1 AS x FROM signed_prekeys WHERE id = ?').get(p.id) !== undefined) throw exists('signed prekey', p.id);
      const sealed = sealer().seal(pair.keyPair.privateKey, ad('signed_prekeys', 'private', p.id, p.publicKey));
      prepareCached(db, 'INSERT INTO signed_prekeys (id, created_at, public, signature, private) VALUES (?, ?, ?, ?, ?)').run(
        p.id, p.createdAt, p.publicKey, p.signature, sealed,
      );
    },
    currentSignedPrekey() {
      const row = db.prepare('SELECT id, created_at, public, signature FROM signed_prekeys ORDER BY created_at DESC, id DESC LIMIT 1').get();
      if (row === undefined) return undefined;
      return {
        id: intColumn(row, 'id'),
        publicKey: x25519PublicKey(blobColumn(row, 'public')),
        createdAt: intColumn(row, 'created_at'),
        signature: blobColumn(row, 'signature'),
      };
    },
    removeSignedPrekey(id) {
      prepareCached(db, 'DELETE FROM signed_prekeys WHERE id = ?').run(id);
    },
    addOneTimePrekeys(pairs: readonly OneTimePrekeyPair[]) {
      const seal = sealer(); // unlocked before the transaction: the key set-up is one itself
      atomically(db, () => {
        const has = db.prepare('SELECT 1 AS x FROM one_time_prekeys WHERE id = ?');
        const insert = db.prepare('INSERT INTO one_time_prekeys (id, public, private) VALUES (?, ?, ?)');
        for (const { public: p, keyPair } of pairs) {
          if (has.get(p.id) !== undefined) throw exists('one-time prekey', p.id);
          insert.run(p.id, p.publicKey, seal.seal(keyPair.privateKey, ad('one_time_prekeys', 'private', p.id, p.publicKey)));
        }
      });
    },
    addKemPrekeys(pairs: readonly KemPrekeyPair[]) {
      const seal = sealer();
      atomically(db, () => {
        const has = db.prepare('SELECT 1 AS x FROM kem_prekeys WHERE id = ?');
        const insert = db.prepare('INSERT INTO kem_prekeys (id, kind, created_at, public, signature, seed) VALUES (?, ?, ?, ?, ?, ?)');
        for (const { public: p, keyPair } of pairs) {
          if (has.get(p.id) !== undefined) throw exists('KEM prekey', p.id);
          const sealed = seal.seal(keyPair.seed, ad('kem_prekeys', 'seed', p.id, p.publicKey));
          insert.run(p.id, p.kind, p.createdAt, p.publicKey, p.signature, sealed);
        }
      });
    },
    reserveOneTimePrekey(): OneTimePrekey | undefined {
      const row = prepareCached(db, 
          `UPDATE one_time_prekeys SET reserved = 1
           WHERE rowid = (SELECT rowid FROM one_time_prekeys WHERE reserved = 0 ORDER BY rowid LIMIT 1) RETURNING id, public`,
        )
        .get();
      return row === undefined ? undefined : { id: intColumn(row, 'id'), publicKey: x25519PublicKey(blobColumn(row, 'public')) };
    },
    reserveKemPrekey(): KemPrekey | undefined {
      const row = prepareCached(db, 
          `UPDATE kem_prekeys SET reserved = 1
           WHERE rowid = (SELECT rowid FROM kem_prekeys WHERE kind = 'one-time' AND reserved = 0 ORDER BY rowid LIMIT 1)
           RETURNING id, kind, created_at, public, signature`,
        )
        .get();
      if (row !== undefined) return kemPublicOf(row);
      const last = newestLastResort.get();
      return last === undefined ? undefined : kemPublicOf(last);
    },
    availableOneTimePrekeys: () => count('SELECT COUNT(*) AS n FROM one_time_prekeys WHERE reserved = 0'),
    availableOneTimeKemPrekeys: () => count("SELECT COUNT(*) AS n FROM kem_prekeys WHERE kind = 'one-time' AND reserved = 0"),
  };
}

/** ReplayCache on `prekey_replay`: (signed prekey id, tag) with the time it was recorded. */
export interface SqliteReplayCache extends ReplayCache {
  /** Number of stored tags (tests, metrics). */
  readonly size: number;
}

export function sqliteReplayCache(db: DatabaseSync): SqliteReplayCache {
  const has = db.prepare('SELECT 1 AS x FROM prekey_replay WHERE spk_id = ? AND tag = ?');
  const add = db.prepare(
    'INSERT INTO prekey_replay (spk_id, tag, added_at) VALUES (?, ?, ?) ON CONFLICT (spk_id, tag) DO UPDATE SET added_at = excluded.added_at',
  );
  return {
    has: (spk, tag) => has.get(spk, tag) !== undefined,
    add(spk, tag, now) {
      add.run(spk, tag, now);
    },
    forgetSignedPrekey(spk) {
      prepareCached(db, 'DELETE FROM prekey_replay WHERE spk_id = ?').run(spk);
    },
    get size() {
      const row = db.prepare('SELECT COUNT(*) AS n FROM prekey_replay').get();
      return row === undefined ? 0 : intColumn(row, 'n');
    },
  };
}
