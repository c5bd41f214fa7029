/**
 * IdentityRepository on the `identity` table (one row, id = 1). The secret column is sealed
 * (seal.ts) with the row label plus the public key as associated data, so a secret cannot be paired
 * with another public key by editing the database.
 */
import type { DatabaseSync } from 'node:sqlite';
import { alreadyExists, type IdentityRecord, type IdentityRepository, type StoredIdentity } from './identity.ts';
import { sealLabel, type Sealer } from './seal.ts';
import { blobColumn, intColumn, textOrNullColumn, prepareCached } from './sql.ts';

const ROW_ID = 1;

function secretAd(publicKey: Uint8Array): Uint8Array {
  return sealLabel('identity', 'secret', ROW_ID, publicKey);
}

/** `sealer` is called only when a secret is read or written, so `getPublic()` needs no key. */
export function sqliteIdentityRepository(db: DatabaseSync, sealer: () => Sealer): IdentityRepository {
  const selectOne = db.prepare('SELECT name, public, secret, created_at FROM identity WHERE id = ?');
  const insert = db.prepare(
    'INSERT INTO identity (id, name, public, secret, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
  );
  const getPublic = (): IdentityRecord | undefined => {
    const row = selectOne.get(ROW_ID);
    if (row === undefined) return undefined;
    return { name: textOrNullColumn(row, 'name'), publicKey: blobColumn(row, 'public'), createdAt: intColumn(row, 'created_at') };
  };
  return {
    getPublic,
    get(): StoredIdentity | undefined {
      const row = selectOne.get(ROW_ID);
      if (row === undefined) return undefined;
      const publicKey = blobColumn(row, 'public');
      return {
        name: textOrNullColumn(row, 'name'),
        publicKey,
        secret: sealer().open(blobColumn(row, 'secret'), secretAd(publicKey)),
        createdAt: intColumn(row, 'created_at'),
      };
    },
    create(identity) {
      if (getPublic() !== undefined) throw alreadyExists();
      const sealed = sealer().seal(identity.secret, secretAd(identity.publicKey));
      const { changes } = insert.run(ROW_ID, identity.name, identity.publicKey, sealed, identity.createdAt);
      if (changes === 0) throw alreadyExists();
    },
    remove: () => prepareCached(db, 'DELETE FROM identity WHERE id = ?').run(ROW_ID).changes > 0,
  };
}
