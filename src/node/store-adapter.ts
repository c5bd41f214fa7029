/**
 * Adapts a src/store/ Store (sqlite or openMemoryStore) to the node's NodeStore port: the identity
 * is loaded and unsealed once, and the node's `meta` area is the store's sealed key/value area
 * (`store.kv`): the node key, invite secrets and queued control messages are secrets at rest.
 * Rows an earlier version kept in the clear `meta` table under "node." move into it once.
 * This module knows nothing of what the node keeps in meta.
 */
import type { DatabaseSync } from 'node:sqlite';
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import { loadIdentityKeyPair } from '../store/identity-keys.ts';
import type { Store } from '../store/store.ts';
import type { NodeStore } from './node-store.ts';

function moveClearMeta(store: Store, db: DatabaseSync): void {
  const rows = db.prepare("SELECT key, value FROM meta WHERE substr(key, 1, 5) = 'node.'").all();
  if (rows.length === 0) return;
  store.transaction(() => {
    for (const r of rows) {
      if (typeof r.key === 'string' && r.value instanceof Uint8Array) store.kv.set(r.key, r.value);
    }
    db.prepare("DELETE FROM meta WHERE substr(key, 1, 5) = 'node.'").run();
  });
}

/** NOT_FOUND when the store has no identity (run `compeer init`). */
export function nodeStoreFrom(store: Store): NodeStore {
  const identity = loadIdentityKeyPair(store.identities);
  if (!identity) throw new CompeerError(ErrorCodes.NOT_FOUND, 'no identity in this store; run `compeer init`');
  const db = (store as { db?: DatabaseSync }).db;
  if (db) moveClearMeta(store, db);
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
    mailboxes: store.mailboxes,
    meta: store.kv,
    transaction: (fn, opts) => store.transaction(fn, opts),
    persistent: store.dir !== null,
    close: () => store.close(),
  };
}
