/**
 * The behaviour every PrekeyPool and ReplayCache must have (prekeys.compliance.test.ts runs it against
 * the protocol's InMemoryPrekeyPool / InMemoryReplayCache, i.e. a memory store, and the sqlite store),
 * ending with a real session set up through the pool: bundle → initiate → accept → reply.
 */
import assert from 'node:assert/strict';
import { afterEach, before, beforeEach, describe, it } from 'node:test';
import { toHex, utf8, fromUtf8 } from '../../../src/lib/bytes.ts';
import { bundleFromPool } from '../../../src/protocol/handshake/bundle.ts';
import {
  generateKemPrekey,
  generateOneTimeKemPrekeys,
  generateOneTimePrekeys,
  generateSignedPrekey,
  type KemPrekeyPair,
  type OneTimePrekeyPair,
  type SignedPrekeyPair,
} from '../../../src/protocol/handshake/prekeys.ts';
import { generateIdentity, type IdentityKeyPair } from '../../../src/protocol/identity.ts';
import { acceptSession, initiateSession, sessionEncrypt } from '../../../src/protocol/session.ts';
import { seededRng } from './helpers.ts';
import type { MakeSubject, StoreSubject } from './subjects.ts';

const NOW = 1_750_000_000_000;

interface Keys {
  bob: IdentityKeyPair;
  alice: IdentityKeyPair;
  spk: SignedPrekeyPair;
  newer: SignedPrekeyPair;
  opks: OneTimePrekeyPair[];
  kem: KemPrekeyPair;
  lastResort: KemPrekeyPair;
  olderLastResort: KemPrekeyPair;
}

function makeKeys(): Keys {
  const rng = seededRng(42);
  const bob = generateIdentity(rng);
  return {
    bob,
    alice: generateIdentity(rng),
    spk: generateSignedPrekey(bob, 7, rng, NOW),
    newer: generateSignedPrekey(bob, 3, rng, NOW + 1000),
    opks: generateOneTimePrekeys(100, 2, rng),
    kem: generateOneTimeKemPrekeys(bob, 8, 1, rng, NOW)[0] as KemPrekeyPair,
    lastResort: generateKemPrekey(bob, 'last-resort', 9, rng, NOW),
    olderLastResort: generateKemPrekey(bob, 'last-resort', 10, rng, NOW - 1000),
  };
}

const hex = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : toHex(b));

export function prekeyPoolCompliance(name: string, make: MakeSubject): void {
  describe(`PrekeyPool and ReplayCache compliance: ${name}`, () => {
    let k: Keys;
    let s: StoreSubject;
    before(() => {
      k = makeKeys();
    });
    beforeEach(() => {
      s = make();
      const p = s.store.prekeys;
      p.addSignedPrekey(k.spk);
      p.addOneTimePrekeys(k.opks);
      p.addKemPrekeys([k.kem, k.lastResort]);
    });
    afterEach(() => s.close());
    const pool = () => s.store.prekeys;

    it('looks keys up by id with their private halves; unknown ids are undefined', () => {
      const spk = pool().getSignedPrekey(7);
      assert.deepEqual(spk?.public, k.spk.public);
      assert.equal(hex(spk?.keyPair.privateKey), hex(k.spk.keyPair.privateKey));
      assert.equal(pool().getSignedPrekey(8), undefined);
      const opk = pool().getOneTimePrekey(100);
      assert.deepEqual(opk?.public, k.opks[0]?.public);
      assert.equal(hex(opk?.keyPair.privateKey), hex(k.opks[0]?.keyPair.privateKey));
      const kem = pool().getKemPrekey(8);
      assert.deepEqual(kem?.public, k.kem.public);
      assert.equal(hex(kem?.keyPair.seed), hex(k.kem.keyPair.seed));
      assert.deepEqual(pool().getKemPrekey(9)?.public, k.lastResort.public);
      assert.equal(pool().getKemPrekey(1), undefined);
      assert.equal(pool().getOneTimePrekey(1), undefined);
    });

    it('refuses duplicate ids', () => {
      assert.throws(() => pool().addSignedPrekey(k.spk), { code: 'ALREADY_EXISTS' });
      assert.throws(() => pool().addOneTimePrekeys([k.opks[0] as OneTimePrekeyPair]), { code: 'ALREADY_EXISTS' });
      assert.throws(() => pool().addKemPrekeys([k.kem]), { code: 'ALREADY_EXISTS' });
    });

    it('reserving hands out each one-time key once, then falls back to the newest last-resort KEM key', () => {
      pool().addKemPrekeys([k.olderLastResort]);
      assert.equal(pool().availableOneTimePrekeys(), 2);
      assert.equal(pool().reserveOneTimePrekey()?.id, 100);
      assert.equal(pool().reserveOneTimePrekey()?.id, 101);
      assert.equal(pool().reserveOneTimePrekey(), undefined);
      assert.equal(pool().availableOneTimePrekeys(), 0);
      assert.equal(pool().availableOneTimeKemPrekeys(), 1);
      assert.deepEqual(pool().reserveKemPrekey(), k.kem.public);
      assert.deepEqual(pool().reserveKemPrekey(), k.lastResort.public);
      assert.equal(pool().reserveKemPrekey()?.id, 9);
      assert.equal(pool().availableOneTimeKemPrekeys(), 0);
      // A reserved key stays usable by the responder until it is removed.
      assert.ok(pool().getOneTimePrekey(100));
      assert.ok(pool().getKemPrekey(8));
    });

    it('removal deletes one-time keys only; the last-resort KEM key stays; absent ids are no-ops', () => {
      pool().removeOneTimePrekey(100);
      pool().removeOneTimePrekey(100);
      assert.equal(pool().getOneTimePrekey(100), undefined);
      assert.equal(pool().availableOneTimePrekeys(), 1);
      pool().removeOneTimeKemPrekey(8);
      pool().removeOneTimeKemPrekey(9);
      assert.equal(pool().getKemPrekey(8), undefined);
      assert.deepEqual(pool().getKemPrekey(9)?.public, k.lastResort.public);
    });

    it('a reserved then removed key is no longer counted or handed out', () => {
      assert.equal(pool().reserveOneTimePrekey()?.id, 100);
      pool().removeOneTimePrekey(100);
      assert.equal(pool().availableOneTimePrekeys(), 1);
      assert.equal(pool().reserveOneTimePrekey()?.id, 101);
    });

    it('currentSignedPrekey is the newest by createdAt; removal falls back', () => {
      assert.deepEqual(pool().currentSignedPrekey(), k.spk.public);
      pool().addSignedPrekey(k.newer);
      assert.equal(pool().currentSignedPrekey()?.id, 3);
      pool().removeSignedPrekey(3);
      assert.equal(pool().currentSignedPrekey()?.id, 7);
      pool().removeSignedPrekey(7);
      assert.equal(pool().currentSignedPrekey(), undefined);
    });

    it('replay cache records per signed prekey and forgets with it', () => {
      const c = s.store.replayCache;
      const tag = new Uint8Array(32).fill(1);
      const other = new Uint8Array(32).fill(2);
      assert.equal(c.has(1, tag), false);
      c.add(1, tag, NOW);
      c.add(1, tag, NOW + 1); // again: still one entry
      c.add(2, other, NOW);
      assert.equal(c.has(1, tag), true);
      assert.equal(c.has(2, tag), false);
      c.forgetSignedPrekey(1);
      assert.equal(c.has(1, tag), false);
      assert.equal(c.has(2, other), true);
    });

    it('a session set up through the pool: one-time keys are consumed and a replayed initial message is refused', () => {
      const rng = seededRng(7);
      const bundle = bundleFromPool(k.bob, pool(), NOW);
      assert.ok(bundle);
      const alice = initiateSession(k.alice, bundle, rng);
      const wire = sessionEncrypt(alice, utf8('hello bob'), rng);
      const accepted = s.store.transaction(() => acceptSession(k.bob, pool(), s.store.replayCache, wire, NOW));
      assert.equal(fromUtf8(accepted.plaintext), 'hello bob');
      assert.equal(pool().getOneTimePrekey(100), undefined, 'the used one-time prekey is deleted');
      assert.equal(pool().getKemPrekey(8), undefined, 'the used one-time KEM prekey is deleted');
      assert.throws(() => s.store.transaction(() => acceptSession(k.bob, pool(), s.store.replayCache, wire, NOW)), {
        code: 'REPLAYED_MESSAGE',
      });
    });
  });
}
