/**
 * The onion packet (docs/onion.md; DESIGN.md "Routing and delivery" and "Security notes for the hard
 * parts"): Sphinx-like, without key blinding — a fresh ephemeral X25519 key per layer. Every packet is
 * 4,096 bytes at every hop:
 *
 *   packet = version (1) | E_i (32) | γ_i (16) | β_i (6 slots × 112 = 672) | δ_i (3,375)
 *   key_i  = SHA-512("compeer/onion/v2" | s_i | E_i | P_i)[0, 32)          (_keys.ts)
 *   (slot | β_{i+1} | δ_{i+1}), γ_i = ChaCha20-Poly1305 with key_i, nonce 0, AD = version | E_i, over the
 *            ciphertext β_i | 0^S | δ_i (4,159 bytes; RFC 8439 §2.8): γ_i is its tag, so the MAC covers
 *            the payload too, and its keystream K_i (from block 1) decrypts header and payload at once
 *
 * Peel (relay i): 1. size, version 2. E_i valid 3. for each key (current, then previous): s = X25519,
 * key_i, open (β_i | 0^S | δ_i) with tag γ_i — one native call authenticates and decrypts 4. slot =
 * the first S bytes; β_{i+1} follows — shifted one slot left, the tail is keystream, so β keeps its length
 * and no relay can tell its position 5. forward: version | E_{i+1} | γ_{i+1} from the slot | β_{i+1} |
 * δ_{i+1}, a view of the output; exit: the first `length` bytes of δ_{i+1}.
 * Build (sender): keys of every layer, the Sphinx filler (what the peels shift in), then from the exit back
 * to the first relay one seal per layer of what that layer's peel must output; the seal's ciphertext is
 * β_i | 0^S | δ_i (the S zeros are the filler invariant, checked) and its tag γ_i. Only E_0 is in clear;
 * every later E and γ travels encrypted in the previous layer's slot, so no field survives two hops unchanged.
 * This module knows nothing of path selection, replay caches (callers keep `tag`), chunking or the network.
 */
import { assertBytes } from '../../lib/assert.ts';
import { concatBytes, isAllZero, wipe } from '../../lib/bytes.ts';
import type { Rng } from '../../lib/deps.ts';
import { CompeerError, CryptoError, DecodeError, ErrorCodes, LimitError } from '../../lib/errors.ts';
import { aeadOpenDetached, aeadSealDetached } from '../../crypto/aead-detached.ts';
import { chacha20Xor } from '../../crypto/stream.ts';
import { generateX25519, x25519, x25519Once, type X25519KeyPair, type X25519PublicKey } from '../../crypto/x25519.ts';
import { layerKeys } from './_keys.ts';
import { assertPeerId, decodeSlot, encodeExitSlot, encodeForwardSlot, SLOT_BYTES } from './_slot.ts';

export { ONION_TAG_BYTES } from './_keys.ts';
export { ONION_MAX_PEER_ID_BYTES } from './_slot.ts';

/** 2: ChaCha20-Poly1305 layers, 16-byte γ, 112-byte slots (1 was HMAC-SHA256 + ChaCha20, 128-byte slots). */
export const ONION_VERSION = 2;
export const ONION_PACKET_BYTES = 4096;
/** Up to 5 relays and the final node. */
export const ONION_MAX_LAYERS = 6;
export const ONION_SLOT_BYTES = SLOT_BYTES;
const KEY_BYTES = 32;
const MAC_BYTES = 16; // the Poly1305 tag
const E_OFF = 1;
const MAC_OFF = E_OFF + KEY_BYTES; // 33
const BETA_OFF = MAC_OFF + MAC_BYTES; // 49
const BETA_BYTES = ONION_MAX_LAYERS * SLOT_BYTES; // 672
const DELTA_OFF = BETA_OFF + BETA_BYTES; // 721
/** The largest payload one packet carries (the exit's δ): 4,096 − 721 = 3,375 bytes. */
export const ONION_PAYLOAD_BYTES = ONION_PACKET_BYTES - DELTA_OFF;
const HEADER_STREAM_BYTES = BETA_BYTES + SLOT_BYTES; // 784: β and the slot shifted in
const STREAM_BYTES = HEADER_STREAM_BYTES + ONION_PAYLOAD_BYTES; // 4,159
/** Every layer key is used once, for one message: a constant nonce is safe (RFC 8439 §4). */
const NONCE = new Uint8Array(12);
/** RFC 8439 §2.8: the AEAD encrypts from block 1 (block 0 makes the Poly1305 key). */
const FIRST_BLOCK = 1;
/** Where a forward packet starts in the peel's output: version | E | γ end where the slot ends. */
const FORWARD_OFF = SLOT_BYTES - BETA_OFF; // 63
const VERSION_BYTES = Uint8Array.of(ONION_VERSION);

export type OnionInstruction = { readonly kind: 'forward'; readonly next: string } | { readonly kind: 'exit' };

export interface OnionLayer {
  readonly routingKey: X25519PublicKey;
  readonly instruction: OnionInstruction;
}

/**
 * `key` is the public half of the routing key that authenticated the layer (the same array as in the
 * caller's `keys`): the caller keeps `tag` in the replay set of that key's epoch, not of whichever epoch
 * is current (a packet built for the previous key stays peelable after a rotation, so it must meet the
 * set it was first recorded in).
 */
export type PeeledOnion =
  | { readonly kind: 'forward'; readonly next: string; readonly packet: Uint8Array; readonly tag: Uint8Array; readonly key: X25519PublicKey }
  | { readonly kind: 'exit'; readonly payload: Uint8Array; readonly tag: Uint8Array; readonly key: X25519PublicKey };

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
  readonly key: Uint8Array;
  /** AD of the layer's seal: version | E_i. */
  readonly ad: Uint8Array;
}

function senderLayer(layer: OnionLayer, rng: Rng): SenderLayer {
  const e = generateX25519(rng);
  const keys = layerKeys(x25519(e, layer.routingKey), e.publicKey, layer.routingKey);
  wipe(e.privateKey);
  return { ephemeral: e.publicKey, key: keys.key, ad: concatBytes(VERSION_BYTES, e.publicKey) };
}

/** K_i from block 1: the keystream the layer's seal and open XOR with. */
function keystream(hop: SenderLayer, length: number): Uint8Array {
  return chacha20Xor(hop.key, NONCE, new Uint8Array(length), FIRST_BLOCK);
}

/**
 * Seals what layer i's peel must output; returns β_i, δ_i and γ_i. The ciphertext's middle S bytes are
 * 0^S exactly when the plaintext's β tail is what the peel shifts in (the filler invariant): checked,
 * since a packet that breaks it would fail at that relay.
 */
function seal(hop: SenderLayer, plaintext: Uint8Array): { beta: Uint8Array; delta: Uint8Array; gamma: Uint8Array } {
  const { ciphertext, tag } = aeadSealDetached(hop.key, NONCE, plaintext, hop.ad);
  if (!isAllZero(ciphertext.subarray(BETA_BYTES, HEADER_STREAM_BYTES))) {
    throw new CompeerError(ErrorCodes.INTERNAL, 'onion: filler invariant broken');
  }
  return { beta: ciphertext.subarray(0, BETA_BYTES), delta: ciphertext.subarray(HEADER_STREAM_BYTES), gamma: tag };
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
    // Sphinx filler: φ_j = (φ_{j−1} | 0^S) ⊕ H_{j−1}[R − (j−1)S, R + S), H = K[0, R + S), so that the
    // tail of β_{n−1} equals what the n−1 peels before it shift in.
    let filler: Uint8Array = new Uint8Array(0);
    for (let j = 1; j < n; j++) {
      const next = concatBytes(filler, new Uint8Array(SLOT_BYTES));
      const h = keystream(hops[j - 1] as SenderLayer, HEADER_STREAM_BYTES);
      xorInto(next, h, BETA_BYTES - (j - 1) * SLOT_BYTES);
      wipe(h);
      filler = next;
    }
    // Exit: β_{n−1} = ((exit slot | random) ⊕ H_{n−1}[0, R − (n−1)S)) | φ_{n−1};
    // δ_{n−1} = (payload | random) ⊕ P_{n−1}. Random, not zero, padding: the exit node must not learn the
    // path length from where zeros end. Its seal's plaintext is (β_{n−1} | 0^S | δ_{n−1}) ⊕ K_{n−1}.
    const exit = hops[n - 1] as SenderLayer;
    const k = keystream(exit, STREAM_BYTES);
    const plain = concatBytes(
      encodeExitSlot(payload.length),
      rng.bytes(BETA_BYTES - n * SLOT_BYTES),
      new Uint8Array(filler.length + SLOT_BYTES),
      payload,
      rng.bytes(ONION_PAYLOAD_BYTES - payload.length),
    );
    xorInto(plain.subarray(BETA_BYTES - (n - 1) * SLOT_BYTES, HEADER_STREAM_BYTES), k, BETA_BYTES - (n - 1) * SLOT_BYTES);
    xorInto(plain.subarray(BETA_BYTES - (n - 1) * SLOT_BYTES, BETA_BYTES), filler, 0);
    wipe(k);
    let layer = seal(exit, plain);
    // Relay i: its peel outputs slot_i(next, E_{i+1}, γ_{i+1}) | β_{i+1} | δ_{i+1}.
    for (let i = n - 2; i >= 0; i--) {
      const next = hops[i + 1] as SenderLayer;
      const instruction = (layers[i] as OnionLayer).instruction as { readonly next: string };
      layer = seal(hops[i] as SenderLayer, concatBytes(encodeForwardSlot(instruction.next, next.ephemeral, layer.gamma), layer.beta, layer.delta));
    }
    return concatBytes(VERSION_BYTES, (hops[0] as SenderLayer).ephemeral, layer.gamma, layer.beta, layer.delta);
  } finally {
    for (const h of hops) wipe(h.key);
  }
}

/**
 * The one AEAD input of a peel, β_i | 0^S | δ_i, laid out in a reused module buffer rather than a fresh
 * 4 KiB array per packet (allocation and GC were a measurable share of the peel). It holds public bytes
 * only (the packet as received); the S zeros at [R, R + S) are never written.
 */
const PEEL_INPUT = new Uint8Array(STREAM_BYTES);

/**
 * Opens the packet with the first routing key that authenticates it: its output (slot | β_{i+1} |
 * δ_{i+1}) and replay tag; undefined when no key does. A second key is tried only around a rotation,
 * and only after the first failed.
 */
function open(keys: readonly X25519KeyPair[], packet: Uint8Array): { out: Uint8Array; tag: Uint8Array; key: X25519PublicKey } | undefined {
  const ephemeral = packet.subarray(E_OFF, MAC_OFF);
  PEEL_INPUT.set(packet.subarray(BETA_OFF, DELTA_OFF), 0);
  PEEL_INPUT.set(packet.subarray(DELTA_OFF), HEADER_STREAM_BYTES);
  const gamma = packet.subarray(MAC_OFF, BETA_OFF);
  const ad = packet.subarray(0, MAC_OFF); // version | E_i
  for (const key of keys) {
    // E is used for this one packet: validated (CryptoError when invalid) and handed to OpenSSL as raw
    // bytes, with no key object built or cached for it (crypto/x25519.ts x25519Once).
    const k = layerKeys(x25519Once(key, ephemeral), ephemeral, key.publicKey);
    const out = aeadOpenDetached(k.key, NONCE, PEEL_INPUT, gamma, ad);
    wipe(k.key);
    if (out !== undefined) return { out, tag: k.tag, key: key.publicKey };
  }
  return undefined;
}

/**
 * Peels one layer with this node's routing keys (current first, then previous: key rotation).
 * DecodeError for a wrong size or version or a malformed slot; CryptoError for an invalid E or when no
 * key authenticates the packet. `tag` is the layer's replay tag: the same for the same packet, for the
 * caller's cache; `key` the public key that peeled it (its epoch's replay set holds the tag).
 */
export function peelOnion(keys: readonly X25519KeyPair[], packet: Uint8Array): PeeledOnion {
  assertBytes(packet, 'onion packet', ONION_PACKET_BYTES);
  if (packet[0] !== ONION_VERSION) {
    throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `onion packet: unsupported version ${packet[0]}`);
  }
  if (keys.length === 0) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'onion: no routing key to peel with');
  const opened = open(keys, packet);
  if (opened === undefined) throw new CryptoError(ErrorCodes.DECRYPT_FAILED, 'onion: no routing key authenticates this packet');
  const { out, tag, key } = opened;
  const slot = decodeSlot(out.subarray(0, SLOT_BYTES), ONION_PAYLOAD_BYTES);
  if (slot.kind === 'exit') {
    return { kind: 'exit', payload: out.slice(HEADER_STREAM_BYTES, HEADER_STREAM_BYTES + slot.length), tag, key };
  }
  // The forward packet is the tail of `out` (4,159 − 63 = 4,096 bytes): E_{i+1} and γ_{i+1} already sit
  // at the end of the slot; the version byte goes just before them, and the 63 bytes before that (the
  // slot's kind and peer ID) are wiped so the view's buffer carries nothing but the packet.
  out[FORWARD_OFF] = ONION_VERSION;
  out.fill(0, 0, FORWARD_OFF);
  return { kind: 'forward', next: slot.next, packet: out.subarray(FORWARD_OFF), tag, key };
}
