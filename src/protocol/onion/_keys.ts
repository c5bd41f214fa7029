/**
 * Per-layer keys of the onion packet (docs/onion.md "Keys"). One X25519 shared secret per layer,
 * s = X25519(e, P) between the sender's fresh ephemeral key e (public E) and the relay's routing key P,
 * becomes three values through HKDF-SHA256 (RFC 5869):
 *
 *   prk     = HKDF-Extract(salt = 32 zero bytes, ikm = s)                           RFC 5869 §2.2
 *   <value> = HKDF-Expand(prk, "compeer/onion/v1/<purpose>" | E | P, length)        RFC 5869 §2.3
 *
 * for the purposes mac (32, HMAC-SHA256 key), stream (32, the ChaCha20 key of both the routing info and
 * the payload, on disjoint block counters: see packet.ts) and tag (16, the replay tag). E and P are bound
 * into every value, so a layer's keys belong to that one ephemeral key and that one relay key.
 * Every value is at most HashLen, so its Expand is the single block T(1) = HMAC(prk, info | 0x01)
 * (§2.3); the three run under one set of prk pad states (hmacSha256Each): the extract and the three
 * expands cost 10 SHA-256 compressions.
 * This module knows nothing of the packet layout.
 */
import { utf8, wipe } from '../../lib/bytes.ts';
import { hmacSha256, hmacSha256Each } from '../../crypto/hash.ts';
import { secretBytes, type SecretBytes } from '../../crypto/secret.ts';

export const ONION_TAG_BYTES = 16;
const KEY_BYTES = 32;
const ZERO_SALT = new Uint8Array(32);
const LABELS = ['compeer/onion/v1/mac', 'compeer/onion/v1/stream', 'compeer/onion/v1/tag'].map(utf8);

export interface LayerKeys {
  readonly mac: SecretBytes;
  readonly stream: SecretBytes;
  readonly tag: Uint8Array;
}

/** RFC 5869 §2.3's info | 0x01 for each label: info = label | E | P. */
function expandInputs(ephemeral: Uint8Array, routingKey: Uint8Array): Uint8Array[] {
  return LABELS.map((label) => {
    const input = new Uint8Array(label.length + 2 * KEY_BYTES + 1);
    input.set(label, 0);
    input.set(ephemeral, label.length);
    input.set(routingKey, label.length + KEY_BYTES);
    input[input.length - 1] = 1; // the block counter of T(1)
    return input;
  });
}

/** The keys of one layer from its X25519 output (`shared` is wiped here); the caller wipes mac and stream. */
export function layerKeys(shared: Uint8Array, ephemeral: Uint8Array, routingKey: Uint8Array): LayerKeys {
  const prk = hmacSha256(ZERO_SALT, shared); // RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM)
  wipe(shared);
  const [mac, stream, tag] = hmacSha256Each(prk, expandInputs(ephemeral, routingKey)) as [Uint8Array, Uint8Array, Uint8Array];
  wipe(prk);
  const out = { mac: secretBytes(mac), stream: secretBytes(stream), tag: tag.slice(0, ONION_TAG_BYTES) };
  wipe(tag);
  return out;
}
