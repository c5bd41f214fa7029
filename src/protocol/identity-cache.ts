/**
 * Decoding a public identity verifies its binding signature and validates both keys (identity.ts),
 * ~0.4 ms — the largest cost of opening an envelope, reading a bundle or an initial message from a
 * known peer. The result depends only on the 129 encoded bytes, so it is memoized: a bounded LRU of
 * successful decodes keyed by the exact bytes; failures are never cached. Returning the same
 * PublicIdentity object for the same peer also lets crypto/x25519.ts reuse the imported key handle.
 * This module knows nothing of envelopes, bundles or contacts.
 */
import { toHex } from '../lib/bytes.ts';
import { assertInteger } from '../lib/assert.ts';
import { decodePublicIdentity, type PublicIdentity } from './identity.ts';

/** Strict decode of an encoded public identity (throws typed errors, as decodePublicIdentity). */
export type IdentityDecoder = (encoding: Uint8Array) => PublicIdentity;

export const IDENTITY_CACHE_DEFAULT_LIMIT = 1024;

export function cachedIdentityDecoder(limit: number = IDENTITY_CACHE_DEFAULT_LIMIT): IdentityDecoder {
  assertInteger(limit, 'identity cache limit', 1, 1_000_000);
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

/** The process-wide memo used by the protocol's decoders (bundles, initial messages, envelopes, sessions). */
export const decodeKnownIdentity: IdentityDecoder = cachedIdentityDecoder();
