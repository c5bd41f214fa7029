/**
 * A small sealed key/value area for the node's own facts that are secret or private: the libp2p node
 * key, outstanding invite secrets, counters. Every value is sealed at rest (label kv.value/<key>), so
 * nothing put here is ever in the clear on disk — unlike the `meta` table, which holds only the
 * storage-key parameters.
 *
 * This module knows nothing of what the values mean. Implementations: memory (below) and
 * kv-sqlite.ts; test/unit/store/kv-compliance.ts runs against both.
 */
import { assertBytes } from '../lib/assert.ts';
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import { mapDelete, mapSet, noUndo, type UndoLog } from './memory-tx.ts';

export const MAX_KV_KEY_LENGTH = 256;
export const MAX_KV_VALUE_BYTES = 1 << 20;

export interface KeyValueRepository {
  /** The value, or undefined. Returned bytes are the caller's to wipe. */
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): void;
  /** Returns whether the key existed. */
  delete(key: string): boolean;
  /** Keys starting with `prefix`, sorted. */
  keys(prefix: string): string[];
}

export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KV_KEY_LENGTH) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `kv key: 1 to ${MAX_KV_KEY_LENGTH} characters`);
  }
}

export function checkValue(value: Uint8Array): void {
  assertBytes(value, 'kv value');
  if (value.length > MAX_KV_VALUE_BYTES) throw new CompeerError(ErrorCodes.LIMIT_EXCEEDED, `kv value: at most ${MAX_KV_VALUE_BYTES} bytes`);
}

export function memoryKeyValueRepository(log: UndoLog = noUndo): KeyValueRepository {
  const rows = new Map<string, Uint8Array>();
  return {
    get: (key) => rows.get(key)?.slice(),
    set(key, value) {
      checkKey(key);
      checkValue(value);
      mapSet(log, rows, key, value.slice());
    },
    delete: (key) => mapDelete(log, rows, key),
    keys: (prefix) => [...rows.keys()].filter((k) => k.startsWith(prefix)).sort(),
  };
}
