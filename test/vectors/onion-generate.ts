/**
 * Generates test/vectors/onion-compeer.json, our recorded onion-packet vectors (fixed randomness): the
 * relays' routing keys, and for each case the packet at every hop, each layer's derived keys and replay
 * tag, and the exit payload.
 *
 *   node_modules/.bin/node test/vectors/onion-generate.ts     (rewrites the JSON; review the diff)
 *
 * Randomness: one deterministicRng(SHA-256("compeer/onion-vectors/v1"), SHA-256), drawn in this order:
 * the six relay keys, then case by case buildOnion's draws (one ephemeral key per layer, the exit slot's
 * padding, the payload's padding). Every hop is also peeled by `specPeel`, straight-line code written from
 * docs/onion.md on independent implementations (@noble/curves X25519, @noble/hashes HKDF and HMAC,
 * @noble/ciphers ChaCha20), and must give the same keys, next packet and payload as src/protocol/onion/.
 */
import { writeFileSync } from 'node:fs';
import { chacha20 } from '@noble/ciphers/chacha.js';
import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes, toHex, utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { generateX25519, type X25519KeyPair } from '../../src/crypto/x25519.ts';
import { buildOnion, peelOnion, type OnionLayer } from '../../src/protocol/onion/packet.ts';

export const SEED_LABEL = 'compeer/onion-vectors/v1';

export interface SpecLayer {
  ephemeral: string;
  macKey: string;
  streamKey: string;
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
 */
export function specPeel(privateKey: Uint8Array, publicKey: Uint8Array, packet: Uint8Array): SpecLayer & { next?: Uint8Array; payload?: Uint8Array } {
  if (packet.length !== 4096 || packet[0] !== 1) throw new Error('spec: size or version');
  const e = packet.slice(1, 33);
  const s = nobleX25519.getSharedSecret(privateKey, e);
  const key = (purpose: string, length: number) => hkdf(nobleSha256, s, new Uint8Array(32), concatBytes(utf8(`compeer/onion/v1/${purpose}`), e, publicKey), length);
  const [macKey, streamKey, tag] = [key('mac', 32), key('stream', 32), key('tag', 16)];
  const gamma = hmac(nobleSha256, macKey, concatBytes(packet.slice(0, 33), packet.slice(65)));
  if (!equalBytes(gamma, packet.slice(33, 65))) throw new Error('spec: MAC');
  const nonce = new Uint8Array(12);
  const b = chacha20(streamKey, nonce, concatBytes(packet.slice(65, 833), new Uint8Array(128))); // blocks 0..13
  const delta = chacha20(streamKey, nonce, packet.slice(833), undefined, 14); // from block 14
  const common = { ephemeral: toHex(e), macKey: toHex(macKey), streamKey: toHex(streamKey), tag: toHex(tag) };
  if (b[0] === 2) {
    const length = ((b[1] as number) << 8) | (b[2] as number);
    return { ...common, instruction: `exit:${length}`, payload: delta.slice(0, length) };
  }
  if (b[0] !== 1) throw new Error('spec: kind');
  const peer = new TextDecoder().decode(b.slice(2, 2 + (b[1] as number)));
  return { ...common, instruction: `forward:${peer}`, next: concatBytes(Uint8Array.of(1), b.slice(64, 128), b.slice(128), delta) };
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
