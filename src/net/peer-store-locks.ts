/**
 * Per-node peer-store locks. @libp2p/peer-store guards each remote peer's record with a read/write lock
 * (mortice) named by that peer's ID alone, and mortice keeps its mutexes process-wide by name: several
 * nodes in one process — the simulator's full mode (40 nodes), in-process tests — share one lock per
 * remote peer, so every node's peer-store write about a peer waits for every other node's. libp2p
 * writes the peer store (the protocol, `merge`) before it hands a negotiated stream to us, on both
 * ends: in full-partition (26 Nov, heal4) the /compeer/ streams waited a median of 4–8 s there during
 * setup and 1–7 s after the heal (a request deadline is 5 s). One node per process (the daemon) never
 * shared a lock; for it this changes nothing.
 *
 * The fix scopes the lock's name (and its key in the store's lock map) to the node: `<own>/<peer>`. It
 * reaches into the peer store's internals (`store.getLock`, `store.maybeRemoveLock`, libp2p 3.3), so it
 * checks their shape and leaves the store alone, saying so, when they differ.
 */

interface LockingStore {
  getLock(peerId: unknown): unknown;
  maybeRemoveLock(peerId: unknown, lock: unknown): void;
}

function lockingStore(peerStore: unknown): LockingStore | undefined {
  const store = (peerStore as { store?: Partial<LockingStore> } | undefined)?.store;
  if (typeof store?.getLock !== 'function' || typeof store.maybeRemoveLock !== 'function') return undefined;
  return store as LockingStore;
}

/**
 * Names `peerStore`'s per-peer locks after the node `self` as well; false (nothing changed) when the
 * peer store does not have the expected shape.
 */
export function ownPeerStoreLocks(peerStore: unknown, self: string): boolean {
  const store = lockingStore(peerStore);
  if (store === undefined) return false;
  const getLock = store.getLock.bind(store);
  const maybeRemoveLock = store.maybeRemoveLock.bind(store);
  // The lock map and mortice both key by toString(): one object gives both the node's own name.
  const scoped = (peerId: unknown): { toString(): string } => ({ toString: () => `${self}/${String(peerId)}` });
  store.getLock = (peerId) => getLock(scoped(peerId));
  store.maybeRemoveLock = (peerId, lock) => maybeRemoveLock(scoped(peerId), lock);
  return true;
}
