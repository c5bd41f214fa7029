/**
 * Safety numbers: order independence, sensitivity to every key, strict scannable parsing, typed errors.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { systemRng } from '../../src/lib/system.ts';
import { DecodeError, ProtocolError, CompeerError } from '../../src/lib/errors.ts';
import { generateIdentity, type PublicIdentity } from '../../src/protocol/identity.ts';
import {
  compareScannable,
  decodeScannable,
  displayDigits,
  encodeScannable,
  fingerprintHash,
  numericFingerprint,
  SCANNABLE_LENGTH,
} from '../../src/protocol/verify/fingerprint.ts';
import {
  compareScannedSafetyNumber,
  formatSafetyNumber,
  safetyNumber,
  safetyNumberParty,
} from '../../src/protocol/verify/safety-number.ts';

const alice = generateIdentity(systemRng).public;
const bob = generateIdentity(systemRng).public;
const mallory = generateIdentity(systemRng).public;

describe('safety number', () => {
  const ab = safetyNumber(alice, bob);
  const ba = safetyNumber(bob, alice);

  test('60 digits, the same on both sides, and the scanned codes match crosswise', () => {
    assert.match(ab.digits, /^\d{60}$/);
    assert.equal(ab.digits, ba.digits);
    assert.equal(compareScannedSafetyNumber(ab, ba.scannable), true);
    assert.equal(compareScannedSafetyNumber(ba, ab.scannable), true);
    assert.equal(compareScannedSafetyNumber(ab, ab.scannable), false, 'own code never matches');
    assert.equal(formatSafetyNumber(ab.digits).split(' ').length, 12);
  });

  test('a man in the middle shows different numbers to each side', () => {
    // Alice believes Mallory's key is Bob's; Bob sees Alice's real key.
    const aliceView = safetyNumber(alice, mallory);
    assert.notEqual(aliceView.digits, ab.digits);
    assert.equal(compareScannedSafetyNumber(aliceView, ba.scannable), false);
    assert.equal(compareScannedSafetyNumber(ba, aliceView.scannable), false);
  });

  test('changing either key of an identity changes the number', () => {
    const swapDh: PublicIdentity = { ...bob, dhKey: mallory.dhKey };
    const swapSign: PublicIdentity = { ...bob, signingKey: mallory.signingKey };
    assert.notEqual(safetyNumber(alice, swapDh).digits, ab.digits);
    assert.notEqual(safetyNumber(alice, swapSign).digits, ab.digits);
  });

  test('party input is signing key | DH key and the 20-byte user ID', () => {
    const p = safetyNumberParty(alice);
    assert.equal(p.key.length, 64);
    assert.deepEqual(p.key.subarray(0, 32), alice.signingKey);
    assert.deepEqual(p.key.subarray(32), alice.dhKey);
    assert.equal(p.id.length, 20);
  });
});

describe('fingerprint primitives', () => {
  const a = { key: new Uint8Array(33).fill(1), id: new Uint8Array(5).fill(2) };
  const b = { key: new Uint8Array(33).fill(3), id: new Uint8Array(5).fill(4) };

  test('a different stable id changes the number', () => {
    const x = numericFingerprint(2, 16, a, b);
    const y = numericFingerprint(2, 16, { ...a, id: new Uint8Array(5).fill(9) }, b);
    assert.notEqual(x.displayable, y.displayable);
  });

  test('digits: chunks of 5 big-endian bytes mod 100000, zero-padded', () => {
    const h = new Uint8Array(30);
    h[4] = 7; // first chunk = 7
    h.fill(0xff, 5, 10); // second chunk = 2^40 - 1 = 1099511627775 → 27775
    assert.equal(displayDigits(h), '00007' + '27775' + '00000'.repeat(4));
    assert.throws(() => displayDigits(new Uint8Array(29)), DecodeError);
  });

  test('iterations and input sizes are bounded', () => {
    for (const it of [0, 1, 1_000_001, 2.5]) assert.throws(() => fingerprintHash(a, it), CompeerError);
    assert.throws(() => fingerprintHash({ key: new Uint8Array(0), id: a.id }, 2), DecodeError);
    assert.throws(() => fingerprintHash({ key: new Uint8Array(1025), id: a.id }, 2), DecodeError);
    assert.throws(() => fingerprintHash({ key: a.key, id: new Uint8Array(1025) }, 2), DecodeError);
  });

  test('scannable decoding is strict: length, every layout byte, version', () => {
    const good = encodeScannable(2, new Uint8Array(32).fill(5), new Uint8Array(32).fill(6));
    assert.equal(good.length, SCANNABLE_LENGTH);
    assert.deepEqual(decodeScannable(good).local, new Uint8Array(32).fill(5));
    assert.throws(() => decodeScannable(good.subarray(0, 73)), DecodeError);
    assert.throws(() => decodeScannable(new Uint8Array([...good, 0])), DecodeError);
    for (const i of [0, 1, 2, 3, 4, 5, 38, 39, 40, 41]) {
      const bad = Uint8Array.from(good);
      bad[i] = i === 1 ? 0x80 : (bad[i] as number) ^ 0x01;
      assert.throws(() => decodeScannable(bad), (e: unknown) => e instanceof DecodeError && e.code === 'MALFORMED_MESSAGE');
    }
    const v1 = encodeScannable(1, new Uint8Array(32).fill(6), new Uint8Array(32).fill(5));
    assert.throws(() => compareScannable(good, v1), (e: unknown) => e instanceof ProtocolError && e.code === 'UNSUPPORTED_VERSION');
  });
});
