/**
 * Decoding a sender identity out of a sealed envelope verifies its binding signature and validates both
 * keys (protocol/identity.ts), which costs ~2 ms — most of the cost of opening an envelope. The result
 * depends only on the 129 encoded bytes, so a node can memoize it: this is a bounded LRU of successful
 * decodes keyed by the exact bytes. Failures are never cached. Returning the same PublicIdentity object
 * for the same sender also lets crypto/x25519.ts reuse the imported key handle.
 * This module knows nothing of envelopes or contacts; it is an optional dependency of envelope.ts.
 */
import { toHex } from '../../lib/bytes.ts';
import { assertInteger } from '../../lib/assert.ts';
import { decodePublicIdentity, type PublicIdentity } from '../identity.ts';

/** Strict decode of an encoded public identity (throws typed errors, as decodePublicIdentity). */
export type SenderDecoder = (encoding: Uint8Array) => PublicIdentity;

export const SENDER_CACHE_DEFAULT_LIMIT = 1024;

export function cachedSenderDecoder(limit: number = SENDER_CACHE_DEFAULT_LIMIT): SenderDecoder {
  assertInteger(limit, 'sender cache limit', 1, 1_000_000);
  const cache = new Map<string, PublicIdentity>();
  return (encoding) => {
    const key = toHex(encoding);
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key); // refresh recency
      cache.set(key, hit);
      return hit;
    }
    const decoded = decodePublicIdentity(encoding);
    cache.set(key, decoded);
    if (cache.size > limit) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    return decoded;
  };
}
