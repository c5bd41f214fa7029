/**
 * Onion packet recorded vectors (test/vectors/onion-compeer.json, made by onion-generate.ts with fixed
 * randomness). Three checks: regenerating gives the same bytes (any change in the layout, the key
 * derivation or the order of random draws shows up here); relays rebuilt from the recorded keys alone
 * peel the recorded packets into the recorded next packets, tags and payload; the straight-line spec peel
 * (independent implementations) does the same from the recorded bytes.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../src/lib/bytes.ts';
import { x25519FromPrivate } from '../../src/crypto/x25519.ts';
import { peelOnion } from '../../src/protocol/onion/packet.ts';
import { computeOnionVectors, specPeel, VECTORS_FILE, type OnionVectors } from './onion-generate.ts';

const v = JSON.parse(readFileSync(VECTORS_FILE, 'utf8')) as OnionVectors;

describe('onion recorded vectors', () => {
  test('regenerating with the same randomness gives identical bytes', () => {
    assert.deepEqual(computeOnionVectors(), v);
  });

  test('relays rebuilt from the recorded keys peel the recorded packets', () => {
    const relays = v.relays.map((r) => {
      const k = x25519FromPrivate(fromHex(r.private));
      assert.equal(toHex(k.publicKey), r.public);
      return k;
    });
    for (const c of v.cases) {
      c.path.forEach((r, hop) => {
        const relay = relays[r];
        assert.ok(relay);
        const out = peelOnion([relay], fromHex(c.packets[hop] as string));
        const layer = c.layers[hop];
        assert.equal(toHex(out.tag), layer?.tag, `${c.name} hop ${hop}`);
        if (out.kind === 'forward') {
          assert.equal(out.next, v.relays[c.path[hop + 1] as number]?.peerId);
          assert.equal(toHex(out.packet), c.packets[hop + 1]);
        } else {
          assert.equal(hop, c.path.length - 1);
          assert.equal(toHex(out.payload), c.payload);
        }
      });
    }
  });

  test('the straight-line spec peel maps the recorded packets to the recorded keys and payload', () => {
    for (const c of v.cases) {
      c.path.forEach((r, hop) => {
        const relay = v.relays[r];
        assert.ok(relay);
        const { next, payload, ...layer } = specPeel(fromHex(relay.private), fromHex(relay.public), fromHex(c.packets[hop] as string));
        assert.deepEqual(layer, c.layers[hop]);
        if (next !== undefined) assert.equal(toHex(next), c.packets[hop + 1]);
        else assert.equal(toHex(payload ?? new Uint8Array(0)), c.payload);
      });
      assert.equal(c.packets.length, c.path.length);
      for (const p of c.packets) assert.equal(p.length, 2 * 4096);
    }
  });
});
