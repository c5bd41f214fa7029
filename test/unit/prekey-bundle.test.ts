import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { concatBytes, fromHex, toHex } from '../../src/lib/bytes.ts';
import { CompeerError, CryptoError, DecodeError, ErrorCodes, LimitError } from '../../src/lib/errors.ts';
import { ed25519Sign } from '../../src/crypto/ed25519.ts';
import type { X25519PublicKey } from '../../src/crypto/x25519.ts';
import type { MlKem768PublicKey } from '../../src/crypto/mlkem768.ts';
import { encodePublicIdentity, generateIdentity, userIdOf } from '../../src/protocol/identity.ts';
import {
  bundleFromPool,
  createPrekeyBundle,
  decodePrekeyBundle,
  encodePrekeyBundle,
  PREKEY_BUNDLE_MAX_LENGTH,
  PREKEY_BUNDLE_MIN_LENGTH,
} from '../../src/protocol/handshake/bundle.ts';
import { kemPrekeyMessage, signedPrekeyMessage } from '../../src/protocol/handshake/prekeys.ts';
import { InMemoryPrekeyPool } from '../../src/protocol/handshake/prekey-store.ts';
import { assertCode, makeParty, NOW, resignBundle, rngFor } from './handshake-fixtures.ts';

const bob = makeParty('bundle-bob');
const mallory = makeParty('bundle-mallory');

function parts(p = bob) {
  const spk = p.pool.getSignedPrekey(1);
  const opk = p.pool.getOneTimePrekey(100);
  const kem = p.pool.getKemPrekey(200);
  const lr = p.pool.getKemPrekey(900);
  assert.ok(spk && opk && kem && lr);
  return { spk: spk.public, opk: opk.public, kem: kem.public, lr: lr.public };
}

const { spk, opk, kem, lr } = parts();
const full = createPrekeyBundle(bob.identity, { signedPrekey: spk, oneTimePrekey: opk, kemPrekey: kem }, NOW);
const fullBytes = encodePrekeyBundle(full);
const bare = createPrekeyBundle(bob.identity, { signedPrekey: spk, kemPrekey: lr }, NOW);
const bareBytes = encodePrekeyBundle(bare);

// Offsets in the layout of bundle.ts (with a one-time prekey).
const OFF = { version: 0, identity: 1, timestamp: 130, flags: 138, spkType: 151, spkKey: 152, spkSig: 184, opkType: 252, opkKey: 253 };
const KEM_OFF = (hasOpk: boolean) => (hasOpk ? 285 : 248); // KEM id
const SMALL_ORDER_U = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

function patched(bytes: Uint8Array, at: number, replacement: ArrayLike<number>): Uint8Array {
  const out = Uint8Array.from(bytes);
  out.set(replacement, at);
  return out;
}

describe('prekey bundle encoding', () => {
  test('round trip with and without a one-time prekey; sizes are fixed', () => {
    assert.equal(fullBytes.length, PREKEY_BUNDLE_MAX_LENGTH);
    assert.equal(fullBytes.length, 1610);
    assert.equal(bareBytes.length, PREKEY_BUNDLE_MIN_LENGTH);
    assert.equal(bareBytes.length, 1573);
    const d = decodePrekeyBundle(fullBytes);
    assert.equal(d.userId, userIdOf(bob.identity.public));
    assert.equal(d.signedPrekey.id, 1);
    assert.equal(d.oneTimePrekey?.id, 100);
    assert.equal(d.kemPrekey.kind, 'one-time');
    assert.equal(d.timestamp, NOW);
    assert.equal(toHex(encodePrekeyBundle(d)), toHex(fullBytes));
    const b = decodePrekeyBundle(bareBytes);
    assert.equal(b.oneTimePrekey, undefined);
    assert.equal(b.kemPrekey.kind, 'last-resort');
    assert.equal(b.kemPrekey.id, 900);
    assert.equal(toHex(encodePrekeyBundle(b)), toHex(bareBytes));
  });

  test('bundleFromPool hands out a fresh one-time prekey per bundle, then none', () => {
    const p = makeParty('bundle-pool', 2, 1);
    const ids = [0, 1, 2].map(() => bundleFromPool(p.identity, p.pool, NOW)).map((b) => [b?.oneTimePrekey?.id, b?.kemPrekey.id]);
    assert.deepEqual(ids, [
      [100, 200],
      [101, 900],
      [undefined, 900],
    ]);
    assert.equal(bundleFromPool(p.identity, new InMemoryPrekeyPool(), NOW), undefined);
  });

  test('createPrekeyBundle refuses prekeys signed by another identity', () => {
    const m = parts(mallory);
    assertCode(
      () => createPrekeyBundle(bob.identity, { signedPrekey: m.spk, kemPrekey: kem }, NOW),
      CryptoError,
      ErrorCodes.BAD_SIGNATURE,
    );
    assertCode(
      () => createPrekeyBundle(bob.identity, { signedPrekey: spk, kemPrekey: m.kem }, NOW),
      CryptoError,
      ErrorCodes.BAD_SIGNATURE,
    );
  });
});

describe('prekey bundle rejection', () => {
  test('sizes: oversized is a LimitError, any other wrong length a DecodeError', () => {
    assertCode(() => decodePrekeyBundle(new Uint8Array(PREKEY_BUNDLE_MAX_LENGTH + 1)), LimitError, ErrorCodes.LIMIT_EXCEEDED);
    assertCode(() => decodePrekeyBundle(new Uint8Array(1 << 20)), LimitError, ErrorCodes.LIMIT_EXCEEDED);
    assertCode(() => decodePrekeyBundle(new Uint8Array(0)), DecodeError, ErrorCodes.INVALID_LENGTH);
    assertCode(() => decodePrekeyBundle(fullBytes.subarray(0, fullBytes.length - 1)), DecodeError, ErrorCodes.INVALID_LENGTH);
    // A flag byte that disagrees with the length misaligns the fields: rejected while parsing.
    assert.throws(() => decodePrekeyBundle(patched(fullBytes, OFF.flags, [0x00])), DecodeError);
    assert.throws(() => decodePrekeyBundle(patched(bareBytes, OFF.flags, [0x03])), DecodeError);
  });

  test('version, unknown flags and out-of-range timestamps are rejected', () => {
    assertCode(() => decodePrekeyBundle(patched(fullBytes, OFF.version, [0x02])), DecodeError, ErrorCodes.UNSUPPORTED_VERSION);
    assertCode(() => decodePrekeyBundle(resignBundle(bob.identity, patched(fullBytes, OFF.flags, [0x05]))), DecodeError, ErrorCodes.MALFORMED_MESSAGE);
    const far = patched(fullBytes, OFF.timestamp, fromHex('ffffffffffffffff'));
    assertCode(() => decodePrekeyBundle(resignBundle(bob.identity, far)), DecodeError, ErrorCodes.MALFORMED_MESSAGE);
  });

  test('every tampered byte is rejected with a typed error (all regions, sampled in the KEM key)', () => {
    for (const bytes of [fullBytes, bareBytes]) {
      const kemKeyStart = KEM_OFF(bytes === fullBytes) + 13;
      for (let i = 0; i < bytes.length; i++) {
        if (i > kemKeyStart + 8 && i < kemKeyStart + 1184 - 8 && i % 41 !== 0) continue;
        const t = Uint8Array.from(bytes);
        t[i] = (t[i] as number) ^ 0x01;
        assert.throws(() => decodePrekeyBundle(t), (e: unknown) => e instanceof CompeerError, `byte ${i}`);
      }
    }
  });

  test('forged: bundle signature by another key, or a flipped signature', () => {
    const body = fullBytes.subarray(0, fullBytes.length - 64);
    const mSig = ed25519Sign(mallory.identity.signing, concatBytes(new TextEncoder().encode('compeer/prekey-bundle/v1'), body));
    assertCode(() => decodePrekeyBundle(concatBytes(body, mSig)), CryptoError, ErrorCodes.BAD_SIGNATURE);
    // Signature without the domain label (a signature made for another purpose) does not verify.
    const rawSig = ed25519Sign(bob.identity.signing, body);
    assertCode(() => decodePrekeyBundle(concatBytes(body, rawSig)), CryptoError, ErrorCodes.BAD_SIGNATURE);
  });

  test('mis-signed prekeys inside a correctly signed bundle are rejected', () => {
    const m = parts(mallory);
    // Mallory's SPK signature (valid for Mallory) transplanted into Bob's bundle, re-signed by Bob.
    const badSpk = resignBundle(bob.identity, patched(fullBytes, OFF.spkSig, m.spk.signature));
    assertCode(() => decodePrekeyBundle(badSpk), CryptoError, ErrorCodes.BAD_SIGNATURE);
    const kemSigAt = KEM_OFF(true) + 4 + 8 + 1185;
    const badKem = resignBundle(bob.identity, patched(fullBytes, kemSigAt, m.kem.signature));
    assertCode(() => decodePrekeyBundle(badKem), CryptoError, ErrorCodes.BAD_SIGNATURE);
  });

  test('KEM/DH confusion: wrong type bytes, swapped signatures, flipped KEM kind', () => {
    // An X25519 type byte where the ML-KEM key is expected, and the other way round.
    const kemTypeAt = KEM_OFF(true) + 12;
    assertCode(() => decodePrekeyBundle(resignBundle(bob.identity, patched(fullBytes, kemTypeAt, [0x05]))), DecodeError, ErrorCodes.MALFORMED_MESSAGE);
    assertCode(() => decodePrekeyBundle(resignBundle(bob.identity, patched(fullBytes, OFF.spkType, [0x08]))), DecodeError, ErrorCodes.MALFORMED_MESSAGE);
    assertCode(() => decodePrekeyBundle(resignBundle(bob.identity, patched(fullBytes, OFF.opkType, [0x08]))), DecodeError, ErrorCodes.MALFORMED_MESSAGE);
    // The SPK's signature presented for the KEM prekey (and vice versa), bundle re-signed.
    const kemSigAt = KEM_OFF(true) + 4 + 8 + 1185;
    assertCode(
      () => decodePrekeyBundle(resignBundle(bob.identity, patched(fullBytes, kemSigAt, spk.signature))),
      CryptoError,
      ErrorCodes.BAD_SIGNATURE,
    );
    assertCode(
      () => decodePrekeyBundle(resignBundle(bob.identity, patched(fullBytes, OFF.spkSig, kem.signature))),
      CryptoError,
      ErrorCodes.BAD_SIGNATURE,
    );
    // The one-time KEM prekey presented as last-resort: the signature covers the kind.
    assertCode(() => decodePrekeyBundle(resignBundle(bob.identity, patched(fullBytes, OFF.flags, [0x03]))), CryptoError, ErrorCodes.BAD_SIGNATURE);
  });

  test('small-order and non-canonical X25519 prekeys are rejected even when properly signed', () => {
    for (const hex of SMALL_ORDER_U) {
      const bad = fromHex(hex) as X25519PublicKey;
      const sig = ed25519Sign(bob.identity.signing, signedPrekeyMessage(spk.id, spk.createdAt, bad));
      const withSpk = resignBundle(bob.identity, patched(patched(fullBytes, OFF.spkKey, bad), OFF.spkSig, sig));
      assert.throws(() => decodePrekeyBundle(withSpk), (e: unknown) => e instanceof CryptoError && (e.code === ErrorCodes.WEAK_KEY || e.code === ErrorCodes.INVALID_KEY), hex);
      const withOpk = resignBundle(bob.identity, patched(fullBytes, OFF.opkKey, bad));
      assert.throws(() => decodePrekeyBundle(withOpk), (e: unknown) => e instanceof CryptoError && (e.code === ErrorCodes.WEAK_KEY || e.code === ErrorCodes.INVALID_KEY), hex);
    }
    const highBit = Uint8Array.from(spk.publicKey);
    highBit[31] = (highBit[31] as number) | 0x80;
    const sig = ed25519Sign(bob.identity.signing, signedPrekeyMessage(spk.id, spk.createdAt, highBit as X25519PublicKey));
    const nonCanonical = resignBundle(bob.identity, patched(patched(fullBytes, OFF.spkKey, highBit), OFF.spkSig, sig));
    assertCode(() => decodePrekeyBundle(nonCanonical), CryptoError, ErrorCodes.INVALID_KEY);
  });

  test('an ML-KEM key failing the FIPS 203 modulus check is rejected even when properly signed', () => {
    const badKem = Uint8Array.from(kem.publicKey);
    badKem[0] = 0xff;
    badKem[1] = (badKem[1] as number) | 0x0f; // first coefficient = 4095 >= q
    const sig = ed25519Sign(bob.identity.signing, kemPrekeyMessage('one-time', kem.id, kem.createdAt, badKem as MlKem768PublicKey));
    const keyAt = KEM_OFF(true) + 13;
    const bytes = resignBundle(bob.identity, patched(patched(fullBytes, keyAt, badKem), keyAt + 1184, sig));
    assertCode(() => decodePrekeyBundle(bytes), CryptoError, ErrorCodes.INVALID_KEY);
  });

  test('a bundle claiming someone else\'s identity cannot be signed by the claimant', () => {
    // Mallory puts Bob's identity in front of her own prekeys and signs with her key: rejected.
    const other = generateIdentity(rngFor('bundle-other'));
    const m = parts(mallory);
    const mb = encodePrekeyBundle(createPrekeyBundle(mallory.identity, { signedPrekey: m.spk, kemPrekey: m.kem }, NOW));
    const swapped = resignBundle(mallory.identity, patched(mb, OFF.identity, encodePublicIdentity(other.public)));
    assertCode(() => decodePrekeyBundle(swapped), CryptoError, ErrorCodes.BAD_SIGNATURE);
  });
});
