/**
 * Fuzz of the handshake's input (src/protocol/handshake/): prekey bundles (signed: no mutation
 * decodes), PQXDH initial messages (decode and re-encode to the same bytes, or fail typed), and the
 * responder's acceptSession (src/protocol/session.ts) on mutated prekey messages: always refused,
 * typed, no one-time prekey consumed and no replay tag recorded — the genuine message is accepted
 * afterwards.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromUtf8, utf8 } from '../../src/lib/bytes.ts';
import { bundleFromPool, decodePrekeyBundle, encodePrekeyBundle, type VerifiedPrekeyBundle } from '../../src/protocol/handshake/bundle.ts';
import { decodeInitialMessage, encodeInitialMessage } from '../../src/protocol/handshake/initial-message.ts';
import { InMemoryReplayCache } from '../../src/protocol/handshake/replay-cache.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { acceptSession, initiateSession, sessionEncrypt } from '../../src/protocol/session.ts';
import { makeParty, NOW, rngFor } from '../unit/handshake-fixtures.ts';
import { assertRejected, fuzzCodec, hex, mutateAll, mutationsArb, params, sameBytes } from './_fuzz.ts';

const rng = rngFor('compeer/fuzz/handshake');
const alice = generateIdentity(rng);

function bundleOf(label: string, opks: number, kems: number): VerifiedPrekeyBundle {
  const b = bundleFromPool(makeParty(label, opks, kems).identity, makeParty(label, opks, kems).pool, NOW);
  assert.ok(b);
  return b;
}

describe('fuzz: prekey bundles (src/protocol/handshake/bundle.ts)', () => {
  // With a one-time prekey and a one-time KEM prekey; without either (the last-resort KEM prekey).
  const samples = [encodePrekeyBundle(bundleOf('fuzz-bob', 2, 1)), encodePrekeyBundle(bundleOf('fuzz-carol', 0, 0))];
  fuzzCodec(it, { name: 'prekey bundle', decode: decodePrekeyBundle, encode: encodePrekeyBundle, samples, authenticated: true, mutationRuns: 800, randomRuns: 150, maxRandom: 1700 });
});

describe('fuzz: PQXDH initial messages (src/protocol/handshake/initial-message.ts)', () => {
  const withOpk = initiateSession(alice, bundleOf('fuzz-bob', 2, 1), rng).pendingInitialMessage;
  const without = initiateSession(alice, bundleOf('fuzz-carol', 0, 0), rng).pendingInitialMessage;
  assert.ok(withOpk && without);
  fuzzCodec(it, { name: 'initial message', decode: decodeInitialMessage, encode: encodeInitialMessage, samples: [withOpk, without], mutationRuns: 1000, randomRuns: 150, maxRandom: 1300 });
});

describe('fuzz: accepting a session (src/protocol/session.ts acceptSession)', () => {
  it('a mutated prekey message is refused, typed, consumes nothing; the genuine one is accepted afterwards', () => {
    const bob = makeParty('fuzz-accept', 2, 1);
    const b = bundleFromPool(bob.identity, bob.pool, NOW);
    assert.ok(b);
    const session = initiateSession(alice, b, rng);
    const wire = sessionEncrypt(session, utf8('first contact'), rng);
    const cache = new InMemoryReplayCache();
    const opk = b.oneTimePrekey?.id;
    assert.ok(opk !== undefined);
    fc.assert(
      fc.property(mutationsArb, (ms) => {
        const bad = mutateAll(wire, ms);
        if (sameBytes(bad, wire)) return;
        assertRejected(`acceptSession of ${hex(bad)}`, () => acceptSession(bob.identity, bob.pool, cache, bad, NOW));
        assert.ok(bob.pool.getOneTimePrekey(opk) !== undefined, 'no one-time prekey consumed');
      }),
      params(300),
    );
    const { plaintext } = acceptSession(bob.identity, bob.pool, cache, wire, NOW);
    assert.equal(fromUtf8(plaintext), 'first contact');
    assert.equal(bob.pool.getOneTimePrekey(opk), undefined, 'the genuine message consumed it');
  });
});
