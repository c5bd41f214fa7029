/**
 * Bounded in-memory caches of imported X25519 keys, so that a state decoded before every operation
 * (as a store that keeps only bytes does) does not re-import its keys: importing a key into OpenSSL
 * costs as much as a DH (measured: private key 60 µs, public key 29 µs, DH 41 µs).
 *
 *   - our ratchet key pairs (DHs) generated in this process, by public key, until the ratchet deletes
 *     the key (forgetOwnKey) or the entry ages out of the LRU; a hit also requires the private bytes to
 *     match, so a corrupt state is never masked;
 *   - remote ratchet public keys, validated once, as one shared object per key, so crypto/x25519.ts's
 *     per-object handle cache applies across decodes.
 *
 * The caches change costs, never results. They live in process memory only (never persisted) and hold
 * nothing a live state does not hold too, except for at most RATCHET_KEY_CACHE_SIZE keys of abandoned
 * states.
 * This module knows nothing of chains, messages or the state layout.
 */
import { equalBytes, toHex } from '../../lib/bytes.ts';
import { x25519PublicKey, type X25519KeyPair, type X25519PublicKey } from '../../crypto/x25519.ts';
import { RATCHET_KEY_CACHE_SIZE } from '../wire/constants.ts';

const ownKeys = new Map<string, X25519KeyPair>();
const remoteKeys = new Map<string, X25519PublicKey>();

function touch<V>(map: Map<string, V>, id: string, value: V): void {
  map.delete(id);
  map.set(id, value);
  if (map.size > RATCHET_KEY_CACHE_SIZE) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
}

export function rememberOwnKey(pair: X25519KeyPair): void {
  touch(ownKeys, toHex(pair.publicKey), pair);
}

/** The cached pair for these exact bytes, or null. */
export function cachedOwnKey(publicKey: Uint8Array, privateKey: Uint8Array): X25519KeyPair | null {
  const pair = ownKeys.get(toHex(publicKey));
  if (pair === undefined || !equalBytes(pair.privateKey, privateKey)) return null;
  return pair;
}

export function forgetOwnKey(publicKey: Uint8Array): void {
  ownKeys.delete(toHex(publicKey));
}

/** Validates (crypto/x25519.ts policy) and returns the one shared object for this public key. */
export function remoteKey(bytes: Uint8Array): X25519PublicKey {
  const id = toHex(bytes);
  const cached = remoteKeys.get(id);
  if (cached !== undefined) {
    touch(remoteKeys, id, cached);
    return cached;
  }
  const key = x25519PublicKey(bytes);
  touch(remoteKeys, id, key);
  return key;
}
