/**
 * KeyValueRepository on the `kv` table (migration 3): every value sealed with the label kv.value/<key>,
 * so a value copied under another key does not open.
 */
import type { DatabaseSync } from 'node:sqlite';
import { checkKey, checkValue, type KeyValueRepository } from './kv.ts';
import { sealLabel, type Sealer } from './seal.ts';
import { blobColumn, textColumn, prepareCached } from './sql.ts';

const valueAd = (key: string): Uint8Array => sealLabel('kv', 'value', key);

export function sqliteKeyValueRepository(db: DatabaseSync, sealer: () => Sealer): KeyValueRepository {
  const select = db.prepare('SELECT value FROM kv WHERE key = ?');
  const upsert = db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  return {
    get(key) {
      const row = select.get(key);
      return row === undefined ? undefined : sealer().open(blobColumn(row, 'value'), valueAd(key));
    },
    set(key, value) {
      checkKey(key);
      checkValue(value);
      upsert.run(key, sealer().seal(value, valueAd(key)));
    },
    delete: (key) => prepareCached(db, 'DELETE FROM kv WHERE key = ?').run(key).changes > 0,
    keys: (prefix) =>
      prepareCached(db, 'SELECT key FROM kv WHERE substr(key, 1, length(?)) = ? ORDER BY key')
        .all(prefix, prefix)
        .map((r) => textColumn(r, 'key')),
  };
}
