/**
 * Bounded in-memory caches of imported X25519 keys, so that a state decoded before every operation
 * (as a store that keeps only bytes does) does not re-import its keys: importing a key into OpenSSL
 * costs as much as a DH (measured: private key 60 µs, public key 29 µs, DH 41 µs).
 *
 *   - our ratchet key pairs (DHs) generated in this process, by public key, until the ratchet deletes
 *     the key (forgetOwnKey) or the entry ages out of the LRU; a hit also requires the private bytes to
 *     match, so a corrupt state is never masked;
 *   - remote ratchet public keys, validated once, as one shared object per key, so crypto/x25519.ts's
 *     per-object handle cache applies across decodes; until the ratchet replaces the key with the
 *     peer's next one (forgetRemoteKey) or the entry ages out of the LRU.
 *
 * The caches change costs, never results. They live in process memory only (never persisted) and hold
 * nothing a live state does not hold too, except for at most RATCHET_KEY_CACHE_SIZE keys of abandoned
 * states. They are indexed by the key's first 6 bytes read as a number (not a hex string: this runs on
 * every message, and toHex plus string hashing was ~5 % of a ping-pong message), and every hit is
 * confirmed on all 32 bytes: a prefix shared by two keys (random keys: 2^-48; a peer could make one on
 * purpose) only replaces an entry, i.e. costs an import later, never returns the wrong key.
 * This module knows nothing of chains, messages or the state layout.
 */
import { equalBytes } from '../../lib/bytes.ts';
import { x25519PublicKey, type X25519KeyPair, type X25519PublicKey } from '../../crypto/x25519.ts';
import { RATCHET_KEY_CACHE_SIZE } from '../wire/constants.ts';

const ownKeys = new Map<number, X25519KeyPair>();
const remoteKeys = new Map<number, X25519PublicKey>();

/** Bytes 0..5 as an integer below 2^48 (exact in a double). */
function idOf(key: Uint8Array): number {
  return (
    ((key[0] as number) | ((key[1] as number) << 8) | ((key[2] as number) << 16)) +
    ((key[3] as number) | ((key[4] as number) << 8) | ((key[5] as number) << 16)) * 0x100_0000
  );
}

function touch<V>(map: Map<number, V>, id: number, value: V): void {
  map.delete(id);
  map.set(id, value);
  if (map.size > RATCHET_KEY_CACHE_SIZE) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
}

export function rememberOwnKey(pair: X25519KeyPair): void {
  touch(ownKeys, idOf(pair.publicKey), pair);
}

/** The cached pair for these exact bytes, or null. */
export function cachedOwnKey(publicKey: Uint8Array, privateKey: Uint8Array): X25519KeyPair | null {
  const pair = ownKeys.get(idOf(publicKey));
  if (pair === undefined || !equalBytes(pair.publicKey, publicKey) || !equalBytes(pair.privateKey, privateKey)) return null;
  return pair;
}

export function forgetOwnKey(publicKey: Uint8Array): void {
  const id = idOf(publicKey);
  const pair = ownKeys.get(id);
  if (pair !== undefined && equalBytes(pair.publicKey, publicKey)) ownKeys.delete(id);
}

/** Validates (crypto/x25519.ts policy) and returns the one shared object for this public key. */
export function remoteKey(bytes: Uint8Array): X25519PublicKey {
  const id = idOf(bytes);
  const cached = remoteKeys.get(id);
  if (cached !== undefined && equalBytes(cached, bytes)) {
    touch(remoteKeys, id, cached);
    return cached;
  }
  const key = x25519PublicKey(bytes);
  touch(remoteKeys, id, key);
  return key;
}

/** Drops the cached object for a remote key the ratchet has moved past (only if it is this object). */
export function forgetRemoteKey(key: X25519PublicKey): void {
  const id = idOf(key);
  if (remoteKeys.get(id) === key) remoteKeys.delete(id);
}
