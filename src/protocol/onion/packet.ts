/**
 * The onion packet (docs/onion.md; DESIGN.md "Routing and delivery" and "Security notes for the hard
 * parts"): Sphinx-like, without key blinding — a fresh ephemeral X25519 key per layer. Every packet is
 * 4,096 bytes at every hop:
 *
 *   packet = version (1) | E_i (32) | γ_i (32) | β_i (6 slots × 128 = 768) | δ_i (3,263)
 *   γ_i    = HMAC-SHA256(mac_i, version | E_i | β_i | δ_i)            the MAC covers the payload too
 *   K_i    = ChaCha20(stream_i, nonce 0), 4,159 bytes: H_i = K_i[0, 896) (β + one slot, blocks 0..13),
 *            P_i = K_i[896, 4159) (the payload, from block 14) — one key, disjoint counters, one call
 *
 * Peel (relay i): 1. size, version 2. E_i valid 3. for each key (current, then previous): s = X25519,
 * MAC key, verify γ_i in constant time 4. B = (β_i | 128 zeros) ⊕ H_i: slot = B[0, 128), β_{i+1} =
 * B[128, 896) — shifted one slot left, the tail is keystream, so β keeps its length and no relay can tell
 * its position 5. δ_{i+1} = δ_i ⊕ P_i 6. forward: version | E_{i+1} | γ_{i+1} from the slot | β_{i+1} |
 * δ_{i+1}; exit: the first `length` bytes of δ_{i+1}.
 * Build (sender): keys of every layer, the Sphinx filler (what the peels shift in), then β, δ and γ from
 * the exit back to the first relay. Only E_0 is in clear; every later E and γ travels encrypted in the
 * previous layer's slot, so no field survives two hops unchanged.
 * This module knows nothing of path selection, replay caches (callers keep `tag`), chunking or the network.
 */
import { assertBytes } from '../../lib/assert.ts';
import { concatBytes, equalBytes, wipe } from '../../lib/bytes.ts';
import type { Rng } from '../../lib/deps.ts';
import { CompeerError, CryptoError, DecodeError, ErrorCodes, LimitError } from '../../lib/errors.ts';
import { hmacSha256Parts } from '../../crypto/hash.ts';
import { chacha20Xor } from '../../crypto/stream.ts';
import { generateX25519, x25519, x25519PublicKey, type X25519KeyPair, type X25519PublicKey } from '../../crypto/x25519.ts';
import { layerKeys, type LayerKeys } from './_keys.ts';
import { assertPeerId, decodeSlot, encodeExitSlot, encodeForwardSlot, SLOT_BYTES } from './_slot.ts';

export { ONION_TAG_BYTES } from './_keys.ts';
export { ONION_MAX_PEER_ID_BYTES } from './_slot.ts';

export const ONION_VERSION = 1;
export const ONION_PACKET_BYTES = 4096;
/** Up to 5 relays and the final node. */
export const ONION_MAX_LAYERS = 6;
export const ONION_SLOT_BYTES = SLOT_BYTES;
const KEY_BYTES = 32;
const MAC_BYTES = 32;
const E_OFF = 1;
const MAC_OFF = E_OFF + KEY_BYTES; // 33
const BETA_OFF = MAC_OFF + MAC_BYTES; // 65
const BETA_BYTES = ONION_MAX_LAYERS * SLOT_BYTES; // 768
const DELTA_OFF = BETA_OFF + BETA_BYTES; // 833
/** The largest payload one packet carries (the exit's δ): 4,096 − 833 = 3,263 bytes. */
export const ONION_PAYLOAD_BYTES = ONION_PACKET_BYTES - DELTA_OFF;
const HEADER_STREAM_BYTES = BETA_BYTES + SLOT_BYTES; // 896 = 14 ChaCha20 blocks
const STREAM_BYTES = HEADER_STREAM_BYTES + ONION_PAYLOAD_BYTES; // 4,159
const NONCE = new Uint8Array(12); // every stream key is used once, for one stream

export type OnionInstruction = { readonly kind: 'forward'; readonly next: string } | { readonly kind: 'exit' };

export interface OnionLayer {
  readonly routingKey: X25519PublicKey;
  readonly instruction: OnionInstruction;
}

export type PeeledOnion =
  | { readonly kind: 'forward'; readonly next: string; readonly packet: Uint8Array; readonly tag: Uint8Array }
  | { readonly kind: 'exit'; readonly payload: Uint8Array; readonly tag: Uint8Array };

const VERSION_BYTES = Uint8Array.of(ONION_VERSION);

function mac(key: Uint8Array, ephemeral: Uint8Array, beta: Uint8Array, delta: Uint8Array): Uint8Array {
  return hmacSha256Parts(key, [VERSION_BYTES, ephemeral, beta, delta]);
}

function xorInto(target: Uint8Array, stream: Uint8Array, streamOffset: number): void {
  for (let i = 0; i < target.length; i++) target[i] = (target[i] as number) ^ (stream[streamOffset + i] as number);
}

function checkLayers(layers: readonly OnionLayer[], payload: Uint8Array): void {
  if (layers.length === 0) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'onion: at least one layer');
  if (layers.length > ONION_MAX_LAYERS) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `onion: at most ${ONION_MAX_LAYERS} layers, got ${layers.length}`);
  }
  assertBytes(payload, 'onion payload');
  if (payload.length > ONION_PAYLOAD_BYTES) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `onion payload: at most ${ONION_PAYLOAD_BYTES} bytes, got ${payload.length}`);
  }
  layers.forEach((layer, i) => {
    const last = i === layers.length - 1;
    if (layer.instruction.kind !== (last ? 'exit' : 'forward')) {
      throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `onion: layer ${i} must be ${last ? "'exit'" : "'forward'"}`);
    }
    if (layer.instruction.kind === 'forward') assertPeerId(layer.instruction.next);
    assertBytes(layer.routingKey, `onion layer ${i} routing key`, KEY_BYTES);
  });
}

interface SenderLayer {
  readonly ephemeral: X25519PublicKey;
  readonly mac: Uint8Array;
  readonly stream: Uint8Array; // K_i: H_i | P_i
  readonly header: Uint8Array; // H_i = K_i[0, 896)
  readonly payload: Uint8Array; // P_i = K_i[896, 4159)
}

function senderLayer(layer: OnionLayer, rng: Rng): SenderLayer {
  const e = generateX25519(rng);
  const keys = layerKeys(x25519(e, layer.routingKey), e.publicKey, layer.routingKey);
  wipe(e.privateKey);
  const stream = chacha20Xor(keys.stream, NONCE, new Uint8Array(STREAM_BYTES));
  wipe(keys.stream);
  return {
    ephemeral: e.publicKey,
    mac: keys.mac,
    stream,
    header: stream.subarray(0, HEADER_STREAM_BYTES),
    payload: stream.subarray(HEADER_STREAM_BYTES),
  };
}

/**
 * Wraps `payload` (≤ ONION_PAYLOAD_BYTES) for `layers`: every layer but the last 'forward', the last
 * 'exit'. Random draws, in order: one ephemeral key per layer (first layer first), the exit slot's
 * padding, the payload's padding. Returns the 4,096-byte packet for layers[0]'s node.
 */
export function buildOnion(layers: readonly OnionLayer[], payload: Uint8Array, rng: Rng): Uint8Array {
  checkLayers(layers, payload);
  const n = layers.length;
  const hops = layers.map((l) => senderLayer(l, rng));
  try {
    // Sphinx filler: φ_i = (φ_{i−1} | 0^S) ⊕ H_{i−1}[R − (i−1)S, R + S), so that the tail of β_{n−1}
    // equals what the n−1 peels before it shift in.
    let filler: Uint8Array = new Uint8Array(0);
    for (let i = 1; i < n; i++) {
      const next = concatBytes(filler, new Uint8Array(SLOT_BYTES));
      xorInto(next, (hops[i - 1] as SenderLayer).header, BETA_BYTES - (i - 1) * SLOT_BYTES);
      filler = next;
    }
    const exit = hops[n - 1] as SenderLayer;
    // β_{n−1} = ((exit slot | random) ⊕ H_{n−1}[0, R − (n−1)S)) | φ_{n−1}. Random, not zero, padding: the
    // exit node must not learn the path length from where zeros end.
    let beta: Uint8Array = concatBytes(encodeExitSlot(payload.length), rng.bytes(BETA_BYTES - n * SLOT_BYTES), filler);
    xorInto(beta.subarray(0, BETA_BYTES - (n - 1) * SLOT_BYTES), exit.header, 0);
    const delta = concatBytes(payload, rng.bytes(ONION_PAYLOAD_BYTES - payload.length));
    xorInto(delta, exit.payload, 0);
    let gamma = mac(exit.mac, exit.ephemeral, beta, delta);
    for (let i = n - 2; i >= 0; i--) {
      const hop = hops[i] as SenderLayer;
      const next = hops[i + 1] as SenderLayer;
      const instruction = (layers[i] as OnionLayer).instruction as { readonly next: string };
      // β_i = (slot_i | β_{i+1}[0, R − S)) ⊕ H_i[0, R);  δ_i = δ_{i+1} ⊕ P_i
      beta = concatBytes(encodeForwardSlot(instruction.next, next.ephemeral, gamma), beta.subarray(0, BETA_BYTES - SLOT_BYTES));
      xorInto(beta, hop.header, 0);
      xorInto(delta, hop.payload, 0);
      gamma = mac(hop.mac, hop.ephemeral, beta, delta);
    }
    return concatBytes(VERSION_BYTES, (hops[0] as SenderLayer).ephemeral, gamma, beta, delta);
  } finally {
    for (const h of hops) wipe(h.mac, h.stream);
  }
}

/**
 * The keys of the first routing key whose MAC verifies; undefined when none does. All three values are
 * derived per key tried (one HMAC state for the three, _keys.ts): a second key is tried only in the
 * hours around a rotation, and only after the first failed.
 */
function authenticate(keys: readonly X25519KeyPair[], packet: Uint8Array, ephemeral: X25519PublicKey): LayerKeys | undefined {
  const gamma = packet.subarray(MAC_OFF, BETA_OFF);
  const covered = [packet.subarray(0, MAC_OFF), packet.subarray(BETA_OFF)]; // version | E, β | δ: no copy
  for (const key of keys) {
    const k = layerKeys(x25519(key, ephemeral), ephemeral, key.publicKey);
    const ok = equalBytes(hmacSha256Parts(k.mac, covered), gamma);
    wipe(k.mac);
    if (ok) return k;
    wipe(k.stream);
  }
  return undefined;
}

/**
 * The one ChaCha20 input of a peel, β_i | 0^S | δ_i, laid out in a reused module buffer rather than a
 * fresh 4 KiB array per packet (allocation and GC were a measurable share of the peel). It holds public
 * bytes only (the packet as received); the S zeros at [R, R + S) are never written.
 */
const PEEL_INPUT = new Uint8Array(STREAM_BYTES);

/**
 * Peels one layer with this node's routing keys (current first, then previous: key rotation).
 * DecodeError for a wrong size or version or a malformed slot; CryptoError for an invalid E or when no
 * key's MAC verifies. `tag` is the layer's replay tag: the same for the same packet, for the caller's cache.
 */
export function peelOnion(keys: readonly X25519KeyPair[], packet: Uint8Array): PeeledOnion {
  assertBytes(packet, 'onion packet', ONION_PACKET_BYTES);
  if (packet[0] !== ONION_VERSION) {
    throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `onion packet: unsupported version ${packet[0]}`);
  }
  if (keys.length === 0) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'onion: no routing key to peel with');
  const ephemeral = x25519PublicKey(packet.subarray(E_OFF, MAC_OFF));
  const k = authenticate(keys, packet, ephemeral);
  if (k === undefined) throw new CryptoError(ErrorCodes.DECRYPT_FAILED, 'onion: no routing key authenticates this packet');
  let out: Uint8Array;
  try {
    // (β_i | 0^S | δ_i) ⊕ K_i = slot | β_{i+1} | δ_{i+1}: one ChaCha20 call for header and payload.
    PEEL_INPUT.set(packet.subarray(BETA_OFF, DELTA_OFF), 0);
    PEEL_INPUT.set(packet.subarray(DELTA_OFF), HEADER_STREAM_BYTES);
    out = chacha20Xor(k.stream, NONCE, PEEL_INPUT);
  } finally {
    wipe(k.stream);
  }
  const slot = decodeSlot(out.subarray(0, SLOT_BYTES), ONION_PAYLOAD_BYTES);
  if (slot.kind === 'exit') {
    return { kind: 'exit', payload: out.slice(HEADER_STREAM_BYTES, HEADER_STREAM_BYTES + slot.length), tag: k.tag };
  }
  // The forward packet is the tail of `out` (4,159 − 63 = 4,096 bytes): version | E_{i+1} | γ_{i+1} go
  // where the slot's peer ID ended, in place; the 63 bytes before it (the slot's kind and peer ID) are
  // wiped so the view's buffer carries nothing but the packet.
  out[SLOT_BYTES - MAC_BYTES - KEY_BYTES - 1] = ONION_VERSION;
  out.fill(0, 0, SLOT_BYTES - BETA_OFF);
  return { kind: 'forward', next: slot.next, packet: out.subarray(SLOT_BYTES - BETA_OFF), tag: k.tag };
}
