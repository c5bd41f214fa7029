/**
 * The `meta` table: small key/value facts about the store (key derivation parameters, key check).
 */
import type { DatabaseSync } from 'node:sqlite';
import { DecodeError, ErrorCodes } from '../lib/errors.ts';

export function getMeta(db: DatabaseSync, key: string): Uint8Array | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key);
  if (row === undefined) return undefined;
  if (!(row.value instanceof Uint8Array)) throw new DecodeError(ErrorCodes.STATE_CORRUPT, `meta ${key}: expected a blob`);
  return row.value;
}

export function setMeta(db: DatabaseSync, key: string, value: Uint8Array): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
}
