/**
 * Wycheproof chacha20_poly1305_test.json (C2SP/wycheproof testvectors_v1, see README.md) through
 * aeadSeal/aeadOpen (libsodium), and through aeadSealDetached/aeadOpenDetached (the onion's cipher,
 * node:crypto). No "acceptable" cases. Valid cases must seal to ct || tag and open back; a
 * modified tag must fail with DECRYPT_FAILED (one error, no detail); a nonce that is not 96 bits is a
 * caller bug and fails before any crypto with INVALID_LENGTH (RFC 8439 §2.8 defines only 96-bit nonces).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { concatBytes, toHex } from '../../src/lib/bytes.ts';
import { aeadOpen, aeadSeal } from '../../src/crypto/aead.ts';
import { aeadOpenDetached, aeadSealDetached } from '../../src/crypto/aead-detached.ts';
import { hex, outcome, readJson, tally, wycheproofTests, type WycheproofFile, type WycheproofTest } from './_data.ts';

interface AeadTest extends WycheproofTest {
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
}
interface AeadGroup {
  ivSize: number;
  keySize: number;
  tagSize: number;
  tests: AeadTest[];
}

const file = readJson<WycheproofFile<AeadGroup>>('wycheproof/chacha20_poly1305_test.json');
const cases = wycheproofTests(file);

describe('Wycheproof ChaCha20-Poly1305', () => {
  test(`file has the expected shape (${file.numberOfTests} tests)`, () => {
    assert.equal(file.algorithm, 'CHACHA20-POLY1305');
    assert.deepEqual(tally(cases.map(({ t }) => t.result)), { valid: 256, invalid: 69 });
    assert.ok(file.testGroups.every((g) => g.keySize === 256 && g.tagSize === 128));
  });

  test('96-bit nonce: valid cases seal and open; modified tags are DECRYPT_FAILED', () => {
    for (const { t } of cases.filter(({ group }) => group.ivSize === 96)) {
      const key = hex(t.key);
      const nonce = hex(t.iv);
      const ad = hex(t.aad);
      const sealed = concatBytes(hex(t.ct), hex(t.tag));
      const what = `tcId ${t.tcId} [${t.flags.join(',')}] ${t.comment ?? ''}`;
      if (t.result === 'valid') {
        assert.equal(toHex(aeadSeal(key, nonce, hex(t.msg), ad)), t.ct + t.tag, what);
        assert.equal(toHex(aeadOpen(key, nonce, sealed, ad)), t.msg, what);
      } else {
        assert.equal(outcome(() => aeadOpen(key, nonce, sealed, ad)), 'DECRYPT_FAILED', what);
      }
    }
  });

  test('96-bit nonce, detached tag: valid cases seal and open; modified tags open to undefined', () => {
    for (const { t } of cases.filter(({ group }) => group.ivSize === 96)) {
      const key = hex(t.key);
      const nonce = hex(t.iv);
      const ad = hex(t.aad);
      const what = `tcId ${t.tcId} [${t.flags.join(',')}] ${t.comment ?? ''}`;
      if (t.result === 'valid') {
        const sealed = aeadSealDetached(key, nonce, hex(t.msg), ad);
        assert.equal(toHex(sealed.ciphertext) + toHex(sealed.tag), t.ct + t.tag, what);
        assert.equal(toHex(aeadOpenDetached(key, nonce, hex(t.ct), hex(t.tag), ad) ?? new Uint8Array(0)), t.msg, what);
        assert.notEqual(aeadOpenDetached(key, nonce, hex(t.ct), hex(t.tag), ad), undefined, what);
      } else {
        assert.equal(aeadOpenDetached(key, nonce, hex(t.ct), hex(t.tag), ad), undefined, what);
      }
    }
  });

  test('other nonce sizes are refused with INVALID_LENGTH on both seal and open', () => {
    const odd = cases.filter(({ group }) => group.ivSize !== 96);
    assert.equal(odd.length, 9);
    for (const { t } of odd) {
      assert.equal(t.result, 'invalid');
      assert.equal(outcome(() => aeadSeal(hex(t.key), hex(t.iv), hex(t.msg), hex(t.aad))), 'INVALID_LENGTH', `tcId ${t.tcId}`);
      const sealed = concatBytes(hex(t.ct), hex(t.tag));
      assert.equal(outcome(() => aeadOpen(hex(t.key), hex(t.iv), sealed, hex(t.aad))), 'INVALID_LENGTH', `tcId ${t.tcId}`);
    }
  });
});
