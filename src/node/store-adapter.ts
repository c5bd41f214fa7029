/**
 * Adapts a src/store/ Store (sqlite or openMemoryStore) to the node's NodeStore port: the identity
 * is loaded and unsealed once, and the node's `meta` area maps to the store's `meta` table under keys
 * starting with "node." (sqlite), or to a map (memory store).
 * This module knows nothing of what the node keeps in meta.
 */
import type { DatabaseSync } from 'node:sqlite';
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import { loadIdentityKeyPair } from '../store/identity-keys.ts';
import { getMeta, setMeta } from '../store/meta.ts';
import type { Store } from '../store/store.ts';
import type { NodeMeta, NodeStore } from './node-store.ts';

function sqliteMeta(db: DatabaseSync): NodeMeta {
  return {
    get: (k) => getMeta(db, k),
    set: (k, v) => setMeta(db, k, v),
    delete: (k) => void db.prepare('DELETE FROM meta WHERE key = ?').run(k),
    keys: (prefix) =>
      db
        .prepare("SELECT key FROM meta WHERE substr(key, 1, length(?)) = ?")
        .all(prefix, prefix)
        .map((r) => String(r.key)),
  };
}

function memoryMeta(): NodeMeta {
  const m = new Map<string, Uint8Array>();
  return {
    get: (k) => m.get(k)?.slice(),
    set: (k, v) => void m.set(k, v.slice()),
    delete: (k) => void m.delete(k),
    keys: (prefix) => [...m.keys()].filter((k) => k.startsWith(prefix)),
  };
}

/** NOT_FOUND when the store has no identity (run `compeer init`). */
export function nodeStoreFrom(store: Store): NodeStore {
  const identity = loadIdentityKeyPair(store.identities);
  if (!identity) throw new CompeerError(ErrorCodes.NOT_FOUND, 'no identity in this store; run `compeer init`');
  const db = (store as { db?: DatabaseSync }).db;
  return {
    identity,
    name: store.identities.getPublic()?.name ?? null,
    contacts: store.contacts,
    sessions: store.sessions,
    messages: store.messages,
    outbox: store.outbox,
    prekeys: store.prekeys,
    replay: store.replayCache,
    peers: store.peers,
    meta: db ? sqliteMeta(db) : memoryMeta(),
    transaction: (fn) => store.transaction(fn),
    persistent: store.dir !== null,
    close: () => store.close(),
  };
}
