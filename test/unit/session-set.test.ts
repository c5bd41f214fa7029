/**
 * Session sets (src/protocol/session-set.ts): simultaneous initiation converges on one session
 * whatever order the messages arrive in, a peer that starts over takes over, messages in flight on
 * archived sessions still decrypt, and the set's encoding round-trips strictly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromUtf8, utf8 } from '../../src/lib/bytes.ts';
import { DecodeError, ErrorCodes, ProtocolError } from '../../src/lib/errors.ts';
import { bundleFromPool } from '../../src/protocol/handshake/bundle.ts';
import { InMemoryReplayCache } from '../../src/protocol/handshake/replay-cache.ts';
import { acceptSession, initiateSession } from '../../src/protocol/session.ts';
import {
  decodeSessionSet,
  emptySessionSet,
  encodeSessionSet,
  sameActiveSession,
  setDecrypt,
  setEncrypt,
  type SessionSet,
} from '../../src/protocol/session-set.ts';
import { assertCode, makeParty, NOW, rngFor, type Party } from './handshake-fixtures.ts';

interface Peer {
  party: Party;
  set: SessionSet;
  replay: InMemoryReplayCache;
  got: string[];
}

function peer(label: string): Peer {
  return { party: makeParty(label, 4, 4), set: emptySessionSet(), replay: new InMemoryReplayCache(), got: [] };
}

const rng = rngFor('session-set');

function initiate(from: Peer, to: Peer): void {
  const bundle = bundleFromPool(to.party.identity, to.party.pool, NOW);
  assert.ok(bundle);
  const s = initiateSession(from.party.identity, bundle, rng);
  if (from.set.active) from.set.archived.unshift(from.set.active);
  from.set.active = s;
}

function send(from: Peer, text: string): Uint8Array {
  return setEncrypt(from.set, utf8(text), rng);
}

function receive(at: Peer, wire: Uint8Array): void {
  const r = setDecrypt(at.set, wire, NOW, () => acceptSession(at.party.identity, at.party.pool, at.replay, wire, NOW));
  at.got.push(fromUtf8(r.plaintext));
}

describe('session sets', () => {
  test('simultaneous initiation converges, in every delivery order of the first messages and replies', () => {
    // Each side initiates, sends one message, then the four deliveries happen in an arbitrary order,
    // followed by a few rounds of ordinary conversation; both sides must end on the same session.
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), (order) => {
        const a = peer('ss-a');
        const b = peer('ss-b');
        initiate(a, b);
        initiate(b, a);
        const queueToB = [send(a, 'a1')];
        const queueToA = [send(b, 'b1')];
        let n = 1;
        for (const toA of order) {
          if (toA && queueToA.length > 0) receive(a, queueToA.shift() as Uint8Array);
          else if (queueToB.length > 0) receive(b, queueToB.shift() as Uint8Array);
          // Whoever just received answers at once, adding traffic to the other queue.
          n++;
          if (toA) queueToB.push(send(a, `a${n}`));
          else queueToA.push(send(b, `b${n}`));
        }
        while (queueToA.length > 0) receive(a, queueToA.shift() as Uint8Array);
        while (queueToB.length > 0) receive(b, queueToB.shift() as Uint8Array);
        for (let i = 0; i < 3; i++) {
          receive(b, send(a, `x${i}`));
          receive(a, send(b, `y${i}`));
        }
        assert.ok(sameActiveSession(a.set, b.set), 'both sides encrypt on the same session');
        // Every message was received exactly once.
        assert.equal(a.got.length, new Set(a.got).size);
        assert.equal(b.got.length, new Set(b.got).size);
        assert.equal(a.got.length + b.got.length, 2 + order.length + 6);
      }),
      { numRuns: 40 },
    );
  });

  test('a peer that starts over (lost its state) takes over; old messages in flight still decrypt', () => {
    const a = peer('ss-restart-a');
    const b = peer('ss-restart-b');
    initiate(a, b);
    receive(b, send(a, 'hello'));
    receive(a, send(b, 'hi'));
    const inFlight = send(a, 'late on the old session');
    // B loses everything and starts a new session to A.
    b.set = emptySessionSet();
    initiate(b, a);
    receive(a, send(b, 'I am back'));
    assert.equal(a.set.archived.length, 1);
    receive(b, send(a, 'welcome back'));
    assert.ok(sameActiveSession(a.set, b.set));
    // The message sent on the old session cannot be read by B, which lost that session's keys…
    assert.throws(() => receive(b, inFlight));
    // …but A still reads messages on archived sessions.
    assert.deepEqual(a.got, ['hi', 'I am back']);
  });

  test('no session: NO_SESSION for encrypt, and a normal message never starts a session', () => {
    const a = peer('ss-none');
    assertCode(() => setEncrypt(a.set, utf8('x'), rng), ProtocolError, ErrorCodes.NO_SESSION);
    const b = peer('ss-none-b');
    initiate(b, a);
    receive(a, send(b, 'first'));
    const normal = setEncrypt(a.set, utf8('reply'), rng);
    assertCode(() => setDecrypt(emptySessionSet(), normal, NOW, () => assert.fail('a normal message is never accepted as a new session')), ProtocolError, ErrorCodes.NO_SESSION);
  });

  test('encoding round-trips (active and archived) and rejects garbage strictly', () => {
    const a = peer('ss-enc-a');
    const b = peer('ss-enc-b');
    initiate(a, b);
    initiate(b, a);
    receive(a, send(b, 'one'));
    const bytes = encodeSessionSet(a.set);
    const back = decodeSessionSet(bytes);
    assert.deepEqual(encodeSessionSet(back), bytes);
    assert.equal(back.archived.length, a.set.archived.length);
    assert.deepEqual(encodeSessionSet(decodeSessionSet(encodeSessionSet(emptySessionSet()))), encodeSessionSet(emptySessionSet()));
    for (const bad of [new Uint8Array(0), Uint8Array.of(9, 0, 0), Uint8Array.of(1, 1, 0), Uint8Array.of(1, 0, 99), bytes.subarray(0, bytes.length - 1)]) {
      assert.throws(() => decodeSessionSet(bad), (e: unknown) => e instanceof DecodeError);
    }
    const trailing = new Uint8Array(bytes.length + 1);
    trailing.set(bytes);
    assert.throws(() => decodeSessionSet(trailing), (e: unknown) => e instanceof DecodeError && e.code === ErrorCodes.STATE_CORRUPT);
  });
});
