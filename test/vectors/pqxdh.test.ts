/**
 * PQXDH recorded vectors (test/vectors/pqxdh-compeer.json, made by pqxdh-generate.ts with fixed
 * randomness). Three checks: regenerating gives the same bytes (any change in an encoding or in the key
 * derivation shows up here); Bob, rebuilt from the recorded keys alone, accepts the recorded initial
 * messages and derives the recorded secrets; the straight-line spec derivation maps the recorded DH
 * outputs and KEM secret to the recorded secrets.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../src/lib/bytes.ts';
import { x25519FromPrivate } from '../../src/crypto/x25519.ts';
import { mlKem768FromSeed } from '../../src/crypto/mlkem768.ts';
import { decodeIdentitySecret, decodePublicIdentity, encodePublicIdentity, userIdOf } from '../../src/protocol/identity.ts';
import { decodePrekeyBundle } from '../../src/protocol/handshake/bundle.ts';
import { decodeInitialMessage } from '../../src/protocol/handshake/initial-message.ts';
import { respondPqxdh } from '../../src/protocol/handshake/pqxdh.ts';
import { InMemoryPrekeyPool } from '../../src/protocol/handshake/prekey-store.ts';
import { InMemoryReplayCache } from '../../src/protocol/handshake/replay-cache.ts';
import type { KemPrekeyKind } from '../../src/protocol/handshake/prekeys.ts';
import { computePqxdhVectors, specSecrets, VECTORS_FILE, type PqxdhVectors } from './pqxdh-generate.ts';

const v = JSON.parse(readFileSync(VECTORS_FILE, 'utf8')) as PqxdhVectors;

describe('PQXDH recorded vectors', () => {
  test('regenerating with the same randomness gives identical bytes', () => {
    assert.deepEqual(computePqxdhVectors(), v);
  });

  test('the recorded responder derives the recorded secrets from the recorded messages', () => {
    const bob = decodeIdentitySecret(fromHex(v.bob.secret));
    assert.equal(toHex(encodePublicIdentity(bob.public)), v.bob.public);
    const pool = new InMemoryPrekeyPool();
    const spk = v.signedPrekey;
    pool.addSignedPrekey({
      public: { id: spk.id, createdAt: spk.createdAt, publicKey: x25519FromPrivate(fromHex(spk.private)).publicKey, signature: fromHex(spk.signature) },
      keyPair: x25519FromPrivate(fromHex(spk.private)),
    });
    const opkPair = x25519FromPrivate(fromHex(v.oneTimePrekey.private));
    assert.equal(toHex(opkPair.publicKey), v.oneTimePrekey.public);
    pool.addOneTimePrekeys([{ public: { id: v.oneTimePrekey.id, publicKey: opkPair.publicKey }, keyPair: opkPair }]);
    for (const k of v.kemPrekeys) {
      const keyPair = mlKem768FromSeed(fromHex(k.seed));
      assert.equal(toHex(keyPair.publicKey), k.public);
      pool.addKemPrekeys([
        { public: { id: k.id, kind: k.kind as KemPrekeyKind, createdAt: k.createdAt, publicKey: keyPair.publicKey, signature: fromHex(k.signature) }, keyPair },
      ]);
    }
    const cache = new InMemoryReplayCache();
    for (const c of v.cases) {
      const bundle = decodePrekeyBundle(fromHex(c.bundle));
      assert.equal(bundle.userId, v.bob.userId);
      const m = decodeInitialMessage(fromHex(c.initialMessage));
      assert.equal(toHex(m.ephemeralKey), c.ephemeralPublic);
      const r = respondPqxdh(bob, pool, m, cache, v.bundleTime);
      assert.equal(toHex(r.secrets.rootKey), c.rootKey, c.name);
      assert.equal(toHex(r.secrets.initiatorHeaderKey), c.initiatorHeaderKey, c.name);
      assert.equal(toHex(r.secrets.responderNextHeaderKey), c.responderNextHeaderKey, c.name);
      assert.equal(toHex(r.secrets.associatedData), c.associatedData, c.name);
      assert.equal(toHex(r.secrets.transcriptHash), c.transcriptHash, c.name);
      assert.equal(c.associatedData, v.alice.public + v.bob.public);
    }
  });

  test('the straight-line spec derivation maps the recorded DH/KEM outputs to the recorded secrets', () => {
    assert.equal(userIdOf(decodePublicIdentity(fromHex(v.alice.public))), v.alice.userId);
    for (const c of v.cases) {
      const m = decodeInitialMessage(fromHex(c.initialMessage));
      const kem = v.kemPrekeys.find((k) => k.id === m.kemPrekeyId);
      assert.ok(kem);
      const { transcriptHash, okm } = specSecrets(
        fromHex(v.alice.public),
        fromHex(v.bob.public),
        {
          spkId: m.signedPrekeyId,
          spk: fromHex(v.signedPrekey.public),
          opk: m.oneTimePrekeyId === undefined ? undefined : { id: m.oneTimePrekeyId, key: fromHex(v.oneTimePrekey.public) },
          kemId: m.kemPrekeyId,
          kem: fromHex(kem.public),
          ek: m.ephemeralKey,
          ct: m.kemCiphertext,
        },
        c.dh.map(fromHex),
        fromHex(c.kemSharedSecret),
      );
      assert.equal(toHex(transcriptHash), c.transcriptHash);
      assert.equal(toHex(okm), c.rootKey + c.initiatorHeaderKey + c.responderNextHeaderKey);
      assert.equal(c.dh.length, m.oneTimePrekeyId === undefined ? 3 : 4);
    }
  });
});
