/**
 * Per-layer keys of the onion packet (docs/onion.md "Keys"). One X25519 shared secret per layer,
 * s = X25519(e, P) between the sender's fresh ephemeral key e (public E) and the relay's routing key P,
 * becomes four values through HKDF-SHA256 (RFC 5869):
 *
 *   prk     = HKDF-Extract(salt = 32 zero bytes, ikm = s)                           RFC 5869 §2.2
 *   <value> = HKDF-Expand(prk, "compeer/onion/v1/<purpose>" | E | P, length)        RFC 5869 §2.3
 *
 * for the purposes mac (32, HMAC-SHA256 key), stream (32, the ChaCha20 key of both the routing info and
 * the payload, on disjoint block counters: see packet.ts) and tag (16, the replay tag). E and P are bound
 * into every value, so a layer's keys belong to that one ephemeral key and that one relay key. The extract
 * is shared by the expands; a relay trying several keys (rotation) derives only the MAC key until one
 * verifies.
 * This module knows nothing of the packet layout.
 */
import { concatBytes, utf8, wipe } from '../../lib/bytes.ts';
import { hmacSha256 } from '../../crypto/hash.ts';
import { hkdfSha256Expand } from '../../crypto/hkdf.ts';
import { secretBytes, type SecretBytes } from '../../crypto/secret.ts';

export const ONION_TAG_BYTES = 16;
const KEY_BYTES = 32;
const ZERO_SALT = new Uint8Array(32);

type Purpose = 'mac' | 'stream' | 'tag';
const LABELS: Record<Purpose, Uint8Array> = {
  mac: utf8('compeer/onion/v1/mac'),
  stream: utf8('compeer/onion/v1/stream'),
  tag: utf8('compeer/onion/v1/tag'),
};

/** The shared secret of one layer, extracted; the caller wipes it (and `shared` is wiped here). */
export interface LayerSecret {
  readonly prk: SecretBytes;
  readonly binding: Uint8Array; // E | P
}

export function layerSecret(shared: Uint8Array, ephemeral: Uint8Array, routingKey: Uint8Array): LayerSecret {
  const prk = secretBytes(hmacSha256(ZERO_SALT, shared)); // RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM)
  wipe(shared);
  return { prk, binding: concatBytes(ephemeral, routingKey) };
}

function expand(secret: LayerSecret, purpose: Purpose, length: number): Uint8Array {
  return hkdfSha256Expand(secret.prk, concatBytes(LABELS[purpose], secret.binding), length);
}

export function macKey(secret: LayerSecret): SecretBytes {
  return secretBytes(expand(secret, 'mac', KEY_BYTES));
}

export interface StreamKeys {
  readonly stream: SecretBytes;
  readonly tag: Uint8Array;
}

export function streamKeys(secret: LayerSecret): StreamKeys {
  return { stream: secretBytes(expand(secret, 'stream', KEY_BYTES)), tag: expand(secret, 'tag', ONION_TAG_BYTES) };
}
