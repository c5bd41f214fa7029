/**
 * Wycheproof ed25519_test.json (C2SP/wycheproof testvectors_v1, see README.md) through the policy path:
 * ed25519PublicKey (our canonical, prime-order key check) then ed25519Verify (S < L, OpenSSL's
 * cofactorless verify). The file has no "acceptable" cases: every valid signature must verify, every
 * invalid one (malleable S, bad R encodings, truncated or padded signatures, ...) must not.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519PublicKey, ed25519Verify } from '../../src/crypto/ed25519.ts';
import { hex, readJson, tally, wycheproofTests, type WycheproofFile, type WycheproofTest } from './_data.ts';

interface EddsaTest extends WycheproofTest {
  msg: string;
  sig: string;
}
interface EddsaGroup {
  publicKey: { curve: string; pk: string };
  tests: EddsaTest[];
}

const file = readJson<WycheproofFile<EddsaGroup>>('wycheproof/ed25519_test.json');
const cases = wycheproofTests(file);

describe('Wycheproof Ed25519', () => {
  test(`file has the expected shape (${file.numberOfTests} tests, no "acceptable")`, () => {
    assert.equal(file.algorithm, 'EDDSA');
    assert.equal(cases.length, 151);
    assert.deepEqual(tally(cases.map(({ t }) => t.result)), { valid: 88, invalid: 63 });
    assert.ok(file.testGroups.every((g) => g.publicKey.curve === 'edwards25519'));
  });

  test('every group key passes our import policy (they are honest keys)', () => {
    for (const g of file.testGroups) ed25519PublicKey(hex(g.publicKey.pk));
  });

  test('valid signatures verify, invalid ones do not', () => {
    for (const { group, t } of cases) {
      const ok = ed25519Verify(ed25519PublicKey(hex(group.publicKey.pk)), hex(t.msg), hex(t.sig));
      assert.equal(ok, t.result === 'valid', `tcId ${t.tcId} [${t.flags.join(',')}] ${t.comment ?? ''}`);
    }
  });
});
