/**
 * Fuzz of sessions (src/protocol/session.ts, session-set.ts): the session and session-set state
 * codecs read from disk (decode and re-encode to the same bytes, or fail typed), and session messages
 * through sessionDecrypt and setDecrypt — every mutation refused, typed, with the state as it was;
 * the genuine messages decrypt afterwards.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromUtf8, utf8 } from '../../src/lib/bytes.ts';
import { ErrorCodes, ProtocolError } from '../../src/lib/errors.ts';
import { bundleFromPool } from '../../src/protocol/handshake/bundle.ts';
import { InMemoryReplayCache } from '../../src/protocol/handshake/replay-cache.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { acceptSession, decodeSession, encodeSession, initiateSession, sessionDecrypt, sessionEncrypt, type Session } from '../../src/protocol/session.ts';
import { adoptSession, decodeSessionSet, emptySessionSet, encodeSessionSet, setDecrypt, setEncrypt, type SessionSet } from '../../src/protocol/session-set.ts';
import { makeParty, NOW, rngFor } from '../unit/handshake-fixtures.ts';
import { assertRejected, attempt, bytesArb, fuzzCodec, hex, mutateAll, mutationsArb, params, sameBytes } from './_fuzz.ts';

const rng = rngFor('compeer/fuzz/session');
const alice = generateIdentity(rng);

/** Alice starts a session with Bob; Bob accepts; they exchange a message each way. */
function pair(label: string) {
  const bob = makeParty(label, 2, 1);
  const b = bundleFromPool(bob.identity, bob.pool, NOW);
  assert.ok(b);
  const a = initiateSession(alice, b, rng);
  const first = sessionEncrypt(a, utf8('hello'), rng);
  const pendingAlice = encodeSession(a);
  const accepted = acceptSession(bob.identity, bob.pool, new InMemoryReplayCache(), first, NOW).session;
  sessionDecrypt(a, sessionEncrypt(accepted, utf8('hi'), rng), NOW);
  return { bob, a, b: accepted, pendingAlice };
}

describe('fuzz: session state (src/protocol/session.ts)', () => {
  const p = pair('fuzz-session-bob');
  const samples = [p.pendingAlice, encodeSession(p.a), encodeSession(p.b)];
  const incoming = sessionEncrypt(p.a, utf8('to bob'), rng);
  const outgoing = sessionEncrypt(p.b, utf8('to alice'), rng);
  // A session that decodes is used: encrypting and decrypting on it succeed or fail typed.
  const use = (s: Session): void => {
    attempt('sessionEncrypt on a decoded session', () => sessionEncrypt(s, utf8('after restore'), rng));
    for (const m of [incoming, outgoing]) attempt('sessionDecrypt on a decoded session', () => sessionDecrypt(s, m, NOW));
  };
  fuzzCodec(it, { name: 'session state', decode: decodeSession, encode: encodeSession, samples, mutationRuns: 1600, randomRuns: 200, maxRandom: 2000, extra: use });
});

describe('fuzz: session sets (src/protocol/session-set.ts)', () => {
  const p = pair('fuzz-set-bob');
  const q = pair('fuzz-set-carol');
  const set = emptySessionSet();
  adoptSession(set, p.a);
  adoptSession(set, q.a); // p.a is archived
  const samples = [encodeSessionSet(emptySessionSet()), encodeSessionSet({ active: p.b, archived: [] }), encodeSessionSet(set)];
  const incoming = sessionEncrypt(q.b, utf8('to alice'), rng);
  const use = (s: SessionSet): void => {
    attempt('setEncrypt on a decoded set', () => setEncrypt(s, utf8('after restore'), rng));
    attempt('setDecrypt on a decoded set', () =>
      setDecrypt(s, incoming, NOW, () => {
        throw new ProtocolError(ErrorCodes.NO_SESSION, 'no accept in this test');
      }),
    );
  };
  fuzzCodec(it, { name: 'session set', decode: decodeSessionSet, encode: encodeSessionSet, samples, mutationRuns: 1600, randomRuns: 200, maxRandom: 2000, extra: use });
});

describe('fuzz: session messages (sessionDecrypt, setDecrypt)', () => {
  it('a mutated or random message is refused, typed, the session untouched; the genuine ones decrypt afterwards', () => {
    const p = pair('fuzz-msg-bob');
    const m1 = sessionEncrypt(p.a, utf8('one'), rng);
    const m2 = sessionEncrypt(p.a, utf8('two'), rng);
    const before = encodeSession(p.b);
    const set = emptySessionSet();
    adoptSession(set, p.b);
    const accept = () => acceptSession(p.bob.identity, p.bob.pool, new InMemoryReplayCache(), m1, NOW);
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), mutationsArb, bytesArb(300), (second, random, ms, junk) => {
        const original = second ? m2 : m1;
        const bad = random ? junk : mutateAll(original, ms);
        if (sameBytes(bad, original)) return;
        assertRejected(`sessionDecrypt of ${hex(bad)}`, () => sessionDecrypt(p.b, bad, NOW));
        assert.ok(sameBytes(encodeSession(p.b), before), 'the session is as it was');
        // Through the set, a prekey-looking message may reach `accept`: it must refuse too.
        assertRejected(`setDecrypt of ${hex(bad)}`, () => setDecrypt(set, bad, NOW, accept));
        assert.ok(set.active === p.b && set.archived.length === 0, 'the set is as it was');
      }),
      params(400),
    );
    assert.equal(fromUtf8(sessionDecrypt(p.b, m2, NOW)), 'two');
    assert.equal(fromUtf8(setDecrypt(set, m1, NOW, accept).plaintext), 'one');
  });
});
