/**
 * Safety-number vectors: libsignal's published fingerprint vectors (test/vectors/safety-number-libsignal.json)
 * through the generic algorithm, and Compeer's recorded vector (safety-number-compeer.json) through the
 * identity binding.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromHex, toHex, utf8 } from '../../src/lib/bytes.ts';
import { compareScannable, encodeScannable, numericFingerprint } from '../../src/protocol/verify/fingerprint.ts';
import { compareScannedSafetyNumber, formatSafetyNumber, safetyNumber } from '../../src/protocol/verify/safety-number.ts';
import { decodePublicIdentity, userIdOf } from '../../src/protocol/identity.ts';

interface LibsignalVectors {
  iterations: number;
  aliceKey: string;
  bobKey: string;
  aliceId: string;
  bobId: string;
  displayable: string;
  versions: { version: number; aliceScannable: string; bobScannable: string }[];
  encodingVector: { version: number; local: string; remote: string; encoding: string };
}
interface CompeerVector {
  aliceIdentity: string;
  aliceUserId: string;
  bobIdentity: string;
  bobUserId: string;
  digits: string;
  formatted: string;
  aliceScannable: string;
  bobScannable: string;
}

const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, import.meta.url), 'utf8')) as T;

describe('libsignal fingerprint vectors', () => {
  const v = load<LibsignalVectors>('./safety-number-libsignal.json');
  const alice = { key: fromHex(v.aliceKey), id: utf8(v.aliceId) };
  const bob = { key: fromHex(v.bobKey), id: utf8(v.bobId) };

  for (const ver of v.versions) {
    test(`version ${ver.version}: displayable and scannable match on both sides`, () => {
      const a = numericFingerprint(ver.version, v.iterations, alice, bob);
      const b = numericFingerprint(ver.version, v.iterations, bob, alice);
      assert.equal(a.displayable, v.displayable);
      assert.equal(b.displayable, v.displayable);
      assert.equal(toHex(a.scannable), ver.aliceScannable);
      assert.equal(toHex(b.scannable), ver.bobScannable);
      assert.equal(compareScannable(a.scannable, b.scannable), true);
      assert.equal(compareScannable(b.scannable, a.scannable), true);
      // libsignal's extra check: a code never matches itself.
      assert.equal(compareScannable(a.scannable, a.scannable), false);
    });
  }

  test('scannable encoding vector', () => {
    const e = v.encodingVector;
    assert.equal(toHex(encodeScannable(e.version, fromHex(e.local), fromHex(e.remote))), e.encoding);
  });
});

describe('Compeer recorded safety number', () => {
  const v = load<CompeerVector>('./safety-number-compeer.json');
  const alice = decodePublicIdentity(fromHex(v.aliceIdentity));
  const bob = decodePublicIdentity(fromHex(v.bobIdentity));

  test('user IDs, digits, formatting and scannable bytes are unchanged', () => {
    assert.equal(userIdOf(alice), v.aliceUserId);
    assert.equal(userIdOf(bob), v.bobUserId);
    const a = safetyNumber(alice, bob);
    const b = safetyNumber(bob, alice);
    assert.equal(a.digits, v.digits);
    assert.equal(b.digits, v.digits);
    assert.equal(formatSafetyNumber(a.digits), v.formatted);
    assert.equal(toHex(a.scannable), v.aliceScannable);
    assert.equal(toHex(b.scannable), v.bobScannable);
    assert.equal(compareScannedSafetyNumber(a, b.scannable), true);
  });
});
