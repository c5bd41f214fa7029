/**
 * Wycheproof x25519_test.json (C2SP/wycheproof testvectors_v1, see README.md) against both paths:
 *
 * 1. x25519Raw, the bare RFC 7748 function: every case must give Wycheproof's shared secret, except that
 *    an all-zero output is refused with WEAK_KEY (RFC 7748 §6.1 check; OpenSSL refuses it too).
 * 2. The policy path, x25519PublicKey + x25519, which is what protocol code uses. Wycheproof marks 254
 *    cases "acceptable" (either answer is allowed); here each one gets OUR answer, derived from the
 *    case's flags and bytes, and the per-flag totals are pinned so docs/crypto-primitives.md's
 *    "Policy for every acceptable flag" table cannot drift from the code.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { isAllZero, toHex } from '../../src/lib/bytes.ts';
import { x25519, x25519FromPrivate, x25519PublicKey, x25519Raw } from '../../src/crypto/x25519.ts';
import { hex, outcome, readJson, tally, wycheproofTests, type WycheproofFile, type WycheproofTest } from './_data.ts';

interface XdhTest extends WycheproofTest {
  public: string;
  private: string;
  shared: string;
}
interface XdhGroup {
  curve: string;
  tests: XdhTest[];
}

const file = readJson<WycheproofFile<XdhGroup>>('wycheproof/x25519_test.json');
const cases = wycheproofTests(file);

const P = (1n << 255n) - 19n;

function littleEndian(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] as number);
  return v;
}

/** What Compeer's policy must answer for one case: 'ok' (and the shared secret) or an error code. */
function expected(t: XdhTest): string {
  // Non-canonical encodings (the 256-bit little-endian value is >= p = 2^255 - 19: bit 255 set, or
  // u in [p, 2^255)) are refused at import: a key must have exactly one encoding, or fingerprints and
  // user IDs stop being unique. Computed here with BigInt, independently of x25519.ts's byte checks;
  // Wycheproof's NonCanonicalPublic flag does not mark all of them (tcId 74, u = p, is unflagged).
  if (littleEndian(hex(t.public)) >= P) {
    return 'INVALID_KEY';
  }
  // Small-order points give an all-zero (non-contributory) secret: refused, RFC 7748 §6.1.
  if (t.flags.includes('LowOrderPublic') || t.flags.includes('ZeroSharedSecret')) return 'WEAK_KEY';
  // Everything else is computed: twist points included (X25519 is defined on the twist and leaks
  // nothing there, RFC 7748 §7; checking curve membership would cost a square root per import).
  return 'ok';
}

describe('Wycheproof X25519', () => {
  test(`file has the expected shape (${file.numberOfTests} tests)`, () => {
    assert.equal(file.algorithm, 'XDH');
    assert.equal(cases.length, 518);
    assert.ok(file.testGroups.every((g) => g.curve === 'curve25519'));
    assert.ok(cases.every(({ t }) => t.result !== 'invalid'));
  });

  test('raw RFC 7748 function matches every case; all-zero outputs are WEAK_KEY', () => {
    for (const { t } of cases) {
      const zero = isAllZero(hex(t.shared));
      if (zero) {
        assert.equal(outcome(() => x25519Raw(hex(t.private), hex(t.public))), 'WEAK_KEY', `tcId ${t.tcId}`);
      } else {
        assert.equal(toHex(x25519Raw(hex(t.private), hex(t.public))), t.shared, `tcId ${t.tcId}`);
      }
    }
  });

  test('policy path gives our decision on every case, and the right secret when it accepts', () => {
    for (const { t } of cases) {
      const want = expected(t);
      let got: string;
      try {
        const secret = x25519(x25519FromPrivate(hex(t.private)), x25519PublicKey(hex(t.public)));
        assert.equal(toHex(secret), t.shared, `tcId ${t.tcId}`);
        got = 'ok';
      } catch (e) {
        got = outcome(() => {
          throw e;
        });
      }
      assert.equal(got, want, `tcId ${t.tcId} [${t.flags.join(',')}] ${t.comment ?? ''}`);
    }
  });

  test('every "valid" case is accepted by the policy', () => {
    for (const { t } of cases.filter(({ t }) => t.result === 'valid')) {
      assert.equal(expected(t), 'ok', `tcId ${t.tcId}`);
    }
  });

  test('pinned: our answer per "acceptable" flag (the table in docs/crypto-primitives.md)', () => {
    const acceptable = cases.filter(({ t }) => t.result === 'acceptable');
    const perFlag = tally(acceptable.flatMap(({ t }) => t.flags.map((f) => `${f}: ${expected(t)}`)));
    assert.deepEqual(perFlag, {
      'Twist: ok': 210,
      'Twist: INVALID_KEY': 8,
      'Twist: WEAK_KEY': 3,
      'SpecialPublicKey: ok': 25,
      'SpecialPublicKey: INVALID_KEY': 20,
      'SpecialPublicKey: WEAK_KEY': 5,
      'SmallPublicKey: INVALID_KEY': 4,
      'SmallPublicKey: WEAK_KEY': 4,
      'LowOrderPublic: INVALID_KEY': 16,
      'LowOrderPublic: WEAK_KEY': 15,
      'ZeroSharedSecret: INVALID_KEY': 16,
      'ZeroSharedSecret: WEAK_KEY': 15,
      'NonCanonicalPublic: INVALID_KEY': 19,
      'Ktv: ok': 1,
      'EdgeCaseShared: ok': 8,
      'EdgeCaseMultiplication: ok': 170,
      'EdgeCaseMultiplication: WEAK_KEY': 5,
    });
    // Totals by decision over the acceptable cases (a case counts once).
    assert.deepEqual(tally(acceptable.map(({ t }) => expected(t))), { ok: 210, INVALID_KEY: 29, WEAK_KEY: 15 });
  });
});
