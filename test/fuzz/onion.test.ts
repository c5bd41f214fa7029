/**
 * Fuzz of onion packets (src/protocol/onion/packet.ts) peeled with a real routing key: random bytes of
 * any size and every mutation of a real packet (1 to 6 layers, each hop's packet) are refused, typed —
 * the MAC covers the whole packet, so nothing mutated is ever peeled; and the slot decoder, on bytes
 * the packet's builder chooses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sha256 } from '../../src/crypto/hash.ts';
import { generateX25519, type X25519KeyPair } from '../../src/crypto/x25519.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { CompeerError } from '../../src/lib/errors.ts';
import { buildOnion, ONION_MAX_LAYERS, ONION_MAX_PEER_ID_BYTES, ONION_PACKET_BYTES, ONION_PAYLOAD_BYTES, ONION_VERSION, peelOnion, type OnionLayer } from '../../src/protocol/onion/packet.ts';
import { decodeSlot, encodeExitSlot, encodeForwardSlot, type Slot } from '../../src/protocol/onion/_slot.ts';
import { assertRejected, fuzzCodec, params, sameBytes } from './_fuzz.ts';

const rng = deterministicRng(sha256(utf8('compeer/fuzz/onion')), sha256);
const relays: X25519KeyPair[] = Array.from({ length: ONION_MAX_LAYERS }, () => generateX25519(rng));
const other = generateX25519(rng);
const peerId = (i: number): string => `12D3KooWRelay${i}`.padEnd(52, 'A');

function path(n: number): OnionLayer[] {
  return relays.slice(0, n).map((k, i) => ({ routingKey: k.publicKey, instruction: i === n - 1 ? { kind: 'exit' } : { kind: 'forward', next: peerId(i + 1) } }));
}

describe('fuzz: onion packets (src/protocol/onion/packet.ts)', () => {
  // The packet each hop receives, for paths of 1, 3 and 6 layers: [key, packet].
  const hops: [X25519KeyPair, Uint8Array][] = [];
  for (const n of [1, 3, 6]) {
    let p = buildOnion(path(n), rng.bytes(n * 100), rng);
    for (let i = 0; i < n; i++) {
      hops.push([relays[i] as X25519KeyPair, p]);
      const r = peelOnion([relays[i] as X25519KeyPair], p);
      if (r.kind === 'forward') p = r.packet.slice();
    }
  }
  // One decoder per key: the packet must be peeled by the key of its hop (the previous key tried too).
  for (const [i, key] of relays.slice(0, 3).entries()) {
    fuzzCodec(it, {
      name: `onion packet at hop ${i}`,
      decode: (b) => peelOnion([key, other], b),
      samples: hops.filter(([k]) => k === key).map(([, p]) => p),
      authenticated: true,
      mutationRuns: 500,
      randomRuns: 60,
    });
  }
  it('onion: random bytes of the packet size, behind the version byte, are refused', () => {
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const b = deterministicRng(Uint8Array.of(seed & 0xff, (seed >>> 8) & 0xff, seed >>> 16), sha256).bytes(ONION_PACKET_BYTES);
        b[0] = ONION_VERSION;
        assertRejected('random packet', () => peelOnion(relays, b));
      }),
      params(200),
    );
    assert.ok(hops.length > 0);
  });
});

describe('fuzz: onions built from arbitrary paths and payloads (builder and peeler agree)', () => {
  it('any path of 1 to 6 hops with any next-hop names and any payload peels, hop by hop, to its names and payload — or is refused typed by the builder', () => {
    const name = fc.oneof(fc.stringMatching(/^[\x21-\x7e]{1,62}$/), fc.string({ maxLength: 70 }));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: ONION_MAX_LAYERS }), fc.array(name, { minLength: ONION_MAX_LAYERS, maxLength: ONION_MAX_LAYERS }), fc.nat({ max: ONION_PAYLOAD_BYTES + 2 }), (n, names, size) => {
        const layers: OnionLayer[] = relays.slice(0, n).map((k, i) => ({ routingKey: k.publicKey, instruction: i === n - 1 ? { kind: 'exit' } : { kind: 'forward', next: names[i] as string } }));
        const payload = rng.bytes(size);
        let packet: Uint8Array;
        try {
          packet = buildOnion(layers, payload, rng);
        } catch (e) {
          // The builder's side: a name that is no printable ASCII of 1–62 characters, a payload too large.
          assert.ok(e instanceof CompeerError, String(e));
          return;
        }
        for (let i = 0; i < n; i++) {
          const r = peelOnion([relays[i] as X25519KeyPair], packet);
          if (i < n - 1) {
            assert.ok(r.kind === 'forward' && r.next === names[i], `hop ${i} forwards to its name`);
            if (r.kind === 'forward') packet = r.packet.slice();
          } else {
            assert.ok(r.kind === 'exit' && sameBytes(r.payload, payload), 'the last hop gets the payload');
          }
        }
      }),
      params(150),
    );
  });
});

describe('fuzz: onion slots (src/protocol/onion/_slot.ts)', () => {
  // Whoever builds a packet chooses its slots (they know the relay's public key): after the MAC, the
  // slot is attacker-chosen bytes.
  const encode = (s: Slot): Uint8Array => (s.kind === 'exit' ? encodeExitSlot(s.length) : encodeForwardSlot(s.next, s.ephemeral, s.mac));
  fuzzCodec(it, {
    name: 'onion slot',
    decode: (b) => decodeSlot(b, ONION_PAYLOAD_BYTES),
    encode,
    samples: [encodeExitSlot(0), encodeExitSlot(ONION_PAYLOAD_BYTES), encodeForwardSlot('x', rng.bytes(32), rng.bytes(16)), encodeForwardSlot('~'.repeat(ONION_MAX_PEER_ID_BYTES), rng.bytes(32), rng.bytes(16))],
    mutationRuns: 1000,
  });
});

