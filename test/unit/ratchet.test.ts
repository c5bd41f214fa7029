/**
 * Double Ratchet with header encryption: conversations, out-of-order delivery within and across DH
 * steps, duplicates, limits (forward jump, total skipped keys, old chains, expiry), typed errors for
 * garbage, and transactional failure (the encoded state is unchanged after every failed decryption).
 * The handshake is a stand-in: random HandshakeSecrets and a responder key pair.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { utf8, fromUtf8, equalBytes } from '../../src/lib/bytes.ts';
import { CompeerError, CryptoError, DecodeError, ProtocolError, type ErrorCode } from '../../src/lib/errors.ts';
import {
  decodeRatchetState,
  encodeRatchetState,
  initRatchetResponder,
  ratchetDecrypt,
  ratchetEncrypt,
  ratchetInfo,
  ratchetPruneExpired,
  type RatchetState,
} from '../../src/protocol/ratchet/index.ts';
import { internal } from '../../src/protocol/ratchet/state.ts';
import {
  RATCHET_MAX_OLD_CHAINS,
  RATCHET_MAX_PLAINTEXT,
  RATCHET_MESSAGE_VERSION,
  RATCHET_MAX_SKIP,
  RATCHET_MAX_SKIPPED_KEYS,
  RATCHET_MESSAGE_OVERHEAD,
  RATCHET_SKIPPED_KEY_MAX_AGE_MS,
} from '../../src/protocol/wire/constants.ts';
import { ratchetPair, type RatchetPair } from './ratchet-fixtures.ts';

const NOW = 1_750_000_000_000;
const DAY = 24 * 3600_000;

type Pair = RatchetPair;

/** Handshake stand-in: random secrets and a responder ratchet key (its "signed prekey"). */
function makePair(label: string): Pair {
  return ratchetPair(`ratchet-unit/${label}`);
}

function send(p: Pair, from: RatchetState, text: string): Uint8Array {
  return ratchetEncrypt(from, utf8(text), p.rng);
}

function recv(to: RatchetState, wire: Uint8Array, now = NOW): string {
  return fromUtf8(ratchetDecrypt(to, wire, now));
}

/** Asserts a typed failure that leaves the encoded state byte-for-byte unchanged. */
function rejects(to: RatchetState, wire: Uint8Array, cls: typeof CompeerError, code: ErrorCode, now = NOW): void {
  const before = encodeRatchetState(to);
  assert.throws(
    () => ratchetDecrypt(to, wire, now),
    (e: unknown) => e instanceof cls && (e as CompeerError).code === code,
  );
  assert.ok(equalBytes(encodeRatchetState(to), before), 'state changed by a failed decryption');
}

describe('ratchet: conversations', () => {
  test('in order, both directions, several DH steps', () => {
    const p = makePair('basic');
    assert.equal(recv(p.bob, send(p, p.alice, 'hello bob')), 'hello bob');
    for (let round = 0; round < 4; round++) {
      assert.equal(recv(p.alice, send(p, p.bob, `b${round}`)), `b${round}`);
      assert.equal(recv(p.alice, send(p, p.bob, `b${round}'`)), `b${round}'`);
      assert.equal(recv(p.bob, send(p, p.alice, `a${round}`)), `a${round}`);
    }
    assert.equal(ratchetInfo(p.bob).skippedKeys, 0);
  });

  test('the responder cannot send before the first message arrives', () => {
    const p = makePair('responder-first');
    assert.equal(ratchetInfo(p.bob).canSend, false);
    assert.throws(() => send(p, p.bob, 'too early'), (e: unknown) => e instanceof ProtocolError && e.code === 'NO_SESSION');
    recv(p.bob, send(p, p.alice, 'hi'));
    assert.equal(ratchetInfo(p.bob).canSend, true);
    assert.equal(ratchetInfo(p.bob).ratchetPending, true);
  });

  test('wire size is plaintext + 85 bytes and shows no ratchet key or counter', () => {
    const p = makePair('wire');
    const w0 = send(p, p.alice, '');
    const w1 = send(p, p.alice, 'x'.repeat(100));
    assert.equal(w0.length, RATCHET_MESSAGE_OVERHEAD);
    assert.equal(w1.length, RATCHET_MESSAGE_OVERHEAD + 100);
    assert.equal(w0[0], RATCHET_MESSAGE_VERSION);
    const own = internal(p.alice).ownKey;
    assert.ok(own !== null);
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    for (const w of [w0, w1]) assert.ok(!hex(w).includes(hex(own.publicKey)), 'ratchet public key visible');
    // Two headers of one chain (N = 0 and N = 1) share no recognisable structure.
    let same = 0;
    for (let i = 1; i < 69; i++) if (w0[i] === w1[i]) same++;
    assert.ok(same < 10, `headers too similar (${same} equal bytes)`);
    assert.equal(recv(p.bob, w1), 'x'.repeat(100));
    assert.equal(recv(p.bob, w0), '');
  });

  test('largest plaintext accepted, one more byte refused', () => {
    const p = makePair('max');
    const big = new Uint8Array(RATCHET_MAX_PLAINTEXT).fill(7);
    assert.ok(equalBytes(ratchetDecrypt(p.bob, ratchetEncrypt(p.alice, big, p.rng), NOW), big));
    assert.throws(
      () => ratchetEncrypt(p.alice, new Uint8Array(RATCHET_MAX_PLAINTEXT + 1), p.rng),
      (e: unknown) => e instanceof DecodeError && e.code === 'INVALID_LENGTH',
    );
  });

  test('different associated data (another identity pair) cannot decrypt', () => {
    const p = makePair('ad');
    const other = initRatchetResponder({ ...p.secrets, associatedData: new Uint8Array(258) }, p.bobKey);
    rejects(other, send(p, p.alice, 'bound to identities'), CryptoError, 'DECRYPT_FAILED');
  });

  test("the responder's signed prekey is used but never wiped", () => {
    const p = makePair('spk');
    const before = Uint8Array.from(p.bobKey.privateKey);
    recv(p.bob, send(p, p.alice, 'hi'));
    recv(p.alice, send(p, p.bob, 'hi back'));
    assert.ok(equalBytes(p.bobKey.privateKey, before));
  });

  test('the state never prints its keys', () => {
    const p = makePair('redact');
    assert.equal(inspect(p.alice), '[RatchetState]');
    assert.equal(JSON.stringify({ s: p.alice }), '{"s":"[RatchetState]"}');
    assert.equal(`${String(p.alice)}`, '[RatchetState]');
  });

  test('a foreign object is refused as a state', () => {
    assert.throws(
      () => ratchetEncrypt({} as RatchetState, utf8('x'), makePair('foreign').rng),
      (e: unknown) => e instanceof CompeerError && e.code === 'INVALID_ARGUMENT',
    );
  });
});

describe('ratchet: out of order and duplicates', () => {
  test('any order within one chain; skipped keys are used up', () => {
    const p = makePair('ooo');
    const w = [0, 1, 2, 3, 4].map((i) => send(p, p.alice, `m${i}`));
    for (const i of [4, 0, 2, 1, 3]) assert.equal(recv(p.bob, w[i] as Uint8Array), `m${i}`);
    assert.equal(ratchetInfo(p.bob).skippedKeys, 0);
    for (const m of w) rejects(p.bob, m, ProtocolError, 'DUPLICATE_MESSAGE');
  });

  test('late messages of a previous chain decrypt after a DH step', () => {
    const p = makePair('across');
    const a = [0, 1, 2].map((i) => send(p, p.alice, `a${i}`));
    assert.equal(recv(p.bob, a[0] as Uint8Array), 'a0');
    assert.equal(recv(p.alice, send(p, p.bob, 'b0')), 'b0');
    const a3 = send(p, p.alice, 'a3'); // new chain, PN = 3: Bob stores keys for a1, a2
    assert.equal(recv(p.bob, a3), 'a3');
    assert.equal(ratchetInfo(p.bob).skippedKeys, 2);
    assert.equal(recv(p.bob, a[2] as Uint8Array), 'a2');
    assert.equal(recv(p.bob, a[1] as Uint8Array), 'a1');
    assert.equal(ratchetInfo(p.bob).skippedKeys, 0);
    for (const m of [...a, a3]) rejects(p.bob, m, ProtocolError, 'DUPLICATE_MESSAGE');
  });

  test('the first message of a new chain arriving after later ones', () => {
    const p = makePair('new-chain-late');
    recv(p.bob, send(p, p.alice, 'a0'));
    const b = [0, 1, 2].map((i) => send(p, p.bob, `b${i}`));
    assert.equal(recv(p.alice, b[2] as Uint8Array), 'b2');
    assert.equal(recv(p.alice, b[0] as Uint8Array), 'b0');
    assert.equal(recv(p.alice, b[1] as Uint8Array), 'b1');
    rejects(p.alice, b[0] as Uint8Array, ProtocolError, 'DUPLICATE_MESSAGE');
  });

  test('the initiator sends many before any reply; the responder replies after the last only', () => {
    const p = makePair('burst');
    const a = Array.from({ length: 20 }, (_, i) => send(p, p.alice, `a${i}`));
    assert.equal(recv(p.bob, a[19] as Uint8Array), 'a19');
    assert.equal(recv(p.alice, send(p, p.bob, 'b')), 'b');
    for (let i = 0; i < 19; i++) assert.equal(recv(p.bob, a[i] as Uint8Array), `a${i}`);
  });
});

describe('ratchet: a state restored from a backup', () => {
  test('sending again from a restored state repeats no key and nonce: the two bodies do not XOR to the two plaintexts', () => {
    const p = makePair('rollback');
    recv(p.bob, send(p, p.alice, 'a0'));
    recv(p.alice, send(p, p.bob, 'b0'));
    recv(p.bob, send(p, p.alice, 'a1')); // Alice's DH step done: her sending chain is active in the backup
    const backup = encodeRatchetState(p.alice);
    const first = send(p, p.alice, 'attack at dawn');
    const restored = decodeRatchetState(backup);
    const second = send(p, restored, 'retreat at six'); // same length, same chain position: the same MK
    const body = (w: Uint8Array): Uint8Array => w.subarray(RATCHET_MESSAGE_OVERHEAD - 16, w.length - 16);
    const xor = (a: Uint8Array, b: Uint8Array): Uint8Array => a.map((x, i) => x ^ (b[i] as number));
    assert.ok(!equalBytes(first.subarray(1, 13), second.subarray(1, 13)), 'a new nonce');
    assert.ok(!equalBytes(xor(body(first), body(second)), xor(utf8('attack at dawn'), utf8('retreat at six'))), 'no repeated keystream');
    // The receiver has used that chain position: the restored sender's message is refused, typed, and
    // the session recovers at the next exchange (the restored side's DH step starts a chain Bob lacks).
    assert.equal(recv(p.bob, first), 'attack at dawn');
    rejects(p.bob, second, ProtocolError, 'DUPLICATE_MESSAGE');
    assert.equal(recv(restored, send(p, p.bob, 'b1')), 'b1');
    assert.equal(recv(p.bob, send(p, restored, 'after the restore')), 'after the restore');
  });
});

describe('ratchet: limits', () => {
  test(`a jump of ${RATCHET_MAX_SKIP} keys is accepted, one more is TOO_MANY_SKIPPED`, () => {
    const p = makePair('jump');
    const w = Array.from({ length: RATCHET_MAX_SKIP + 2 }, (_, i) => send(p, p.alice, `m${i}`));
    rejects(p.bob, w[RATCHET_MAX_SKIP + 1] as Uint8Array, ProtocolError, 'TOO_MANY_SKIPPED');
    assert.equal(recv(p.bob, w[RATCHET_MAX_SKIP] as Uint8Array), `m${RATCHET_MAX_SKIP}`);
    assert.equal(ratchetInfo(p.bob).skippedKeys, RATCHET_MAX_SKIP);
    assert.equal(recv(p.bob, w[RATCHET_MAX_SKIP + 1] as Uint8Array), `m${RATCHET_MAX_SKIP + 1}`);
  });

  for (const lost of [RATCHET_MAX_SKIP, RATCHET_MAX_SKIP + 1]) {
    test(`a new chain whose previous chain left ${lost} keys to skip`, () => {
      const p = makePair(`jump-pn-${lost}`);
      recv(p.bob, send(p, p.alice, 'a0'));
      recv(p.alice, send(p, p.bob, 'b0')); // Alice: Bob's chain, Nr = 1
      for (let i = 0; i < lost; i++) send(p, p.bob, 'lost');
      recv(p.bob, send(p, p.alice, 'a1')); // Alice's new chain lets Bob start one too
      const w = send(p, p.bob, 'new chain'); // PN = lost + 1
      if (lost > RATCHET_MAX_SKIP) {
        rejects(p.alice, w, ProtocolError, 'TOO_MANY_SKIPPED');
      } else {
        assert.equal(recv(p.alice, w), 'new chain');
        assert.equal(ratchetInfo(p.alice).skippedKeys, lost);
      }
    });

    test(`the first message seen of a new chain numbered ${lost}`, () => {
      const p = makePair(`jump-n-${lost}`);
      recv(p.bob, send(p, p.alice, 'a0'));
      for (let i = 0; i < lost; i++) send(p, p.bob, 'lost');
      const w = send(p, p.bob, 'late start'); // N = lost in a chain Alice has not seen yet
      if (lost > RATCHET_MAX_SKIP) {
        rejects(p.alice, w, ProtocolError, 'TOO_MANY_SKIPPED');
      } else {
        assert.equal(recv(p.alice, w), 'late start');
      }
    });
  }

  test('total skipped keys are capped; the oldest are evicted and report MESSAGE_EXPIRED', () => {
    const p = makePair('cap');
    const perChain = RATCHET_MAX_SKIP;
    const chains = Math.ceil(RATCHET_MAX_SKIPPED_KEYS / perChain) + 1;
    const firsts: Uint8Array[] = [];
    for (let c = 0; c < chains; c++) {
      const w = Array.from({ length: perChain + 1 }, (_, i) => send(p, p.alice, `c${c}m${i}`));
      firsts.push(w[0] as Uint8Array);
      recv(p.bob, w[perChain] as Uint8Array); // skips perChain keys
      recv(p.alice, send(p, p.bob, `ack${c}`)); // DH step so Alice starts a new chain
      assert.ok(ratchetInfo(p.bob).skippedKeys <= RATCHET_MAX_SKIPPED_KEYS);
    }
    assert.equal(ratchetInfo(p.bob).skippedKeys, RATCHET_MAX_SKIPPED_KEYS);
    rejects(p.bob, firsts[0] as Uint8Array, ProtocolError, 'MESSAGE_EXPIRED');
    assert.equal(recv(p.bob, firsts[chains - 1] as Uint8Array), `c${chains - 1}m0`);
  });

  test(`only ${RATCHET_MAX_OLD_CHAINS} finished chains are kept`, () => {
    const p = makePair('old-chains');
    const late = send(p, p.alice, 'late');
    const dup = send(p, p.alice, 'dup');
    recv(p.bob, dup); // stores the key of 'late' in Alice's first chain
    for (let i = 0; i < RATCHET_MAX_OLD_CHAINS; i++) {
      recv(p.alice, send(p, p.bob, `b${i}`));
      recv(p.bob, send(p, p.alice, `a${i}`));
    }
    assert.equal(ratchetInfo(p.bob).oldChains, RATCHET_MAX_OLD_CHAINS);
    rejects(p.bob, dup, ProtocolError, 'DUPLICATE_MESSAGE'); // first chain still kept
    recv(p.alice, send(p, p.bob, 'one more'));
    recv(p.bob, send(p, p.alice, 'one more'));
    assert.equal(ratchetInfo(p.bob).oldChains, RATCHET_MAX_OLD_CHAINS);
    // The first chain, with the skipped key of 'late', is gone: its messages no longer open.
    assert.equal(ratchetInfo(p.bob).skippedKeys, 0);
    rejects(p.bob, late, CryptoError, 'DECRYPT_FAILED');
    rejects(p.bob, dup, CryptoError, 'DECRYPT_FAILED');
  });

  test('skipped keys expire by age; pruning deletes them; the error stays MESSAGE_EXPIRED', () => {
    const p = makePair('expiry');
    const w = [0, 1, 2, 3].map((i) => send(p, p.alice, `m${i}`));
    recv(p.bob, w[3] as Uint8Array, NOW);
    const later = NOW + RATCHET_SKIPPED_KEY_MAX_AGE_MS;
    assert.equal(recv(p.bob, w[0] as Uint8Array, later), 'm0'); // exactly at the limit: still valid
    rejects(p.bob, w[1] as Uint8Array, ProtocolError, 'MESSAGE_EXPIRED', later + 1);
    assert.equal(ratchetPruneExpired(p.bob, later + 1), 2);
    assert.equal(ratchetInfo(p.bob).skippedKeys, 0);
    rejects(p.bob, w[2] as Uint8Array, ProtocolError, 'MESSAGE_EXPIRED', later + 1);
    rejects(p.bob, w[3] as Uint8Array, ProtocolError, 'DUPLICATE_MESSAGE', later + 1);
  });

  test('a successful decryption prunes expired keys as a side effect', () => {
    const p = makePair('expiry-2');
    const w = [0, 1, 2].map((i) => send(p, p.alice, `m${i}`));
    recv(p.bob, w[1] as Uint8Array, NOW);
    assert.equal(ratchetInfo(p.bob).skippedKeys, 1);
    recv(p.bob, w[2] as Uint8Array, NOW + 40 * DAY);
    assert.equal(ratchetInfo(p.bob).skippedKeys, 0);
    rejects(p.bob, w[0] as Uint8Array, ProtocolError, 'MESSAGE_EXPIRED', NOW + 40 * DAY);
  });
});

describe('ratchet: bad input', () => {
  test('short, oversized, wrong version, random', () => {
    const p = makePair('garbage');
    const good = send(p, p.alice, 'good');
    rejects(p.bob, new Uint8Array(0), DecodeError, 'MALFORMED_MESSAGE');
    rejects(p.bob, good.subarray(0, RATCHET_MESSAGE_OVERHEAD - 1), DecodeError, 'MALFORMED_MESSAGE');
    for (const version of [0x01, 0x02, 0x04]) {
      const other = Uint8Array.from(good);
      other[0] = version; // 0x01, 0x02: the formats before the body key, then the random nonce
      rejects(p.bob, other, DecodeError, 'UNSUPPORTED_VERSION');
    }
    const huge = new Uint8Array(RATCHET_MESSAGE_OVERHEAD + RATCHET_MAX_PLAINTEXT + 1);
    huge[0] = RATCHET_MESSAGE_VERSION;
    rejects(p.bob, huge, DecodeError, 'INVALID_LENGTH');
    const random = p.rng.bytes(200);
    random[0] = RATCHET_MESSAGE_VERSION;
    rejects(p.bob, random, CryptoError, 'DECRYPT_FAILED');
    assert.throws(() => ratchetDecrypt(p.bob, good, -1), (e: unknown) => e instanceof CompeerError && e.code === 'INVALID_ARGUMENT');
    assert.equal(recv(p.bob, good), 'good');
  });

  test('a tampered body fails, the state is unchanged, the original still decrypts', () => {
    const p = makePair('tamper-body');
    recv(p.bob, send(p, p.alice, 'first'));
    const w = send(p, p.bob, 'reply'); // starts a new chain at Alice: the DH step must roll back too
    const bad = Uint8Array.from(w);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
    rejects(p.alice, bad, CryptoError, 'DECRYPT_FAILED');
    assert.equal(recv(p.alice, w), 'reply');
  });
});
