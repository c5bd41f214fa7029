import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { concatBytes, equalBytes, toHex } from '../../src/lib/bytes.ts';
import { CompeerError, ErrorCodes, ProtocolError } from '../../src/lib/errors.ts';
import { systemRng } from '../../src/lib/system.ts';
import { generateX25519 } from '../../src/crypto/x25519.ts';
import { encodePublicIdentity, generateIdentity } from '../../src/protocol/identity.ts';
import { createPrekeyBundle, type VerifiedPrekeyBundle } from '../../src/protocol/handshake/bundle.ts';
import { decodeInitialMessage, encodeInitialMessage, type InitialMessage } from '../../src/protocol/handshake/initial-message.ts';
import { initiatePqxdh, respondPqxdh } from '../../src/protocol/handshake/pqxdh.ts';
import { InMemoryReplayCache } from '../../src/protocol/handshake/replay-cache.ts';
import type { HandshakeSecrets } from '../../src/protocol/handshake/secrets.ts';
import { assertCode, makeParty, NOW, rngFor, type Party } from './handshake-fixtures.ts';

const alice = generateIdentity(rngFor('hs-alice'));

function bundleOf(p: Party, opkId: number | undefined, kemId: number): VerifiedPrekeyBundle {
  const spk = p.pool.getSignedPrekey(1);
  const kem = p.pool.getKemPrekey(kemId);
  assert.ok(spk && kem);
  const opk = opkId === undefined ? undefined : p.pool.getOneTimePrekey(opkId)?.public;
  return createPrekeyBundle(p.identity, { signedPrekey: spk.public, oneTimePrekey: opk, kemPrekey: kem.public }, NOW);
}

function sameSecrets(a: HandshakeSecrets, b: HandshakeSecrets): boolean {
  return (
    equalBytes(a.rootKey, b.rootKey) &&
    equalBytes(a.initiatorHeaderKey, b.initiatorHeaderKey) &&
    equalBytes(a.responderNextHeaderKey, b.responderNextHeaderKey) &&
    equalBytes(a.associatedData, b.associatedData) &&
    equalBytes(a.transcriptHash, b.transcriptHash)
  );
}

const CASES = [
  { name: 'OPK + one-time KEM prekey', opk: 100, kem: 200 },
  { name: 'OPK + last-resort KEM prekey', opk: 100, kem: 900 },
  { name: 'no OPK + one-time KEM prekey', opk: undefined, kem: 200 },
  { name: 'no OPK + last-resort KEM prekey', opk: undefined, kem: 900 },
];

describe('PQXDH: both sides derive the same secrets', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const bob = makeParty(`hs-bob-${c.name}`);
      const init = initiatePqxdh(alice, bundleOf(bob, c.opk, c.kem), rngFor(`hs-${c.name}`));
      const wire = encodeInitialMessage(init.initialMessage);
      assert.equal(wire.length, c.opk === undefined ? 1260 : 1264);
      const resp = respondPqxdh(bob.identity, bob.pool, decodeInitialMessage(wire), new InMemoryReplayCache(), NOW);
      assert.ok(sameSecrets(init.secrets, resp.secrets));
      const s = init.secrets;
      assert.equal(s.rootKey.length, 32);
      assert.ok(!equalBytes(s.rootKey, s.initiatorHeaderKey) && !equalBytes(s.initiatorHeaderKey, s.responderNextHeaderKey));
      assert.equal(toHex(s.associatedData), toHex(concatBytes(encodePublicIdentity(alice.public), encodePublicIdentity(bob.identity.public))));
      assert.equal(s.transcriptHash.length, 32);
      assert.ok(equalBytes(init.remoteRatchetKey, resp.signedPrekey.keyPair.publicKey));
      assert.equal(resp.signedPrekey.public.id, 1);
      assert.ok(equalBytes(resp.initiator.signingKey, alice.public.signingKey));
      assert.ok(equalBytes(init.responder.signingKey, bob.identity.public.signingKey));
    });
  }

  test('with the system RNG (OpenSSL key generation and encapsulation)', () => {
    const bob = makeParty('hs-bob-system');
    const a = generateIdentity(systemRng);
    const init = initiatePqxdh(a, bundleOf(bob, 101, 200), systemRng);
    const resp = respondPqxdh(bob.identity, bob.pool, decodeInitialMessage(encodeInitialMessage(init.initialMessage)), new InMemoryReplayCache(), NOW);
    assert.ok(sameSecrets(init.secrets, resp.secrets));
  });

  test('with and without the OPK the secrets differ (DH4 is in the key)', () => {
    const bob = makeParty('hs-bob-dh4');
    const rngA = rngFor('same-ek');
    const rngB = rngFor('same-ek');
    const withOpk = initiatePqxdh(alice, bundleOf(bob, 100, 900), rngA);
    const without = initiatePqxdh(alice, bundleOf(bob, undefined, 900), rngB);
    assert.ok(equalBytes(withOpk.initialMessage.ephemeralKey, without.initialMessage.ephemeralKey));
    assert.ok(!equalBytes(withOpk.secrets.rootKey, without.secrets.rootKey));
  });

  test('secrets never print', () => {
    const bob = makeParty('hs-bob-print');
    const init = initiatePqxdh(alice, bundleOf(bob, undefined, 900), rngFor('print'));
    const shown = inspect(init.secrets) + JSON.stringify(init.secrets);
    assert.ok(!shown.includes(toHex(init.secrets.rootKey)));
    assert.match(inspect(init.secrets.rootKey), /\[secret 32 bytes\]/);
  });
});

describe('PQXDH: the ephemeral private key', () => {
  test('is never part of what initiatePqxdh returns', () => {
    const bob = makeParty('hs-bob-ek');
    // EK_A is the first draw of the Rng handed to initiatePqxdh: replay the same Rng to learn it.
    const ekPriv = generateX25519(rngFor('ek-probe')).privateKey;
    const init = initiatePqxdh(alice, bundleOf(bob, 100, 200), rngFor('ek-probe'));
    assert.ok(equalBytes(generateX25519(rngFor('ek-probe')).publicKey, init.initialMessage.ephemeralKey));
    const needle = toHex(ekPriv);
    const seen = new Set<unknown>();
    const walk = (v: unknown): void => {
      if (v === null || typeof v !== 'object' || seen.has(v)) return;
      seen.add(v);
      if (v instanceof Uint8Array) {
        assert.ok(!toHex(v).includes(needle), 'EK_A private key found in the result');
        return;
      }
      for (const k of Reflect.ownKeys(v)) walk((v as Record<string | symbol, unknown>)[k]);
    };
    walk(init);
    assert.ok(!toHex(encodeInitialMessage(init.initialMessage)).includes(needle));
  });
});

describe('PQXDH responder: consumption, replay, unknown prekeys', () => {
  test('nothing is consumed before commit; commit deletes one-time keys and keeps the last-resort key', () => {
    const bob = makeParty('hs-bob-commit');
    const cache = new InMemoryReplayCache();
    const init = initiatePqxdh(alice, bundleOf(bob, 100, 200), rngFor('commit'));
    const r = respondPqxdh(bob.identity, bob.pool, init.initialMessage, cache, NOW);
    assert.ok(bob.pool.getOneTimePrekey(100) && bob.pool.getKemPrekey(200));
    assert.equal(cache.size, 0);
    r.commit();
    r.commit(); // idempotent
    assert.equal(bob.pool.getOneTimePrekey(100), undefined);
    assert.equal(bob.pool.getKemPrekey(200), undefined);
    assert.equal(cache.size, 1);
    const init2 = initiatePqxdh(alice, bundleOf(bob, undefined, 900), rngFor('commit-2'));
    respondPqxdh(bob.identity, bob.pool, init2.initialMessage, cache, NOW).commit();
    assert.ok(bob.pool.getKemPrekey(900), 'last-resort key survives');
  });

  test('a replayed initial message (last-resort KEM key, no OPK) is REPLAYED_MESSAGE', () => {
    const bob = makeParty('hs-bob-replay');
    const cache = new InMemoryReplayCache();
    const wire = encodeInitialMessage(initiatePqxdh(alice, bundleOf(bob, undefined, 900), rngFor('replay')).initialMessage);
    respondPqxdh(bob.identity, bob.pool, decodeInitialMessage(wire), cache, NOW).commit();
    assertCode(() => respondPqxdh(bob.identity, bob.pool, decodeInitialMessage(wire), cache, NOW), ProtocolError, ErrorCodes.REPLAYED_MESSAGE);
    // Other initial messages to the same last-resort key still work.
    const other = initiatePqxdh(alice, bundleOf(bob, undefined, 900), rngFor('replay-other'));
    respondPqxdh(bob.identity, bob.pool, other.initialMessage, cache, NOW);
  });

  test('a replay of a message that used one-time keys is REPLAYED_MESSAGE too (cache checked first)', () => {
    const bob = makeParty('hs-bob-replay-opk');
    const cache = new InMemoryReplayCache();
    const m = initiatePqxdh(alice, bundleOf(bob, 100, 200), rngFor('replay-opk')).initialMessage;
    respondPqxdh(bob.identity, bob.pool, m, cache, NOW).commit();
    assertCode(() => respondPqxdh(bob.identity, bob.pool, m, cache, NOW), ProtocolError, ErrorCodes.REPLAYED_MESSAGE);
  });

  test('once its SPK is deleted and the cache forgets it, a replay is UNKNOWN_PREKEY', () => {
    const bob = makeParty('hs-bob-rotate');
    const cache = new InMemoryReplayCache();
    const m = initiatePqxdh(alice, bundleOf(bob, undefined, 900), rngFor('rotate')).initialMessage;
    respondPqxdh(bob.identity, bob.pool, m, cache, NOW).commit();
    bob.pool.removeSignedPrekey(1);
    cache.forgetSignedPrekey(1);
    assertCode(() => respondPqxdh(bob.identity, bob.pool, m, cache, NOW), ProtocolError, ErrorCodes.UNKNOWN_PREKEY);
  });

  test('a new message reusing a consumed one-time prekey is UNKNOWN_PREKEY', () => {
    const bob = makeParty('hs-bob-reuse');
    const cache = new InMemoryReplayCache();
    const bundle = bundleOf(bob, 100, 200);
    respondPqxdh(bob.identity, bob.pool, initiatePqxdh(alice, bundle, rngFor('reuse-1')).initialMessage, cache, NOW).commit();
    // Carol fetched the same bundle (same OPK, same one-time KEM key) and sends her own initial message.
    const carol = generateIdentity(rngFor('carol'));
    const second = initiatePqxdh(carol, bundle, rngFor('reuse-2')).initialMessage;
    assertCode(() => respondPqxdh(bob.identity, bob.pool, second, cache, NOW), ProtocolError, ErrorCodes.UNKNOWN_PREKEY);
  });

  test('a reused one-time KEM prekey alone is UNKNOWN_PREKEY; nothing else was consumed', () => {
    const bob = makeParty('hs-bob-reuse-kem', 2, 1);
    const cache = new InMemoryReplayCache();
    const bundle = bundleOf(bob, undefined, 200);
    respondPqxdh(bob.identity, bob.pool, initiatePqxdh(alice, bundle, rngFor('rk-1')).initialMessage, cache, NOW).commit();
    assertCode(
      () => respondPqxdh(bob.identity, bob.pool, initiatePqxdh(alice, bundle, rngFor('rk-2')).initialMessage, cache, NOW),
      ProtocolError,
      ErrorCodes.UNKNOWN_PREKEY,
    );
    assert.ok(bob.pool.getOneTimePrekey(100) && bob.pool.getOneTimePrekey(101));
  });

  test('unknown signed prekey or KEM prekey ids are UNKNOWN_PREKEY', () => {
    const bob = makeParty('hs-bob-unknown');
    const m = initiatePqxdh(alice, bundleOf(bob, 100, 200), rngFor('unknown')).initialMessage;
    const cache = new InMemoryReplayCache();
    for (const v of [{ ...m, signedPrekeyId: 2 }, { ...m, oneTimePrekeyId: 7 }, { ...m, kemPrekeyId: 201 }]) {
      assertCode(() => respondPqxdh(bob.identity, bob.pool, v, cache, NOW), ProtocolError, ErrorCodes.UNKNOWN_PREKEY);
    }
  });
});

describe('PQXDH: every field of the initial message is bound into the secrets', () => {
  // The end-to-end form of this (first ratchet message fails to decrypt) lives with session.ts.
  const bob = makeParty('hs-bob-tamper', 3, 2);
  const init = initiatePqxdh(alice, bundleOf(bob, 100, 200), rngFor('tamper'));
  const m = init.initialMessage;
  const respond = (v: InitialMessage) => respondPqxdh(bob.identity, bob.pool, v, new InMemoryReplayCache(), NOW).secrets;

  test('untampered: equal', () => {
    assert.ok(sameSecrets(init.secrets, respond(m)));
  });

  const carol = generateIdentity(rngFor('tamper-carol'));
  const variants: [string, InitialMessage][] = [
    ['initiator identity', { ...m, initiator: carol.public }],
    ['ephemeral key', { ...m, ephemeralKey: generateX25519(rngFor('tamper-ek')).publicKey }],
    ['one-time prekey id (another OPK)', { ...m, oneTimePrekeyId: 101 }],
    ['one-time prekey dropped', { ...m, oneTimePrekeyId: undefined }],
    ['KEM prekey id (another one-time key)', { ...m, kemPrekeyId: 201 }],
    ['KEM prekey id (the last-resort key)', { ...m, kemPrekeyId: 900 }],
    ['KEM ciphertext, first byte', { ...m, kemCiphertext: flip(m.kemCiphertext, 0) }],
    ['KEM ciphertext, last byte', { ...m, kemCiphertext: flip(m.kemCiphertext, m.kemCiphertext.length - 1) }],
  ];
  for (const [name, v] of variants) {
    test(`${name}: different secrets`, () => {
      const s = respond(v);
      assert.ok(!equalBytes(s.rootKey, init.secrets.rootKey));
      assert.ok(!equalBytes(s.initiatorHeaderKey, init.secrets.initiatorHeaderKey));
      assert.ok(!equalBytes(s.responderNextHeaderKey, init.secrets.responderNextHeaderKey));
      assert.ok(!equalBytes(s.transcriptHash, init.secrets.transcriptHash));
    });
  }

  test('every byte of the encoded message: tampering gives a typed error or different secrets (sampled in CT)', () => {
    const wire = encodeInitialMessage(m);
    const ctStart = wire.length - 1088;
    for (let i = 0; i < wire.length; i++) {
      if (i > ctStart + 8 && i < wire.length - 8 && i % 53 !== 0) continue;
      const t = Uint8Array.from(wire);
      t[i] = (t[i] as number) ^ 0x01;
      let s: HandshakeSecrets;
      try {
        s = respond(decodeInitialMessage(t));
      } catch (e) {
        assert.ok(e instanceof CompeerError, `byte ${i}: ${String(e)}`);
        continue;
      }
      assert.ok(!equalBytes(s.rootKey, init.secrets.rootKey), `byte ${i}: same root key`);
    }
  });
});

function flip(b: Uint8Array, i: number): Uint8Array {
  const out = Uint8Array.from(b);
  out[i] = (out[i] as number) ^ 0x80;
  return out;
}
