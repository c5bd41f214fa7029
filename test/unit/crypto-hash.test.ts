/**
 * SHA-256/512, HMAC-SHA256 and HKDF-SHA256 wrappers: agreement with node:crypto's own HMAC and HKDF
 * (OpenSSL) on many input sizes, and HKDF's output-length bounds (RFC 5869 §2.3).
 * Published vectors: test/vectors/ (RFC 5869, Wycheproof HKDF and HMAC).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { hmacSha256, sha256, sha512 } from '../../src/crypto/hash.ts';
import { hkdfSha256, hkdfSha256Expand, hkdfSha256Keys } from '../../src/crypto/hkdf.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof Error);
    return (e as { code?: string }).code ?? e.message;
  }
  return 'ok';
}

const rng = deterministicRng(utf8('compeer/test/hash'), sha256);
const SIZES = [0, 1, 31, 32, 33, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 1000];

describe('SHA-2 and HMAC wrappers', () => {
  test('sha256 and sha512 agree with node:crypto (incl. padding boundaries)', () => {
    for (const n of SIZES) {
      const m = rng.bytes(n);
      assert.deepEqual(sha256(m), new Uint8Array(createHash('sha256').update(m).digest()), `sha256 ${n}`);
      assert.deepEqual(sha512(m), new Uint8Array(createHash('sha512').update(m).digest()), `sha512 ${n}`);
    }
  });

  test('hmacSha256 agrees with node:crypto for keys shorter, equal to and longer than the block', () => {
    for (const keyLen of [0, 1, 32, 63, 64, 65, 200]) {
      for (const n of [0, 32, 100]) {
        const key = rng.bytes(keyLen);
        const m = rng.bytes(n);
        assert.deepEqual(hmacSha256(key, m), new Uint8Array(createHmac('sha256', key).update(m).digest()), `key ${keyLen}, msg ${n}`);
      }
    }
  });
});

describe('HKDF-SHA256 wrapper', () => {
  test('agrees with node:crypto hkdfSync', () => {
    for (const len of [1, 32, 33, 64, 100, 8160]) {
      const ikm = rng.bytes(32);
      const salt = rng.bytes(len % 50);
      const info = rng.bytes(len % 17);
      const ours = hkdfSha256(ikm, salt, info, len);
      assert.deepEqual(ours, new Uint8Array(hkdfSync('sha256', ikm, salt, info, len)), `length ${len}`);
    }
  });

  test('output length must be in [1, 255 * 32] (RFC 5869 §2.3): else INVALID_ARGUMENT', () => {
    const ikm = rng.bytes(32);
    assert.equal(hkdfSha256(ikm, undefined, new Uint8Array(0), 8160).length, 8160);
    for (const len of [0, -1, 8161, 1.5, Number.NaN]) {
      assert.equal(codeOf(() => hkdfSha256(ikm, undefined, new Uint8Array(0), len)), 'INVALID_ARGUMENT', `length ${len}`);
    }
  });

  test('hkdfSha256Expand: equals the expand half of hkdfSha256; PRK must be 32 bytes', () => {
    const ikm = rng.bytes(32);
    const salt = rng.bytes(32);
    const info = utf8('compeer expand');
    const prk = hmacSha256(salt, ikm); // RFC 5869 §2.2 HKDF-Extract
    assert.deepEqual(hkdfSha256Expand(prk, info, 80), hkdfSha256(ikm, salt, info, 80));
    for (const n of [0, 16, 31, 33, 64]) {
      assert.equal(codeOf(() => hkdfSha256Expand(new Uint8Array(n), info, 32)), 'INVALID_LENGTH', `PRK ${n}`);
    }
    for (const len of [0, 8161]) {
      assert.equal(codeOf(() => hkdfSha256Expand(prk, info, len)), 'INVALID_ARGUMENT', `length ${len}`);
    }
  });

  test('shorter outputs are prefixes of longer ones (same PRK and info)', () => {
    const ikm = rng.bytes(32);
    const info = utf8('compeer test');
    const long = hkdfSha256(ikm, undefined, info, 96);
    assert.deepEqual(hkdfSha256(ikm, undefined, info, 40), long.subarray(0, 40));
  });

  test('hkdfSha256Keys: the same bytes as hkdfSha256, as separate 32-byte arrays; count in [1, 255]', () => {
    for (const count of [1, 2, 3, 7]) {
      const ikm = rng.bytes(32);
      const salt = rng.bytes(count * 5);
      const info = rng.bytes(count * 9);
      const keys = hkdfSha256Keys(ikm, salt, info, count);
      const whole = hkdfSha256(ikm, salt, info, count * 32);
      assert.equal(keys.length, count);
      keys.forEach((k, i) => {
        assert.deepEqual(k, whole.subarray(i * 32, (i + 1) * 32), `count ${count}, key ${i}`);
        assert.equal(k.byteLength, k.buffer.byteLength, 'each key owns its memory');
      });
    }
    assert.equal(codeOf(() => hkdfSha256Keys(rng.bytes(32), undefined, new Uint8Array(0), 0)), 'INVALID_ARGUMENT');
    assert.equal(codeOf(() => hkdfSha256Keys(rng.bytes(32), undefined, new Uint8Array(0), 256)), 'INVALID_ARGUMENT');
  });
});
