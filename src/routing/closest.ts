/**
 * Mailbox holders (DESIGN.md "Routing and delivery": "mail held by the k DHT-closest peers to a
 * mailbox key"): the r peers closest to a 32-byte target in the DHT keyspace. A peer's position is
 * SHA-256(utf8(peerId)); distance is the XOR metric of Kademlia (Maymounkov & Mazières 2002, §2.1),
 * compared as a 256-bit big-endian number. Ties (only possible for equal keys, i.e. duplicate IDs,
 * which are collapsed first) fall back to the peer ID so the answer is a pure function of the input
 * set, whatever its order — sender and fetcher must agree on the holders.
 *
 * This module knows nothing of the DHT itself (src/net/dht.ts) or of how mailbox keys are derived.
 */
import { assertBytes, assertInteger } from '../lib/assert.ts';
import { utf8 } from '../lib/bytes.ts';
import { sha256 } from '../crypto/hash.ts';

export const KEYSPACE_BYTES = 32;

/** Positions already hashed; cleared whole when full (bounded by peer-table sizes, 2,000 by default). */
const KEY_MEMO_MAX = 8_192;
const keyMemo = new Map<string, Uint8Array>();

/** A peer's position in the keyspace: SHA-256 of its peer ID's UTF-8 text. */
export function peerKey(peerId: string): Uint8Array {
  return sha256(utf8(peerId));
}

/** peerKey, memoised: holder placement hashes the same table for every mailbox address. Never exposed (callers could mutate it). */
function memoKey(peerId: string): Uint8Array {
  let key = keyMemo.get(peerId);
  if (key === undefined) {
    if (keyMemo.size >= KEY_MEMO_MAX) keyMemo.clear();
    key = peerKey(peerId);
    keyMemo.set(peerId, key);
  }
  return key;
}

/** Compares the XOR distances of `a` and `b` to `target` (all 32 bytes): negative when a is closer. */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < KEYSPACE_BYTES; i++) {
    const t = target[i] as number;
    const d = ((a[i] as number) ^ t) - ((b[i] as number) ^ t);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The `r` peers closest to `target`, closest first; each peer ID counts once (its first occurrence).
 * Fewer peers than r → all of them, sorted. One pass keeping the best r (r is small: 3–9 holders), so a
 * 2,000-peer table costs 2,000 comparisons, not a sort.
 */
export function closestPeers<T extends { readonly peerId: string }>(target: Uint8Array, peers: readonly T[], r: number): T[] {
  assertBytes(target, 'target', KEYSPACE_BYTES);
  assertInteger(r, 'r', 0, Number.MAX_SAFE_INTEGER);
  if (r === 0) return [];
  const order = (x: { peer: T; key: Uint8Array }, y: { peer: T; key: Uint8Array }): number =>
    compareDistance(target, x.key, y.key) || (x.peer.peerId < y.peer.peerId ? -1 : x.peer.peerId > y.peer.peerId ? 1 : 0);
  const seen = new Set<string>();
  const best: { peer: T; key: Uint8Array }[] = [];
  for (const peer of peers) {
    if (seen.has(peer.peerId)) continue;
    seen.add(peer.peerId);
    const entry = { peer, key: memoKey(peer.peerId) };
    if (best.length === r && order(entry, best[r - 1] as typeof entry) >= 0) continue;
    // Insertion into the sorted best-r list.
    let i = best.length === r ? r - 1 : best.length;
    while (i > 0 && order(entry, best[i - 1] as typeof entry) < 0) {
      best[i] = best[i - 1] as typeof entry;
      i--;
    }
    best[i] = entry;
  }
  return best.map((k) => k.peer);
}
