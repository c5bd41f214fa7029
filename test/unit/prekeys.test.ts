import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CompeerError, CryptoError, ErrorCodes, StateError } from '../../src/lib/errors.ts';
import { toHex } from '../../src/lib/bytes.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import {
  generateKemPrekey,
  generateOneTimeKemPrekeys,
  generateOneTimePrekeys,
  generateSignedPrekey,
  kemPrekeyMessage,
  signedPrekeyMessage,
  verifyKemPrekey,
  verifySignedPrekey,
  type KemPrekey,
  type SignedPrekey,
} from '../../src/protocol/handshake/prekeys.ts';
import { InMemoryPrekeyPool, prekeysToGenerate, signedPrekeyNeedsRotation } from '../../src/protocol/handshake/prekey-store.ts';
import { InMemoryReplayCache } from '../../src/protocol/handshake/replay-cache.ts';
import { ONE_TIME_PREKEY_LOW_WATERMARK, ONE_TIME_PREKEY_TARGET, SIGNED_PREKEY_ROTATION_MS } from '../../src/protocol/wire/constants.ts';
import { assertCode, NOW, rngFor } from './handshake-fixtures.ts';

const rng = rngFor('prekeys');
const alice = generateIdentity(rng);
const mallory = generateIdentity(rng);
const spk = generateSignedPrekey(alice, 7, rng, NOW);
const kem = generateKemPrekey(alice, 'one-time', 8, rng, NOW);
const lastResort = generateKemPrekey(alice, 'last-resort', 9, rng, NOW);

describe('prekey generation and signatures', () => {
  test('signed prekey and KEM prekeys verify under the identity key', () => {
    verifySignedPrekey(alice.public.signingKey, spk.public);
    verifyKemPrekey(alice.public.signingKey, kem.public);
    verifyKemPrekey(alice.public.signingKey, lastResort.public);
    assert.equal(spk.public.createdAt, NOW);
    assert.equal(kem.public.kind, 'one-time');
    assert.equal(lastResort.public.kind, 'last-resort');
  });

  test('generation is reproducible with a deterministic Rng', () => {
    const a = generateSignedPrekey(alice, 1, rngFor('same'), NOW);
    const b = generateSignedPrekey(alice, 1, rngFor('same'), NOW);
    assert.equal(toHex(a.public.publicKey), toHex(b.public.publicKey));
    assert.equal(toHex(a.public.signature), toHex(b.public.signature));
  });

  test('signed message is domain-separated and covers role, id, time, type byte and key', () => {
    const m = signedPrekeyMessage(7, NOW, spk.public.publicKey);
    assert.ok(toHex(m).startsWith(toHex(new TextEncoder().encode('compeer/prekey-signature/v1'))));
    assert.equal(m.length, 27 + 1 + 4 + 8 + 33);
    assert.equal(m[27], 0x01); // role: signed X25519 prekey
    assert.equal(m[27 + 1 + 4 + 8], 0x05); // type byte
    const k = kemPrekeyMessage('last-resort', 9, NOW, lastResort.public.publicKey);
    assert.equal(k.length, 27 + 1 + 4 + 8 + 1185);
    assert.equal(k[27], 0x03);
    assert.equal(k[27 + 1 + 4 + 8], 0x08);
  });

  test('changing any signed field breaks the signature', () => {
    const variants: SignedPrekey[] = [
      { ...spk.public, id: 8 },
      { ...spk.public, createdAt: NOW + 1 },
      { ...spk.public, publicKey: generateSignedPrekey(alice, 7, rng, NOW).public.publicKey },
    ];
    for (const v of variants) assertCode(() => verifySignedPrekey(alice.public.signingKey, v), CryptoError, ErrorCodes.BAD_SIGNATURE);
  });

  test('a one-time KEM signature does not pass as last-resort and vice versa', () => {
    const asLastResort: KemPrekey = { ...kem.public, kind: 'last-resort' };
    assertCode(() => verifyKemPrekey(alice.public.signingKey, asLastResort), CryptoError, ErrorCodes.BAD_SIGNATURE);
    const asOneTime: KemPrekey = { ...lastResort.public, kind: 'one-time' };
    assertCode(() => verifyKemPrekey(alice.public.signingKey, asOneTime), CryptoError, ErrorCodes.BAD_SIGNATURE);
  });

  test('KEM/DH confusion: a signature over one key type never verifies for the other', () => {
    const kemWithSpkSig: KemPrekey = { ...kem.public, signature: spk.public.signature };
    assertCode(() => verifyKemPrekey(alice.public.signingKey, kemWithSpkSig), CryptoError, ErrorCodes.BAD_SIGNATURE);
    const spkWithKemSig: SignedPrekey = { ...spk.public, id: kem.public.id, signature: kem.public.signature };
    assertCode(() => verifySignedPrekey(alice.public.signingKey, spkWithKemSig), CryptoError, ErrorCodes.BAD_SIGNATURE);
  });

  test('another identity cannot vouch for the prekeys', () => {
    assertCode(() => verifySignedPrekey(mallory.public.signingKey, spk.public), CryptoError, ErrorCodes.BAD_SIGNATURE);
    assertCode(() => verifyKemPrekey(mallory.public.signingKey, kem.public), CryptoError, ErrorCodes.BAD_SIGNATURE);
  });

  test('batches get consecutive ids; ids and counts are bounded', () => {
    assert.deepEqual(
      generateOneTimePrekeys(10, 3, rng).map((p) => p.public.id),
      [10, 11, 12],
    );
    assert.deepEqual(
      generateOneTimeKemPrekeys(alice, 20, 2, rng, NOW).map((p) => [p.public.id, p.public.kind]),
      [
        [20, 'one-time'],
        [21, 'one-time'],
      ],
    );
    assert.throws(() => generateOneTimePrekeys(0xffff_fffe, 3, rng), CompeerError);
    assert.throws(() => generateSignedPrekey(alice, -1, rng, NOW), CompeerError);
    assert.throws(() => generateSignedPrekey(alice, 1, rng, 1.5), CompeerError);
  });
});

describe('replenishment and rotation', () => {
  test('prekeysToGenerate refills to the target below the low watermark only', () => {
    assert.equal(prekeysToGenerate(ONE_TIME_PREKEY_LOW_WATERMARK), 0);
    assert.equal(prekeysToGenerate(ONE_TIME_PREKEY_TARGET + 5), 0);
    assert.equal(prekeysToGenerate(ONE_TIME_PREKEY_LOW_WATERMARK - 1), ONE_TIME_PREKEY_TARGET - ONE_TIME_PREKEY_LOW_WATERMARK + 1);
    assert.equal(prekeysToGenerate(0), ONE_TIME_PREKEY_TARGET);
    assert.equal(prekeysToGenerate(3, 5, 10), 7);
    assert.throws(() => prekeysToGenerate(-1), CompeerError);
    assert.throws(() => prekeysToGenerate(0, 11, 10), CompeerError);
  });

  test('signedPrekeyNeedsRotation', () => {
    assert.equal(signedPrekeyNeedsRotation(undefined, NOW), true);
    assert.equal(signedPrekeyNeedsRotation(spk.public, NOW + SIGNED_PREKEY_ROTATION_MS - 1), false);
    assert.equal(signedPrekeyNeedsRotation(spk.public, NOW + SIGNED_PREKEY_ROTATION_MS), true);
  });
});

describe('InMemoryPrekeyPool', () => {
  function pool(): InMemoryPrekeyPool {
    const p = new InMemoryPrekeyPool();
    p.addSignedPrekey(spk);
    p.addOneTimePrekeys(generateOneTimePrekeys(100, 2, rng));
    p.addKemPrekeys([kem, lastResort]);
    return p;
  }

  test('lookups by id; duplicates rejected', () => {
    const p = pool();
    assert.equal(p.getSignedPrekey(7), spk);
    assert.equal(p.getSignedPrekey(8), undefined);
    assert.equal(p.getKemPrekey(8), kem);
    assert.equal(p.getKemPrekey(9), lastResort);
    assert.ok(p.getOneTimePrekey(100));
    assertCode(() => p.addSignedPrekey(spk), StateError, ErrorCodes.ALREADY_EXISTS);
    assertCode(() => p.addKemPrekeys([kem]), StateError, ErrorCodes.ALREADY_EXISTS);
  });

  test('reserving hands out each one-time key once, then falls back to the last-resort KEM key', () => {
    const p = pool();
    assert.equal(p.availableOneTimePrekeys(), 2);
    assert.equal(p.reserveOneTimePrekey()?.id, 100);
    assert.equal(p.reserveOneTimePrekey()?.id, 101);
    assert.equal(p.reserveOneTimePrekey(), undefined);
    assert.equal(p.availableOneTimePrekeys(), 0);
    assert.equal(p.availableOneTimeKemPrekeys(), 1);
    assert.equal(p.reserveKemPrekey()?.id, 8);
    assert.equal(p.reserveKemPrekey()?.id, 9);
    assert.equal(p.reserveKemPrekey()?.kind, 'last-resort');
    assert.equal(p.availableOneTimeKemPrekeys(), 0);
    // A reserved key is still usable by the responder until it is removed.
    assert.ok(p.getOneTimePrekey(100));
  });

  test('removal deletes one-time keys only; the last-resort KEM key stays', () => {
    const p = pool();
    p.removeOneTimePrekey(100);
    p.removeOneTimePrekey(100); // absent: no-op
    assert.equal(p.getOneTimePrekey(100), undefined);
    p.removeOneTimeKemPrekey(8);
    p.removeOneTimeKemPrekey(9);
    assert.equal(p.getKemPrekey(8), undefined);
    assert.equal(p.getKemPrekey(9), lastResort);
  });

  test('currentSignedPrekey is the newest', () => {
    const p = pool();
    const newer = generateSignedPrekey(alice, 3, rng, NOW + 1000);
    p.addSignedPrekey(newer);
    assert.equal(p.currentSignedPrekey()?.id, 3);
    p.removeSignedPrekey(3);
    assert.equal(p.currentSignedPrekey()?.id, 7);
  });
});

describe('InMemoryReplayCache', () => {
  test('records per signed prekey and forgets with it', () => {
    const c = new InMemoryReplayCache();
    const tag = new Uint8Array(32).fill(1);
    assert.equal(c.has(1, tag), false);
    c.add(1, tag, NOW);
    assert.equal(c.has(1, tag), true);
    assert.equal(c.has(2, tag), false);
    assert.equal(c.size, 1);
    c.forgetSignedPrekey(1);
    assert.equal(c.has(1, tag), false);
    assert.equal(c.size, 0);
  });
});
