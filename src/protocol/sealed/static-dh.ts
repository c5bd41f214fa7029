/**
 * The static half of a sealed envelope, DH(IK_A, IK_B), is the same for every envelope between the same
 * two identities: computing it once per pair saves one X25519 per seal and per open (docs/perf-node.md,
 * "L3"). Memoized per own key pair (a WeakMap: a dropped identity takes its entries with it) in a
 * bounded LRU keyed by the peer's public key. The cached secret is no more sensitive than the private
 * key it sits beside in memory; each call returns a copy, since callers wipe what they get.
 * This module knows nothing of envelopes.
 */
import { toHex } from '../../lib/bytes.ts';
import { x25519, type X25519KeyPair, type X25519PublicKey } from '../../crypto/x25519.ts';

const LIMIT = 1024;
const memo = new WeakMap<X25519KeyPair, Map<string, Uint8Array>>();

export function staticDh(ours: X25519KeyPair, theirs: X25519PublicKey): Uint8Array {
  let byPeer = memo.get(ours);
  if (!byPeer) {
    byPeer = new Map();
    memo.set(ours, byPeer);
  }
  const key = toHex(theirs);
  let shared = byPeer.get(key);
  if (shared) {
    byPeer.delete(key); // refresh recency
  } else {
    shared = x25519(ours, theirs).slice();
    if (byPeer.size >= LIMIT) {
      const oldest = byPeer.keys().next();
      if (!oldest.done) byPeer.delete(oldest.value);
    }
  }
  byPeer.set(key, shared);
  return shared.slice();
}
