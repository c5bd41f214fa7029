/**
 * Generates test/vectors/onion-compeer.json, our recorded onion-packet vectors (fixed randomness): the
 * relays' routing keys, and for each case the packet at every hop, each layer's derived keys and replay
 * tag, and the exit payload.
 *
 *   node_modules/.bin/node test/vectors/onion-generate.ts     (rewrites the JSON; review the diff)
 *
 * Randomness: one deterministicRng(SHA-256("compeer/onion-vectors/v2"), SHA-256), drawn in this order:
 * the six relay keys, then case by case buildOnion's draws (one ephemeral key per layer, the exit slot's
 * padding, the payload's padding). Every hop is also peeled by `specPeel`, straight-line code written from
 * docs/onion.md on independent implementations (@noble/curves X25519, @noble/hashes SHA-512,
 * @noble/ciphers ChaCha20-Poly1305), and must give the same keys, next packet and payload as
 * src/protocol/onion/.
 */
import { writeFileSync } from 'node:fs';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes, toHex, utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { generateX25519, type X25519KeyPair } from '../../src/crypto/x25519.ts';
import { buildOnion, peelOnion, type OnionLayer } from '../../src/protocol/onion/packet.ts';

export const SEED_LABEL = 'compeer/onion-vectors/v2';

export interface SpecLayer {
  ephemeral: string;
  /** The layer's ChaCha20-Poly1305 key. */
  key: string;
  tag: string;
  /** 'forward:<peer ID>' or 'exit:<payload length>' */
  instruction: string;
}

export interface OnionVectorCase {
  name: string;
  /** Indices into `relays`, first hop first. */
  path: number[];
  payload: string;
  /** The packet each hop receives (packets[0] is what the sender sends). */
  packets: string[];
  layers: SpecLayer[];
}

export interface OnionVectors {
  description: string;
  seed: string;
  relays: { peerId: string; private: string; public: string }[];
  cases: OnionVectorCase[];
}

/**
 * docs/onion.md "Peeling", written out without the module's helpers: one layer of `packet` with the
 * relay's private key. Returns the layer's keys and either the next packet or the exit payload.
 * Layout: version 2 | E (32) | γ (16) | β (6 × 112) | δ (3,375).
 */
export function specPeel(privateKey: Uint8Array, publicKey: Uint8Array, packet: Uint8Array): SpecLayer & { next?: Uint8Array; payload?: Uint8Array } {
  if (packet.length !== 4096 || packet[0] !== 2) throw new Error('spec: size or version');
  const e = packet.slice(1, 33);
  const s = nobleX25519.getSharedSecret(privateKey, e);
  const h = nobleSha512(concatBytes(utf8('compeer/onion/v2'), s, e, publicKey));
  const [key, tag] = [h.slice(0, 32), h.slice(32, 48)];
  // ChaCha20-Poly1305 (RFC 8439 §2.8), nonce 0, AD = version | E, ciphertext β | 112 zeros | δ, tag γ.
  const sealed = concatBytes(packet.slice(49, 721), new Uint8Array(112), packet.slice(721), packet.slice(33, 49));
  const out = chacha20poly1305(key, new Uint8Array(12), packet.slice(0, 33)).decrypt(sealed); // throws on a bad tag
  const common = { ephemeral: toHex(e), key: toHex(key), tag: toHex(tag) };
  if (out[0] === 2) {
    const length = ((out[1] as number) << 8) | (out[2] as number);
    return { ...common, instruction: `exit:${length}`, payload: out.slice(784, 784 + length) };
  }
  if (out[0] !== 1) throw new Error('spec: kind');
  const peer = new TextDecoder().decode(out.slice(2, 2 + (out[1] as number)));
  // Forward: version | E_next, γ_next (slot bytes 64..112) | β_next (784 − 112 bytes) | δ_next.
  return { ...common, instruction: `forward:${peer}`, next: concatBytes(Uint8Array.of(2), out.slice(64, 112), out.slice(112)) };
}

const PEER_IDS = [
  '12D3KooWAVPprUdB6Q4umgGWwmJrcy4X6m8YNhqdGW2rpCXQLWhC',
  '12D3KooWBxrDhJvDXmLwf7S7T4u4J4uGd7hWmLJ3dNPx5aZQ1qRe',
  '12D3KooWCpS4Gw6rvtRU9WkTTz4aMjpJaeMYpB4v6V9cVg7HgNwK',
  '12D3KooWDsFAXWfm7cRnmaJqhjxn1gbpXRhs9xy1W3dPk9RrN6AF',
  '12D3KooWEk5oUbNv7hP2jkVHh7MHgf2oHdLUYs6YYUNXwhAK8ccM',
  '12D3KooWFq3Lx8yTzBPV2gGrRJbk8xQxbUc9ZzWu1Wn4tqAy6Cdh',
];

function buildCase(name: string, relays: readonly X25519KeyPair[], path: number[], payload: Uint8Array, rng: ReturnType<typeof deterministicRng>): OnionVectorCase {
  const layers: OnionLayer[] = path.map((r, i) => ({
    routingKey: (relays[r] as X25519KeyPair).publicKey,
    instruction: i === path.length - 1 ? { kind: 'exit' } : { kind: 'forward', next: PEER_IDS[path[i + 1] as number] as string },
  }));
  let packet = buildOnion(layers, payload, rng);
  const packets: string[] = [];
  const specLayers: SpecLayer[] = [];
  for (const r of path) {
    const relay = relays[r] as X25519KeyPair;
    packets.push(toHex(packet));
    const ours = peelOnion([relay], packet);
    const { next, payload: out, ...layer } = specPeel(relay.privateKey, relay.publicKey, packet);
    if (toHex(ours.tag) !== layer.tag) throw new Error(`${name}: tag differs from the spec derivation`);
    if (ours.kind === 'forward') {
      if (next === undefined || !equalBytes(next, ours.packet) || layer.instruction !== `forward:${ours.next}`) throw new Error(`${name}: forward differs from spec`);
      packet = ours.packet;
    } else if (out === undefined || !equalBytes(out, ours.payload) || !equalBytes(out, payload)) {
      throw new Error(`${name}: exit payload differs from spec`);
    }
    specLayers.push(layer);
  }
  return { name, path, payload: toHex(payload), packets, layers: specLayers };
}

export function computeOnionVectors(): OnionVectors {
  const seed = sha256(utf8(SEED_LABEL));
  const rng = deterministicRng(seed, sha256);
  const relays = PEER_IDS.map(() => generateX25519(rng));
  const cases = [
    buildCase('three layers (two relays and the final node), short payload', relays, [0, 1, 2], utf8('compeer onion vector'), rng),
    buildCase('one layer (direct to the final node), empty payload', relays, [5], new Uint8Array(0), rng),
  ];
  return {
    description: 'Compeer onion packet recorded vectors; generated by test/vectors/onion-generate.ts, format in docs/onion.md',
    seed: toHex(seed),
    relays: relays.map((k, i) => ({ peerId: PEER_IDS[i] as string, private: toHex(k.privateKey), public: toHex(k.publicKey) })),
    cases,
  };
}

export const VECTORS_FILE = new URL('./onion-compeer.json', import.meta.url);

if (import.meta.main) {
  writeFileSync(VECTORS_FILE, JSON.stringify(computeOnionVectors(), null, 2) + '\n');
  console.log(`wrote ${VECTORS_FILE.pathname}`);
}
