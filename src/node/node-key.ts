/**
 * The libp2p node key (transport identity): 32 random bytes made once and kept in the node's meta area,
 * so the peer ID survives restarts. It is sealed at rest with ChaCha20-Poly1305 under a key derived
 * from the identity secret (HKDF-SHA256, info "compeer/node/node-key-seal/v1"), so a copy of the
 * database without the identity (itself sealed by the store) does not give away the transport key.
 *
 *   meta "node.key" = nonce (12) | AEAD(k, nonce, node key (32), ad = "compeer/node-key/v1")
 *
 * A value that does not open (corrupt, or sealed under another identity) is replaced by a new key: the
 * peer ID changes, nothing else depends on it. This module knows nothing of libp2p.
 */
import { utf8, wipe } from '../lib/bytes.ts';
import type { Rng } from '../lib/deps.ts';
import type { Logger } from '../lib/log.ts';
import { AEAD_NONCE_LENGTH, aeadOpen, aeadSeal } from '../crypto/aead.ts';
import { hkdfSha256 } from '../crypto/hkdf.ts';
import { encodeIdentitySecret } from '../protocol/identity.ts';
import type { NodeStore } from './node-store.ts';

const META_KEY = 'node.key';
const SEAL_INFO = utf8('compeer/node/node-key-seal/v1');
const AD = utf8('compeer/node-key/v1');
export const NODE_KEY_LENGTH = 32;

function sealKey(store: NodeStore): Uint8Array {
  const secret = encodeIdentitySecret(store.identity);
  try {
    return hkdfSha256(secret, undefined, SEAL_INFO, 32);
  } finally {
    wipe(secret);
  }
}

export function loadOrCreateNodeKey(store: NodeStore, rng: Rng, log: Logger): Uint8Array {
  const k = sealKey(store);
  try {
    const sealed = store.meta.get(META_KEY);
    if (sealed && sealed.length > AEAD_NONCE_LENGTH) {
      try {
        const key = aeadOpen(k, sealed.subarray(0, AEAD_NONCE_LENGTH), sealed.subarray(AEAD_NONCE_LENGTH), AD);
        if (key.length === NODE_KEY_LENGTH) return key;
      } catch {
        // falls through: a new key
      }
      log.warn('node key unreadable: a new one is made (the peer ID changes)');
    }
    const key = rng.bytes(NODE_KEY_LENGTH);
    const nonce = rng.bytes(AEAD_NONCE_LENGTH);
    const value = new Uint8Array(AEAD_NONCE_LENGTH + NODE_KEY_LENGTH + 16);
    value.set(nonce, 0);
    value.set(aeadSeal(k, nonce, key, AD), AEAD_NONCE_LENGTH);
    store.transaction(() => store.meta.set(META_KEY, value));
    return key;
  } finally {
    wipe(k);
  }
}
