/**
 * End to end: PQXDH + Double Ratchet through src/protocol/session.ts. The initial message is
 * authenticated by the first ratchet message: any tampering makes acceptSession fail, and a failed
 * accept consumes no one-time prekey and records no replay tag.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { concatBytes, toHex, utf8, fromUtf8 } from '../../src/lib/bytes.ts';
import { CompeerError, CryptoError, DecodeError, ErrorCodes, LimitError, ProtocolError } from '../../src/lib/errors.ts';
import { generateX25519 } from '../../src/crypto/x25519.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { bundleFromPool, type VerifiedPrekeyBundle } from '../../src/protocol/handshake/bundle.ts';
import { decodeInitialMessage, encodeInitialMessage, type InitialMessage } from '../../src/protocol/handshake/initial-message.ts';
import { InMemoryReplayCache } from '../../src/protocol/handshake/replay-cache.ts';
import {
  acceptSession,
  decodeSession,
  encodeSession,
  initiateSession,
  isPrekeyMessage,
  sessionDecrypt,
  sessionEncrypt,
  SESSION_MESSAGE_NORMAL,
  SESSION_MESSAGE_PREKEY,
} from '../../src/protocol/session.ts';
import { assertCode, makeParty, NOW, rngFor, type Party } from './handshake-fixtures.ts';

const alice = generateIdentity(rngFor('s-alice'));
const text = (s: string) => utf8(s);

function bundle(p: Party): VerifiedPrekeyBundle {
  const b = bundleFromPool(p.identity, p.pool, NOW);
  assert.ok(b);
  return b;
}

/** Splits a prekey session message into its initial message and ratchet message. */
function split(wire: Uint8Array): { initial: Uint8Array; ratchet: Uint8Array } {
  assert.equal(wire[0], SESSION_MESSAGE_PREKEY);
  const len = ((wire[1] as number) << 8) | (wire[2] as number);
  return { initial: wire.subarray(3, 3 + len), ratchet: wire.subarray(3 + len) };
}

function frame(initial: Uint8Array, ratchet: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(SESSION_MESSAGE_PREKEY, initial.length >>> 8, initial.length & 0xff), initial, ratchet);
}

describe('session: a conversation', () => {
  test('prekey messages until the first reply, then normal messages; repeats of the initial message are recognised', () => {
    const bob = makeParty('s-bob');
    const rng = rngFor('s-conv');
    const a = initiateSession(alice, bundle(bob), rng);
    const m1 = sessionEncrypt(a, text('hello'), rng);
    const m2 = sessionEncrypt(a, text('are you there?'), rng);
    assert.ok(isPrekeyMessage(m1) && isPrekeyMessage(m2));
    const cache = new InMemoryReplayCache();
    const { session: b, plaintext } = acceptSession(bob.identity, bob.pool, cache, m1, NOW);
    assert.equal(fromUtf8(plaintext), 'hello');
    assert.equal(toHex(b.transcriptHash), toHex(a.transcriptHash));
    assert.equal(toHex(b.remoteIdentity.signingKey), toHex(alice.public.signingKey));
    assert.equal(bob.pool.getOneTimePrekey(100), undefined, 'OPK consumed after the first message authenticated');
    assert.equal(bob.pool.getKemPrekey(200), undefined, 'one-time KEM prekey consumed');
    assert.equal(fromUtf8(sessionDecrypt(b, m2, NOW)), 'are you there?');
    const r1 = sessionEncrypt(b, text('yes'), rng);
    assert.equal(r1[0], SESSION_MESSAGE_NORMAL);
    assert.equal(fromUtf8(sessionDecrypt(a, r1, NOW)), 'yes');
    assert.equal(a.pendingInitialMessage, undefined);
    const m3 = sessionEncrypt(a, text('good'), rng);
    assert.equal(m3[0], SESSION_MESSAGE_NORMAL);
    assert.equal(fromUtf8(sessionDecrypt(b, m3, NOW)), 'good');
  });

  test('no OPK and a last-resort KEM prekey', () => {
    const bob = makeParty('s-bob-lr', 0, 0);
    const rng = rngFor('s-lr');
    const b0 = bundle(bob);
    assert.equal(b0.oneTimePrekey, undefined);
    assert.equal(b0.kemPrekey.kind, 'last-resort');
    const a = initiateSession(alice, b0, rng);
    const m1 = sessionEncrypt(a, text('hi'), rng);
    const cache = new InMemoryReplayCache();
    assert.equal(fromUtf8(acceptSession(bob.identity, bob.pool, cache, m1, NOW).plaintext), 'hi');
    assert.ok(bob.pool.getKemPrekey(900), 'last-resort key kept');
    assertCode(() => acceptSession(bob.identity, bob.pool, cache, m1, NOW), ProtocolError, ErrorCodes.REPLAYED_MESSAGE);
  });

  test('replays: to acceptSession REPLAYED_MESSAGE, to the session DUPLICATE_MESSAGE; another session\'s initial message is NO_SESSION', () => {
    const bob = makeParty('s-bob-replay');
    const rng = rngFor('s-replay');
    const a = initiateSession(alice, bundle(bob), rng);
    const m1 = sessionEncrypt(a, text('once'), rng);
    const cache = new InMemoryReplayCache();
    const { session: b } = acceptSession(bob.identity, bob.pool, cache, m1, NOW);
    assertCode(() => acceptSession(bob.identity, bob.pool, cache, m1, NOW), ProtocolError, ErrorCodes.REPLAYED_MESSAGE);
    assertCode(() => sessionDecrypt(b, m1, NOW), ProtocolError, ErrorCodes.DUPLICATE_MESSAGE);
    const other = initiateSession(alice, bundle(bob), rng);
    assertCode(() => sessionDecrypt(b, sessionEncrypt(other, text('x'), rng), NOW), ProtocolError, ErrorCodes.NO_SESSION);
  });

  test('session state round trip (pending initial message included) and no ephemeral key in it', () => {
    const bob = makeParty('s-bob-codec');
    const rng = rngFor('s-codec');
    const ekPriv = toHex(generateX25519(rngFor('s-codec')).privateKey); // EK_A is the first draw
    const a0 = initiateSession(alice, bundle(bob), rngFor('s-codec'));
    const encA = encodeSession(a0);
    assert.ok(!toHex(encA).includes(ekPriv), 'EK_A private key in the initiator state');
    const a = decodeSession(encA);
    assert.ok(a.pendingInitialMessage);
    const m1 = sessionEncrypt(a, text('after restart'), rng);
    const { session: b0 } = acceptSession(bob.identity, bob.pool, new InMemoryReplayCache(), m1, NOW);
    const encB = encodeSession(b0);
    assert.ok(!toHex(encB).includes(ekPriv), 'EK_A private key in the responder state');
    const b = decodeSession(encB);
    assert.equal(fromUtf8(sessionDecrypt(a, sessionEncrypt(b, text('welcome back'), rng), NOW)), 'welcome back');
    assert.equal(toHex(encodeSession(decodeSession(encodeSession(a)))), toHex(encodeSession(a)));
    const bad = Uint8Array.from(encA);
    bad[0] = 2;
    assertCode(() => decodeSession(bad), DecodeError, ErrorCodes.UNSUPPORTED_VERSION);
    const badHash = Uint8Array.from(encA);
    badHash[2 + 129 + 32] = (badHash[2 + 129 + 32] as number) ^ 1;
    assertCode(() => decodeSession(badHash), DecodeError, ErrorCodes.STATE_CORRUPT);
  });

  test('framing errors are typed', () => {
    const bob = makeParty('s-bob-frame');
    const cache = new InMemoryReplayCache();
    assertCode(() => acceptSession(bob.identity, bob.pool, cache, new Uint8Array(0), NOW), DecodeError, ErrorCodes.INVALID_LENGTH);
    assertCode(() => acceptSession(bob.identity, bob.pool, cache, Uint8Array.of(9, 0, 0), NOW), DecodeError, ErrorCodes.MALFORMED_MESSAGE);
    assertCode(() => acceptSession(bob.identity, bob.pool, cache, Uint8Array.of(1, 0xff, 0xff), NOW), LimitError, ErrorCodes.LIMIT_EXCEEDED);
    assertCode(() => acceptSession(bob.identity, bob.pool, cache, Uint8Array.of(1, 0x04, 0xec, 1), NOW), DecodeError, ErrorCodes.INVALID_LENGTH);
    assertCode(() => acceptSession(bob.identity, bob.pool, cache, Uint8Array.of(2, 1, 2, 3), NOW), ProtocolError, ErrorCodes.NO_SESSION);
  });
});

describe('session: a tampered initial message makes the first message fail, and changes nothing', () => {
  const bob = makeParty('s-bob-tamper', 3, 2);
  const rng = rngFor('s-tamper');
  const a = initiateSession(alice, bundle(bob), rng); // OPK 100, one-time KEM 200
  const first = sessionEncrypt(a, text('authentic'), rng);
  const { initial, ratchet } = split(first);
  const m = decodeInitialMessage(initial);
  const cache = new InMemoryReplayCache();

  function assertUntouched(): void {
    assert.ok(bob.pool.getOneTimePrekey(100), 'OPK 100 still there');
    assert.ok(bob.pool.getKemPrekey(200), 'KEM prekey 200 still there');
    assert.equal(cache.size, 0, 'no replay tag recorded');
  }

  const carol = generateIdentity(rngFor('s-carol'));
  const variants: [string, InitialMessage, string][] = [
    ['initiator identity replaced', { ...m, initiator: carol.public }, ErrorCodes.DECRYPT_FAILED],
    ['ephemeral key replaced', { ...m, ephemeralKey: generateX25519(rngFor('s-ek')).publicKey }, ErrorCodes.DECRYPT_FAILED],
    ['another OPK', { ...m, oneTimePrekeyId: 101 }, ErrorCodes.DECRYPT_FAILED],
    ['OPK dropped', { ...m, oneTimePrekeyId: undefined }, ErrorCodes.DECRYPT_FAILED],
    ['another one-time KEM prekey', { ...m, kemPrekeyId: 201 }, ErrorCodes.DECRYPT_FAILED],
    ['the last-resort KEM prekey', { ...m, kemPrekeyId: 900 }, ErrorCodes.DECRYPT_FAILED],
    ['KEM ciphertext changed', { ...m, kemCiphertext: Uint8Array.from(m.kemCiphertext, (x, i) => (i === 500 ? x ^ 4 : x)) }, ErrorCodes.DECRYPT_FAILED],
    ['unknown SPK', { ...m, signedPrekeyId: 77 }, ErrorCodes.UNKNOWN_PREKEY],
  ];
  for (const [name, v, code] of variants) {
    test(name, () => {
      assert.throws(
        () => acceptSession(bob.identity, bob.pool, cache, frame(encodeInitialMessage(v), ratchet), NOW),
        (e: unknown) => e instanceof CompeerError && e.code === code && (code !== ErrorCodes.DECRYPT_FAILED || e instanceof CryptoError),
      );
      assertUntouched();
    });
  }

  test('every byte of the initial message (sampled in CT) and of the ratchet message: the first message fails', () => {
    const wire = first;
    const initialEnd = 3 + initial.length;
    const ctStart = initialEnd - 1088;
    for (let i = 0; i < wire.length; i++) {
      if (i >= ctStart + 8 && i < initialEnd - 8 && i % 61 !== 0) continue;
      const t = Uint8Array.from(wire);
      t[i] = (t[i] as number) ^ 0x01;
      assert.throws(() => acceptSession(bob.identity, bob.pool, cache, t, NOW), (e: unknown) => e instanceof CompeerError, `byte ${i}`);
    }
    assertUntouched();
  });

  test('the untampered message is still accepted afterwards', () => {
    assert.equal(fromUtf8(acceptSession(bob.identity, bob.pool, cache, first, NOW).plaintext), 'authentic');
    assert.equal(bob.pool.getOneTimePrekey(100), undefined);
    assert.equal(cache.size, 1);
  });
});
