/**
 * ML-KEM-768 (FIPS 203) vectors, see README.md for provenance:
 *
 * - Wycheproof mlkem_768_test.json: keygen from the 64-byte seed (d || z) and decapsulation, both in
 *   OpenSSL (mlKem768FromSeed, mlKem768Decapsulate), incl. CCTV's strcmp case and implicit rejection.
 * - Wycheproof mlkem_768_encaps_test.json: encapsulation-key validation in OpenSSL (mlKem768PublicKey)
 *   and deterministic encapsulation with a given `m` (the @noble/post-quantum path of
 *   mlKem768Encapsulate with a non-system Rng).
 * - CCTV modulus: every encapsulation key with one coefficient in [q, 2^12) must be refused at import
 *   (FIPS 203 §7.2 "modulus check"): this is the proof that OpenSSL runs the check for us.
 * - CCTV strcmp, unluckysample and intermediate: encapsulation and decapsulation KATs (their keygen
 *   predates final FIPS 203; see the test).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, decapsulate } from 'node:crypto';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { concatBytes, toHex } from '../../src/lib/bytes.ts';
import {
  mlKem768Decapsulate,
  mlKem768Encapsulate,
  mlKem768FromSeed,
  mlKem768PublicKey,
  MLKEM768_PUBLIC_KEY_LENGTH,
} from '../../src/crypto/mlkem768.ts';
import {
  fixedRng,
  hex,
  outcome,
  readData,
  readJson,
  readKeyValues,
  tally,
  wycheproofTests,
  type WycheproofFile,
  type WycheproofTest,
} from './_data.ts';

interface DecapsTest extends WycheproofTest {
  seed: string;
  ek?: string;
  c: string;
  K: string;
}
interface EncapsTest extends WycheproofTest {
  ek: string;
  m: string;
  c: string;
  K: string;
}
interface KemGroup<T> {
  parameterSet: string;
  source: { name: string };
  tests: T[];
}

const DK_LENGTH = 2400;

/**
 * Imports a 2400-byte expanded decapsulation key into OpenSSL, for CCTV's strcmp file (which has no
 * seed). PKCS#8 with the `expandedKey` choice of the ML-KEM private key (draft-ietf-lamps-kyber-
 * certificates): SEQ { INT 0, SEQ { OID 2.16.840.1.101.3.4.4.2 }, OCTET STRING { OCTET STRING dk } }.
 * Test-only: Compeer itself always stores and imports the 64-byte seed.
 */
function importExpandedDk(dk: Uint8Array) {
  assert.equal(dk.length, DK_LENGTH);
  const header = hex('30820978' + '020100' + '300b0609608648016503040402' + '04820964' + '04820960');
  return createPrivateKey({ key: Buffer.from(concatBytes(header, dk)), format: 'der', type: 'pkcs8' });
}

describe('Wycheproof ML-KEM-768 decapsulation (mlkem_768_test.json)', () => {
  const file = readJson<WycheproofFile<KemGroup<DecapsTest>>>('wycheproof/mlkem_768_test.json');
  const cases = wycheproofTests(file);

  test('file has the expected shape', () => {
    assert.equal(file.algorithm, 'ML-KEM');
    assert.ok(file.testGroups.every((g) => g.parameterSet === 'ML-KEM-768'));
    assert.deepEqual(tally(cases.map(({ t }) => t.result)), { valid: 153, invalid: 40 });
  });

  test('valid: seed -> same encapsulation key, decapsulation -> K (implicit rejection included)', () => {
    for (const { t } of cases.filter(({ t }) => t.result === 'valid')) {
      const what = `tcId ${t.tcId} ${t.comment ?? t.flags.join(',')}`;
      const key = mlKem768FromSeed(hex(t.seed));
      assert.equal(toHex(key.publicKey), t.ek, what);
      assert.equal(toHex(mlKem768Decapsulate(key, hex(t.c))), t.K, what);
    }
  });

  test('invalid: wrong seed or ciphertext lengths are INVALID_LENGTH', () => {
    for (const { t } of cases.filter(({ t }) => t.result === 'invalid')) {
      const what = `tcId ${t.tcId} ${t.comment ?? ''}`;
      if (hex(t.seed).length !== 64) {
        assert.equal(outcome(() => mlKem768FromSeed(hex(t.seed))), 'INVALID_LENGTH', what);
      } else {
        const key = mlKem768FromSeed(hex(t.seed));
        assert.equal(outcome(() => mlKem768Decapsulate(key, hex(t.c))), 'INVALID_LENGTH', what);
      }
    }
  });
});

describe('Wycheproof ML-KEM-768 encapsulation (mlkem_768_encaps_test.json)', () => {
  const file = readJson<WycheproofFile<KemGroup<EncapsTest>>>('wycheproof/mlkem_768_encaps_test.json');
  const cases = wycheproofTests(file);

  test('file has the expected shape', () => {
    assert.equal(file.algorithm, 'ML-KEM');
    assert.deepEqual(tally(cases.map(({ t }) => t.result)), { valid: 133, invalid: 132 });
  });

  test('valid: key passes the OpenSSL import check; encapsulation with the given m gives c and K', () => {
    for (const { t } of cases.filter(({ t }) => t.result === 'valid')) {
      const what = `tcId ${t.tcId} ${t.comment ?? ''}`;
      const pub = mlKem768PublicKey(hex(t.ek));
      const { ciphertext, sharedSecret } = mlKem768Encapsulate(pub, fixedRng(hex(t.m)));
      assert.equal(toHex(ciphertext), t.c, what);
      assert.equal(toHex(sharedSecret), t.K, what);
    }
  });

  test('invalid: wrong lengths are INVALID_LENGTH, unreduced coefficients are INVALID_KEY', () => {
    const seen: string[] = [];
    for (const { t } of cases.filter(({ t }) => t.result === 'invalid')) {
      const ek = hex(t.ek);
      const want = ek.length === MLKEM768_PUBLIC_KEY_LENGTH ? 'INVALID_KEY' : 'INVALID_LENGTH';
      assert.equal(outcome(() => mlKem768PublicKey(ek)), want, `tcId ${t.tcId} ${t.comment ?? t.flags.join(',')}`);
      seen.push(want);
    }
    assert.deepEqual(tally(seen), { INVALID_KEY: 112, INVALID_LENGTH: 20 });
  });
});

describe('CCTV ML-KEM-768', () => {
  test('modulus: all 780 keys with an unreduced coefficient are refused by the import check', () => {
    const lines = readData('cctv-mlkem/modulus-ML-KEM-768.txt.gz').toString('utf8').trim().split('\n');
    assert.equal(lines.length, 780);
    for (const [i, line] of lines.entries()) {
      const ek = hex(line);
      assert.equal(ek.length, MLKEM768_PUBLIC_KEY_LENGTH);
      assert.equal(outcome(() => mlKem768PublicKey(ek)), 'INVALID_KEY', `line ${i + 1}`);
    }
  });

  test('strcmp: decapsulation of a ciphertext that a strcmp() compare would accept gives the rejection key', () => {
    const v = readKeyValues('cctv-mlkem/strcmp-ML-KEM-768.txt');
    const dk = hex(v.get('dk') ?? '');
    const c = hex(v.get('c') ?? '');
    const K = v.get('K');
    assert.equal(toHex(new Uint8Array(decapsulate(importExpandedDk(dk), Buffer.from(c)))), K);
    assert.equal(toHex(ml_kem768.decapsulate(c, dk)), K);
  });

  for (const name of ['unluckysample', 'intermediate']) {
    test(`${name}: encapsulation with ek and m, decapsulation with dk`, () => {
      const v = readKeyValues(`cctv-mlkem/${name}-ML-KEM-768.txt`);
      const get = (k: string): Uint8Array => {
        const value = v.get(k);
        assert.ok(value !== undefined, `${name}: missing ${k}`);
        return hex(value);
      };
      // These files predate final FIPS 203 (CCTV README: FIPS 203 ipd with the Â fix). Final FIPS 203
      // added domain separation to K-PKE.KeyGen (G(d || k), Algorithm 13), so keygen from d || z gives
      // a different key — OpenSSL and noble agree with each other and differ from the file.
      // Encaps and Decaps did not change, so ek, m, dk, c and K are still a valid KAT for them; the
      // "unlucky" rho is inside ek, so encapsulation still exercises the long SampleNTT.
      const seed = concatBytes(get('d'), get('z'));
      assert.notDeepEqual(mlKem768FromSeed(seed).publicKey, get('ek'));
      assert.deepEqual(mlKem768FromSeed(seed).publicKey, ml_kem768.keygen(seed).publicKey);
      const { ciphertext, sharedSecret } = mlKem768Encapsulate(mlKem768PublicKey(get('ek')), fixedRng(get('m')));
      assert.deepEqual(ciphertext, get('c'));
      assert.deepEqual(new Uint8Array(sharedSecret), get('K'));
      assert.deepEqual(new Uint8Array(decapsulate(importExpandedDk(get('dk')), Buffer.from(get('c')))), get('K'));
    });
  }
});
