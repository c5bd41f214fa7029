/**
 * crypto/_sha256.ts (the JavaScript SHA-256 compression behind short HMACs) against node:crypto's
 * createHmac, on every message length across the padding boundaries (55/56/63/64 bytes and past the
 * HMAC_JS_MAX switch to OpenSSL), on reused key states, and hmacSha256Each against hmacSha256.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { hmacSha256, hmacSha256Each, sha256 } from '../../src/crypto/hash.ts';
import { hmacState, hmacWithState, wipeHmacState } from '../../src/crypto/_sha256.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';

const rng = deterministicRng(utf8('compeer/test/sha256'), sha256);
const reference = (key: Uint8Array, m: Uint8Array): Uint8Array => new Uint8Array(createHmac('sha256', key).update(m).digest());

describe('HMAC-SHA256 on the JavaScript compression function', () => {
  test('hmacSha256 agrees with createHmac for every message length 0..300 and several key lengths', () => {
    for (const keyLen of [0, 1, 32, 64, 65]) {
      const key = rng.bytes(keyLen);
      for (let n = 0; n <= 300; n++) {
        const m = rng.bytes(n);
        assert.deepEqual(hmacSha256(key, m), reference(key, m), `key ${keyLen}, message ${n}`);
      }
    }
  });

  test('one key state serves many messages, at any output offset, and gives the same MACs', () => {
    const key = rng.bytes(32);
    const state = hmacState(key);
    const out = new Uint8Array(40);
    for (const n of [0, 1, 27, 55, 56, 59, 63, 64, 65, 128]) {
      const m = rng.bytes(n);
      hmacWithState(state, m, out, 8);
      assert.deepEqual(out.subarray(8), reference(key, m), `message ${n}`);
    }
    wipeHmacState(state);
    assert.ok(state.inner.every((x) => x === 0) && state.outer.every((x) => x === 0));
  });

  test('hmacSha256Each equals hmacSha256 per message (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 80 }),
        fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 4 }),
        (key, messages) => {
          assert.deepEqual(hmacSha256Each(key, messages), messages.map((m) => reference(key, m)));
        },
      ),
      { numRuns: 200 },
    );
  });
});
