/**
 * Per-layer keys of the onion packet (docs/onion.md "Keys"). One X25519 shared secret per layer,
 * s = X25519(e, P) between the sender's fresh ephemeral key e (public E) and the relay's routing key P,
 * is hashed with both public keys, as Sphinx derives its keys from hashes of s (Danezis & Goldberg 2009:
 * h_ρ, h_μ, h_π) and libsodium's crypto_kx from BLAKE2b-512(s | pk | pk):
 *
 *   h   = SHA-512("compeer/onion/v2" | s | E | P)          64 bytes
 *   key = h[0, 32)     the layer's ChaCha20-Poly1305 key (RFC 8439 §2.8)
 *   tag = h[32, 48)    the replay tag
 *
 * E and P are bound in, so a layer's keys belong to that one ephemeral key and that one relay key.
 * Why one hash and not HKDF (v1 had HKDF-SHA256, an extract and three expands): on this 2-core machine
 * the JS HMACs cost ~20 µs per peel, one native SHA-512 ~2 µs, and the peel target is 100 µs.
 * This module knows nothing of the packet layout.
 */
import { utf8, wipe } from '../../lib/bytes.ts';
import { sha512 } from '../../crypto/hash.ts';
import { secretBytes, type SecretBytes } from '../../crypto/secret.ts';

export const ONION_TAG_BYTES = 16;
const KEY_BYTES = 32;
const LABEL = utf8('compeer/onion/v2');

export interface LayerKeys {
  readonly key: SecretBytes;
  readonly tag: Uint8Array;
}

/** The hash input, reused (no allocation per layer); everything after the label is wiped after each use. */
const INPUT = new Uint8Array(LABEL.length + 3 * KEY_BYTES);
INPUT.set(LABEL, 0);

/** The keys of one layer from its X25519 output (`shared` is wiped here); the caller wipes `key`. */
export function layerKeys(shared: Uint8Array, ephemeral: Uint8Array, routingKey: Uint8Array): LayerKeys {
  const input = INPUT;
  input.set(shared, LABEL.length);
  input.set(ephemeral, LABEL.length + KEY_BYTES);
  input.set(routingKey, LABEL.length + 2 * KEY_BYTES);
  wipe(shared);
  const h = sha512(input);
  input.fill(0, LABEL.length);
  const out = { key: secretBytes(h.slice(0, KEY_BYTES)), tag: h.slice(KEY_BYTES, KEY_BYTES + ONION_TAG_BYTES) };
  wipe(h);
  return out;
}
