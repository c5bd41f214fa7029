/**
 * The onion packet (src/protocol/onion/packet.ts, docs/onion.md): round trips over every path length,
 * constant size, tamper detection at the hop that peels (the MAC covers the payload), key rotation,
 * replay tags, unlinkability of consecutive hops, and typed errors for every bad input.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256 } from '../../src/crypto/hash.ts';
import { generateX25519, type X25519KeyPair } from '../../src/crypto/x25519.ts';
import { equalBytes, utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { CompeerError, CryptoError, DecodeError, ErrorCodes, LimitError } from '../../src/lib/errors.ts';
import { systemRng } from '../../src/lib/system.ts';
import {
  buildOnion,
  ONION_MAX_LAYERS,
  ONION_PACKET_BYTES,
  ONION_PAYLOAD_BYTES,
  ONION_SLOT_BYTES,
  ONION_TAG_BYTES,
  ONION_VERSION,
  peelOnion,
  type OnionLayer,
  type PeeledOnion,
} from '../../src/protocol/onion/packet.ts';
import { decodeSlot, encodeExitSlot, encodeForwardSlot, SLOT_BYTES } from '../../src/protocol/onion/_slot.ts';

const rng = deterministicRng(sha256(utf8('compeer/onion-packet-test')), sha256);
const relays: X25519KeyPair[] = Array.from({ length: ONION_MAX_LAYERS }, () => generateX25519(rng));
const previous: X25519KeyPair[] = Array.from({ length: ONION_MAX_LAYERS }, () => generateX25519(rng));
const firstKey = (relays[0] as X25519KeyPair).publicKey;
const peerId = (i: number): string => `12D3KooWRelay${i}`.padEnd(52, String.fromCharCode(0x41 + i));

function path(n: number, keys: readonly X25519KeyPair[] = relays): OnionLayer[] {
  return keys.slice(0, n).map((k, i) => ({
    routingKey: k.publicKey,
    instruction: i === n - 1 ? { kind: 'exit' } : { kind: 'forward', next: peerId(i + 1) },
  }));
}

/** Peels every hop with the right key; returns each hop's input packet and the final result. */
function walk(n: number, packet: Uint8Array, keys: readonly X25519KeyPair[] = relays): { packets: Uint8Array[]; results: PeeledOnion[] } {
  const packets: Uint8Array[] = [];
  const results: PeeledOnion[] = [];
  let p = packet;
  for (let i = 0; i < n; i++) {
    packets.push(p);
    const r = peelOnion([keys[i] as X25519KeyPair], p);
    results.push(r);
    if (i < n - 1) {
      assert.equal(r.kind, 'forward', `hop ${i}`);
      if (r.kind !== 'forward') break;
      assert.equal(r.next, peerId(i + 1));
      p = r.packet;
    } else {
      assert.equal(r.kind, 'exit', `hop ${i}`);
    }
  }
  return { packets, results };
}

function exitPayload(r: PeeledOnion | undefined): Uint8Array {
  assert.ok(r?.kind === 'exit');
  return r.payload;
}

function flipBit(packet: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(packet);
  out[bit >>> 3] = (out[bit >>> 3] as number) ^ (1 << (bit & 7));
  return out;
}

describe('onion packet', () => {
  test('layout constants', () => {
    assert.equal(ONION_PACKET_BYTES, 4096);
    assert.equal(ONION_MAX_LAYERS, 6);
    assert.equal(ONION_SLOT_BYTES, 1 + 1 + 62 + 32 + 16);
    assert.equal(ONION_PAYLOAD_BYTES, 4096 - 1 - 32 - 16 - 6 * ONION_SLOT_BYTES);
    assert.equal(ONION_TAG_BYTES, 16);
  });

  test('round trip for 1..6 layers and payloads of 0, 1 and the maximum bytes; size constant at every hop', () => {
    for (let n = 1; n <= ONION_MAX_LAYERS; n++) {
      for (const size of [0, 1, ONION_PAYLOAD_BYTES]) {
        const payload = rng.bytes(size);
        const { packets, results } = walk(n, buildOnion(path(n), payload, rng));
        for (const p of packets) assert.equal(p.length, ONION_PACKET_BYTES);
        assert.deepEqual(exitPayload(results.at(-1)), payload, `n=${n} size=${size}`);
        for (const r of results) assert.equal(r.tag.length, ONION_TAG_BYTES);
      }
    }
  });

  test('a flipped bit anywhere in the packet is rejected by the hop that peels it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: ONION_MAX_LAYERS }), fc.nat(), fc.nat({ max: ONION_PACKET_BYTES * 8 - 1 }), (n, hopSeed, bit) => {
        const hop = hopSeed % n;
        const { packets } = walk(n, buildOnion(path(n), rng.bytes(100), rng));
        const tampered = flipBit(packets[hop] as Uint8Array, bit);
        const expected = bit < 8 ? DecodeError : CryptoError; // byte 0 is the version
        assert.throws(() => peelOnion([relays[hop] as X25519KeyPair], tampered), expected);
      }),
      { numRuns: 150 },
    );
  });

  test('a payload bit flipped by relay 1 is caught by relay 2 (tagging attack)', () => {
    fc.assert(
      fc.property(fc.nat({ max: ONION_PAYLOAD_BYTES * 8 - 1 }), (bit) => {
        const first = peelOnion([relays[0] as X25519KeyPair], buildOnion(path(3), rng.bytes(ONION_PAYLOAD_BYTES), rng));
        assert.ok(first.kind === 'forward');
        const tampered = flipBit(first.packet, (ONION_PACKET_BYTES - ONION_PAYLOAD_BYTES) * 8 + bit);
        assert.throws(() => peelOnion([relays[1] as X25519KeyPair], tampered), (e: unknown) => e instanceof CryptoError && e.code === ErrorCodes.DECRYPT_FAILED);
      }),
      { numRuns: 50 },
    );
  });

  test('a wrong key is a CryptoError; previous-key fallback (rotation) peels', () => {
    const packet = buildOnion(path(3, previous), utf8('hello'), rng);
    assert.throws(() => peelOnion([relays[0] as X25519KeyPair], packet), (e: unknown) => e instanceof CryptoError && e.code === ErrorCodes.DECRYPT_FAILED);
    assert.throws(() => peelOnion([relays[1] as X25519KeyPair, relays[2] as X25519KeyPair], packet), CryptoError);
    const viaOld = peelOnion([relays[0] as X25519KeyPair, previous[0] as X25519KeyPair], packet);
    const viaOnly = peelOnion([previous[0] as X25519KeyPair], packet);
    assert.deepEqual(viaOld, viaOnly);
    assert.equal(viaOld.key, (previous[0] as X25519KeyPair).publicKey, 'the peel names the key that opened it (the replay cache checks that key\'s epoch)');
    const current = buildOnion(path(2), utf8('hello'), rng);
    const viaCurrent = peelOnion([relays[0] as X25519KeyPair, previous[0] as X25519KeyPair], current);
    assert.equal(viaCurrent.kind, 'forward');
    assert.equal(viaCurrent.key, (relays[0] as X25519KeyPair).publicKey);
    assert.throws(() => peelOnion([], current), (e: unknown) => e instanceof CompeerError && e.code === ErrorCodes.INVALID_ARGUMENT);
  });

  test('wrong size or version is a DecodeError', () => {
    const packet = buildOnion(path(2), utf8('hello'), rng);
    const key = [relays[0] as X25519KeyPair];
    for (const bad of [packet.subarray(0, ONION_PACKET_BYTES - 1), new Uint8Array(ONION_PACKET_BYTES + 1), new Uint8Array(0)]) {
      assert.throws(() => peelOnion(key, bad), (e: unknown) => e instanceof DecodeError && e.code === ErrorCodes.INVALID_LENGTH);
    }
    for (const version of [0, 1, 255]) { // 1: the HMAC-SHA256 format this one replaced
      const v = Uint8Array.from(packet);
      v[0] = version;
      assert.throws(() => peelOnion(key, v), (e: unknown) => e instanceof DecodeError && e.code === ErrorCodes.UNSUPPORTED_VERSION);
    }
  });

  test('the replay tag is the same for the same packet and differs between packets and hops', () => {
    const payload = utf8('same payload');
    const a = buildOnion(path(3), payload, rng);
    const b = buildOnion(path(3), payload, rng);
    const key = [relays[0] as X25519KeyPair];
    assert.deepEqual(peelOnion(key, a).tag, peelOnion(key, Uint8Array.from(a)).tag);
    assert.notDeepEqual(peelOnion(key, a).tag, peelOnion(key, b).tag);
    const tags = walk(3, a).results.map((r) => r.tag);
    assert.equal(new Set(tags.map((t) => Buffer.from(t).toString('hex'))).size, 3);
  });

  test('packets at consecutive hops share no 16-byte window at the same offset', () => {
    for (let n = 2; n <= ONION_MAX_LAYERS; n++) {
      const { packets } = walk(n, buildOnion(path(n), new Uint8Array(ONION_PAYLOAD_BYTES), rng));
      for (let h = 0; h + 1 < packets.length; h++) {
        const [p, q] = [packets[h] as Uint8Array, packets[h + 1] as Uint8Array];
        for (let off = 0; off + 16 <= ONION_PACKET_BYTES; off++) {
          assert.ok(!equalBytes(p.subarray(off, off + 16), q.subarray(off, off + 16)), `n=${n} hops ${h}/${h + 1} offset ${off}`);
        }
      }
    }
  });

  test('arbitrary bytes never make peelOnion throw anything but a CompeerError', () => {
    const keys = [relays[0] as X25519KeyPair, previous[0] as X25519KeyPair];
    const valid = buildOnion(path(2), utf8('x'), rng);
    const input = fc.oneof(
      fc.uint8Array({ maxLength: ONION_PACKET_BYTES + 2 }),
      fc.uint8Array({ minLength: ONION_PACKET_BYTES, maxLength: ONION_PACKET_BYTES }).map((b) => ((b[0] = ONION_VERSION), b)),
      fc.tuple(fc.nat({ max: ONION_PACKET_BYTES - 1 }), fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([off, bytes]) => {
        const p = Uint8Array.from(valid);
        p.set(bytes.subarray(0, ONION_PACKET_BYTES - off), off);
        return p;
      }),
    );
    fc.assert(
      fc.property(input, (bytes) => {
        try {
          peelOnion(keys, bytes);
        } catch (e) {
          assert.ok(e instanceof CompeerError, String(e));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('bad build inputs: oversized payload, layer count, instruction order, peer IDs', () => {
    const isCode = (cls: typeof CompeerError, code: string) => (e: unknown) => e instanceof cls && e.code === code;
    assert.throws(() => buildOnion(path(3), new Uint8Array(ONION_PAYLOAD_BYTES + 1), rng), isCode(LimitError, ErrorCodes.LIMIT_EXCEEDED));
    assert.throws(() => buildOnion([], new Uint8Array(1), rng), isCode(CompeerError, ErrorCodes.INVALID_ARGUMENT));
    const seven = [...path(6).slice(0, 5), ...path(2)];
    assert.throws(() => buildOnion(seven, new Uint8Array(1), rng), isCode(LimitError, ErrorCodes.LIMIT_EXCEEDED));
    const exitFirst: OnionLayer[] = [{ routingKey: firstKey, instruction: { kind: 'exit' } }, ...path(1)];
    assert.throws(() => buildOnion(exitFirst, new Uint8Array(1), rng), isCode(CompeerError, ErrorCodes.INVALID_ARGUMENT));
    const forwardLast: OnionLayer[] = [{ routingKey: firstKey, instruction: { kind: 'forward', next: 'a' } }];
    assert.throws(() => buildOnion(forwardLast, new Uint8Array(1), rng), isCode(CompeerError, ErrorCodes.INVALID_ARGUMENT));
    for (const next of ['', 'x'.repeat(63), 'has space', 'é', 'tab\t']) {
      const layers: OnionLayer[] = [{ routingKey: firstKey, instruction: { kind: 'forward', next } }, ...path(1)];
      assert.throws(() => buildOnion(layers, new Uint8Array(1), rng), isCode(CompeerError, ErrorCodes.INVALID_ARGUMENT), JSON.stringify(next));
    }
    const longest: OnionLayer[] = [{ routingKey: firstKey, instruction: { kind: 'forward', next: '~'.repeat(62) } }, ...path(1, relays.slice(1))];
    const r = peelOnion([relays[0] as X25519KeyPair], buildOnion(longest, new Uint8Array(1), systemRng));
    assert.ok(r.kind === 'forward' && r.next === '~'.repeat(62));
  });

  test('slot decoding is strict (what a MAC-valid but badly built slot gets)', () => {
    const max = ONION_PAYLOAD_BYTES;
    const ok = encodeForwardSlot('peer', new Uint8Array(32).fill(1), new Uint8Array(16).fill(2));
    assert.deepEqual(decodeSlot(ok, max), { kind: 'forward', next: 'peer', ephemeral: new Uint8Array(32).fill(1), mac: new Uint8Array(16).fill(2) });
    assert.deepEqual(decodeSlot(encodeExitSlot(max), max), { kind: 'exit', length: max });
    const variants: [string, (s: Uint8Array) => void, Uint8Array][] = [
      ['unknown kind', (s) => (s[0] = 3), ok],
      ['zero kind', (s) => (s[0] = 0), ok],
      ['peer ID length 0', (s) => (s[1] = 0), ok],
      ['peer ID length 63', (s) => (s[1] = 63), ok],
      ['control character', (s) => (s[2] = 0x0a), ok],
      ['padding after peer ID', (s) => (s[40] = 1), ok],
      ['exit length too large', (s) => ((s[1] = (max + 1) >> 8), (s[2] = (max + 1) & 0xff)), encodeExitSlot(0)],
      ['exit padding', (s) => (s[SLOT_BYTES - 1] = 1), encodeExitSlot(0)],
    ];
    for (const [what, change, base] of variants) {
      const s = Uint8Array.from(base);
      change(s);
      assert.throws(() => decodeSlot(s, max), (e: unknown) => e instanceof DecodeError && e.code === ErrorCodes.MALFORMED_MESSAGE, what);
    }
  });
});
