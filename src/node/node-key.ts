/**
 * The libp2p node key (transport identity): 32 random bytes made once and kept in the node's meta
 * area — the store's sealed key/value area (store-adapter.ts) — so the peer ID survives restarts and a
 * copy of the database without the storage key does not give it away.
 *
 * A value of the wrong length (corrupt, or from an older format) is replaced by a new key: the peer ID
 * changes, nothing else depends on it. This module knows nothing of libp2p.
 */
import type { Rng } from '../lib/deps.ts';
import type { Logger } from '../lib/log.ts';
import type { NodeStore } from './node-store.ts';

const META_KEY = 'node.key';
export const NODE_KEY_LENGTH = 32;

export function loadOrCreateNodeKey(store: NodeStore, rng: Rng, log: Logger): Uint8Array {
  const existing = store.meta.get(META_KEY);
  if (existing?.length === NODE_KEY_LENGTH) return existing;
  if (existing) log.warn('node key unreadable: a new one is made (the peer ID changes)');
  const key = rng.bytes(NODE_KEY_LENGTH);
  store.transaction(() => store.meta.set(META_KEY, key));
  return key;
}
