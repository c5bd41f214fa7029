/**
 * Wycheproof hkdf_sha256_test.json and hmac_sha256_test.json (C2SP/wycheproof testvectors_v1, see
 * README.md) through hkdfSha256 and hmacSha256. No "acceptable" cases in either file.
 *
 * HKDF: an output longer than 255 * HashLen = 8160 bytes is refused (RFC 5869 §2.3) with
 * INVALID_ARGUMENT; an empty salt is the same as no salt (§2.2).
 * HMAC: Wycheproof also tests 128-bit truncated tags; our API returns the full 32-byte tag, so the
 * test compares a prefix. Comparing tags is the caller's job, with lib/bytes equalBytes (constant time).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { equalBytes, toHex } from '../../src/lib/bytes.ts';
import { hkdfSha256 } from '../../src/crypto/hkdf.ts';
import { hmacSha256 } from '../../src/crypto/hash.ts';
import { hex, outcome, readJson, tally, wycheproofTests, type WycheproofFile, type WycheproofTest } from './_data.ts';

interface HkdfTest extends WycheproofTest {
  ikm: string;
  salt: string;
  info: string;
  size: number;
  okm: string;
}
interface MacTest extends WycheproofTest {
  key: string;
  msg: string;
  tag: string;
}
interface MacGroup {
  tagSize: number;
  tests: MacTest[];
}

const hkdfFile = readJson<WycheproofFile<{ tests: HkdfTest[] }>>('wycheproof/hkdf_sha256_test.json');
const hmacFile = readJson<WycheproofFile<MacGroup>>('wycheproof/hmac_sha256_test.json');

describe('Wycheproof HKDF-SHA-256', () => {
  const cases = wycheproofTests(hkdfFile);

  test(`file has the expected shape (${hkdfFile.numberOfTests} tests)`, () => {
    assert.equal(hkdfFile.algorithm, 'HKDF-SHA-256');
    assert.deepEqual(tally(cases.map(({ t }) => t.result)), { valid: 83, invalid: 3 });
  });

  test('valid cases give the expected OKM; SizeTooLarge is INVALID_ARGUMENT', () => {
    for (const { t } of cases) {
      const what = `tcId ${t.tcId} [${t.flags.join(',')}] size ${t.size}`;
      if (t.result === 'valid') {
        assert.equal(toHex(hkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), t.size)), t.okm, what);
      } else {
        assert.ok(t.flags.includes('SizeTooLarge'), what);
        assert.equal(outcome(() => hkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), t.size)), 'INVALID_ARGUMENT', what);
      }
    }
  });

  test('EmptySalt cases also match with the salt left out', () => {
    for (const { t } of cases.filter(({ t }) => t.result === 'valid' && t.salt === '')) {
      assert.equal(toHex(hkdfSha256(hex(t.ikm), undefined, hex(t.info), t.size)), t.okm, `tcId ${t.tcId}`);
    }
  });
});

describe('Wycheproof HMAC-SHA-256', () => {
  const cases = wycheproofTests(hmacFile);

  test(`file has the expected shape (${hmacFile.numberOfTests} tests)`, () => {
    assert.equal(hmacFile.algorithm, 'HMACSHA256');
    assert.deepEqual(tally(cases.map(({ t }) => t.result)), { valid: 66, invalid: 108 });
    assert.deepEqual([...new Set(hmacFile.testGroups.map((g) => g.tagSize))].sort(), [128, 256]);
  });

  test('valid tags match (full or truncated); modified tags do not', () => {
    for (const { group, t } of cases) {
      const full = hmacSha256(hex(t.key), hex(t.msg));
      const tag = full.subarray(0, group.tagSize / 8);
      assert.equal(equalBytes(tag, hex(t.tag)), t.result === 'valid', `tcId ${t.tcId} [${t.flags.join(',')}] ${t.comment ?? ''}`);
    }
  });
});
