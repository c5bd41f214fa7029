/**
 * Security properties of the ratchet as tests: forward secrecy (a later state cannot decrypt earlier
 * messages and holds none of the earlier keys), post-compromise recovery (a stolen state stops
 * decrypting after one DH round trip), every single-byte tamper rejected with the state unchanged,
 * reflected messages refused, and headers that only the peer could have written but that contradict
 * the chain (wrong ratchet key, counters past a chain's end) refused as MALFORMED_MESSAGE.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { equalBytes, toHex, utf8 } from '../../src/lib/bytes.ts';
import type { Rng } from '../../src/lib/deps.ts';
import { generateX25519 } from '../../src/crypto/x25519.ts';
import { CompeerError, CryptoError, DecodeError, type ErrorCode } from '../../src/lib/errors.ts';
import {
  decodeRatchetState,
  encodeRatchetState,
  ratchetDecrypt,
  ratchetEncrypt,
  type RatchetState,
} from '../../src/protocol/ratchet/index.ts';
import { internal } from '../../src/protocol/ratchet/state.ts';
import { writeMessagePrefix, MESSAGE_PREFIX_LENGTH } from '../../src/protocol/ratchet/message.ts';
import type { HeaderKey } from '../../src/protocol/ratchet/kdf.ts';
import { ratchetPair, type RatchetPair } from './ratchet-fixtures.ts';

const NOW = 1_750_000_000_000;

function makePair(label: string): RatchetPair {
  return ratchetPair(`ratchet-security/${label}`);
}

const clone = (s: RatchetState): RatchetState => decodeRatchetState(encodeRatchetState(s));
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function fails(s: RatchetState, wire: Uint8Array, check: (e: CompeerError) => boolean): void {
  const before = encodeRatchetState(s);
  assert.throws(() => ratchetDecrypt(s, wire, NOW), (e: unknown) => e instanceof CompeerError && check(e));
  assert.ok(equalBytes(encodeRatchetState(s), before), 'state changed by a failed decryption');
}

const isCode = (code: ErrorCode) => (e: CompeerError): boolean => e.code === code;

/** The secret 32-byte values a state holds, except header keys (kept on purpose for old chains). */
function secretsOf(s: RatchetState): Uint8Array[] {
  const st = internal(s);
  const out: Uint8Array[] = [st.rootKey];
  if (st.sendChainKey) out.push(st.sendChainKey);
  if (st.ownKey) out.push(st.ownKey.privateKey);
  for (const c of [...st.old, ...(st.current ? [st.current] : [])]) {
    if (c.chainKey) out.push(c.chainKey);
    for (const e of c.skipped.values()) out.push(e.key);
  }
  return out.map((k) => Uint8Array.from(k));
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return toHex(haystack).includes(toHex(needle));
}

describe('ratchet security: forward secrecy', () => {
  test('a later state cannot decrypt earlier messages, within a chain and across DH steps', () => {
    const p = makePair('fs');
    const early = [0, 1, 2].map((i) => ratchetEncrypt(p.alice, utf8(`a${i}`), p.rng));
    for (const w of early) ratchetDecrypt(p.bob, w, NOW);
    const sameChain = clone(p.bob);
    for (const w of early) fails(sameChain, w, isCode('DUPLICATE_MESSAGE'));
    for (let i = 0; i < 7; i++) {
      ratchetDecrypt(p.alice, ratchetEncrypt(p.bob, utf8('b'), p.rng), NOW);
      ratchetDecrypt(p.bob, ratchetEncrypt(p.alice, utf8('a'), p.rng), NOW);
    }
    const later = clone(p.bob);
    // Old chains are dropped after a while: then even the header no longer opens.
    for (const w of early) fails(later, w, isCode('DECRYPT_FAILED'));
  });

  test('used message keys, old chain keys, root keys and ratchet private keys are gone from the state', () => {
    const p = makePair('fs-keys');
    const w = [0, 1, 2].map((i) => ratchetEncrypt(p.alice, utf8(`a${i}`), p.rng));
    ratchetDecrypt(p.bob, w[2] as Uint8Array, NOW); // keys of a0 and a1 are stored as skipped
    const earlier = secretsOf(p.bob);
    const skippedKey = Uint8Array.from(internal(p.bob).current?.skipped.get(0)?.key ?? new Uint8Array(0));
    assert.equal(skippedKey.length, 32);
    assert.ok(contains(encodeRatchetState(p.bob), skippedKey));
    ratchetDecrypt(p.bob, w[0] as Uint8Array, NOW);
    assert.ok(!contains(encodeRatchetState(p.bob), skippedKey), 'a used skipped key is still stored');
    ratchetDecrypt(p.bob, w[1] as Uint8Array, NOW);
    // One DH round trip: every secret of the earlier state is replaced.
    ratchetDecrypt(p.alice, ratchetEncrypt(p.bob, utf8('b'), p.rng), NOW);
    ratchetDecrypt(p.bob, ratchetEncrypt(p.alice, utf8('a3'), p.rng), NOW);
    const now = encodeRatchetState(p.bob);
    for (const k of earlier) assert.ok(!contains(now, k), 'an earlier secret survived a DH round trip');
  });
});

describe('ratchet security: post-compromise recovery', () => {
  for (const victim of ['bob', 'alice'] as const) {
    test(`a stolen copy of ${victim}'s state stops decrypting after one DH round trip`, () => {
      const p = makePair(`pcs-${victim}`);
      ratchetDecrypt(p.bob, ratchetEncrypt(p.alice, utf8('hello'), p.rng), NOW);
      ratchetDecrypt(p.alice, ratchetEncrypt(p.bob, utf8('hi'), p.rng), NOW);
      const [me, peer] = victim === 'bob' ? [p.bob, p.alice] : [p.alice, p.bob];
      // The peer sends once so the victim's current receiving chain is the peer's current sending chain.
      ratchetDecrypt(me, ratchetEncrypt(peer, utf8('before theft'), p.rng), NOW);
      const stolen = clone(me);
      // While the peer keeps sending on the same chain, the thief reads along (the compromise is real).
      const same = ratchetEncrypt(peer, utf8('still readable'), p.rng);
      assert.equal(text(ratchetDecrypt(stolen, same, NOW)), 'still readable');
      ratchetDecrypt(me, same, NOW);
      // One DH round trip: the victim sends with a new ratchet key, the peer answers on a new chain.
      ratchetDecrypt(peer, ratchetEncrypt(me, utf8('fresh key'), p.rng), NOW);
      const healed = [0, 1].map((i) => ratchetEncrypt(peer, utf8(`healed ${i}`), p.rng));
      for (const w of healed) {
        fails(stolen, w, isCode('DECRYPT_FAILED'));
        assert.match(text(ratchetDecrypt(me, w, NOW)), /^healed/);
      }
    });
  }
});

describe('ratchet security: tampering and forgery', () => {
  test('every single-byte change and every truncation of a message is rejected; the state never changes', () => {
    const p = makePair('tamper');
    ratchetDecrypt(p.bob, ratchetEncrypt(p.alice, utf8('first'), p.rng), NOW);
    const chainMsg = ratchetEncrypt(p.alice, utf8('same chain message'), p.rng); // under HKr at Bob
    const newChainMsg = ratchetEncrypt(p.bob, utf8('new chain message'), p.rng); // under NHKr at Alice
    for (const [to, wire] of [
      [p.bob, chainMsg],
      [p.alice, newChainMsg],
    ] as const) {
      for (let i = 0; i < wire.length; i++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const bad = Uint8Array.from(wire);
          bad[i] = (bad[i] as number) ^ mask;
          fails(to, bad, (e) =>
            i === 0 ? e instanceof DecodeError && e.code === 'UNSUPPORTED_VERSION' : e instanceof CryptoError && e.code === 'DECRYPT_FAILED',
          );
        }
      }
      for (let len = 0; len < wire.length; len++) {
        fails(to, wire.subarray(0, len), (e) => e instanceof DecodeError || (e instanceof CryptoError && e.code === 'DECRYPT_FAILED'));
      }
      fails(to, Uint8Array.of(...wire, 0), (e) => e instanceof CryptoError && e.code === 'DECRYPT_FAILED');
    }
    assert.equal(text(ratchetDecrypt(p.bob, chainMsg, NOW)), 'same chain message');
    assert.equal(text(ratchetDecrypt(p.alice, newChainMsg, NOW)), 'new chain message');
  });

  test('a message reflected back to its sender is refused', () => {
    const p = makePair('reflect');
    const w = ratchetEncrypt(p.alice, utf8('to bob'), p.rng);
    fails(p.alice, w, isCode('DECRYPT_FAILED'));
    ratchetDecrypt(p.bob, w, NOW);
    const r = ratchetEncrypt(p.bob, utf8('to alice'), p.rng);
    fails(p.bob, r, isCode('DECRYPT_FAILED'));
  });

  /** A message whose header the holder of `hk` wrote with arbitrary fields (only the peer holds hk). */
  function forge(rng: Rng, hk: HeaderKey, dh: Uint8Array, pn: number, n: number): Uint8Array {
    const out = new Uint8Array(MESSAGE_PREFIX_LENGTH + 32);
    writeMessagePrefix(out, hk, rng.bytes(12), dh, pn, n);
    out.set(rng.bytes(32), MESSAGE_PREFIX_LENGTH);
    return out;
  }

  test('headers that contradict their chain are MALFORMED_MESSAGE (before any DH or state change)', () => {
    const p = makePair('forge');
    const w = [0, 1, 2].map((i) => ratchetEncrypt(p.alice, utf8(`a${i}`), p.rng));
    // Before any chain: a first message announcing a previous chain.
    const bobInit = internal(p.bob);
    const alicePub = internal(p.alice).ownKey?.publicKey ?? new Uint8Array(32);
    fails(p.bob, forge(p.rng, bobInit.nextRecvHeaderKey, alicePub, 3, 0), isCode('MALFORMED_MESSAGE'));
    for (const m of w) ratchetDecrypt(p.bob, m, NOW);
    const st = internal(p.bob);
    const hkr = st.current?.headerKey as HeaderKey;
    // Under HKr, but with another ratchet key than the chain's.
    fails(p.bob, forge(p.rng, hkr, generateX25519(p.rng).publicKey, 0, 5), isCode('MALFORMED_MESSAGE'));
    // Bob replies, Alice answers on a new chain: Bob's first chain is now old, of length 3.
    ratchetDecrypt(p.alice, ratchetEncrypt(p.bob, utf8('b'), p.rng), NOW);
    const nhkr = internal(p.bob).nextRecvHeaderKey;
    // Under NHKr, announcing a previous chain shorter than what Bob already received.
    fails(p.bob, forge(p.rng, nhkr, generateX25519(p.rng).publicKey, 2, 0), isCode('MALFORMED_MESSAGE'));
    // Under NHKr, with a small-order ratchet key.
    fails(p.bob, forge(p.rng, nhkr, new Uint8Array(32), 3, 0), (e) => e instanceof CryptoError && (e.code === 'WEAK_KEY' || e.code === 'INVALID_KEY'));
    ratchetDecrypt(p.bob, ratchetEncrypt(p.alice, utf8('a3'), p.rng), NOW);
    // Under the old chain's header key, numbered at or past its announced length.
    fails(p.bob, forge(p.rng, hkr, alicePub, 0, 3), isCode('MALFORMED_MESSAGE'));
    fails(p.bob, forge(p.rng, hkr, alicePub, 0, 2), isCode('DUPLICATE_MESSAGE'));
  });
});
