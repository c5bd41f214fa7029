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

/** A peer's position in the keyspace: SHA-256 of its peer ID's UTF-8 text. */
export function peerKey(peerId: string): Uint8Array {
  return sha256(utf8(peerId));
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
 * Fewer peers than r → all of them, sorted.
 */
export function closestPeers<T extends { readonly peerId: string }>(target: Uint8Array, peers: readonly T[], r: number): T[] {
  assertBytes(target, 'target', KEYSPACE_BYTES);
  assertInteger(r, 'r', 0, Number.MAX_SAFE_INTEGER);
  const seen = new Set<string>();
  const keyed: { peer: T; key: Uint8Array }[] = [];
  for (const peer of peers) {
    if (seen.has(peer.peerId)) continue;
    seen.add(peer.peerId);
    keyed.push({ peer, key: peerKey(peer.peerId) });
  }
  keyed.sort((x, y) => compareDistance(target, x.key, y.key) || (x.peer.peerId < y.peer.peerId ? -1 : x.peer.peerId > y.peer.peerId ? 1 : 0));
  return keyed.slice(0, r).map((k) => k.peer);
}
