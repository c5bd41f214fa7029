/**
 * SAS verification: both sides agree; a man in the middle cannot make the two SAS match by substituting
 * nonces; out-of-order, malformed and mis-committed messages end the verification with typed errors.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { systemRng } from '../../src/lib/system.ts';
import type { Rng } from '../../src/lib/deps.ts';
import { DecodeError, ProtocolError } from '../../src/lib/errors.ts';
import { equalBytes } from '../../src/lib/bytes.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import {
  SasVerification,
  decodeSasMessage,
  deriveSasBytes,
  encodeSasMessage,
  sasCommitment,
  type SasContext,
} from '../../src/protocol/verify/sas.ts';
import { SAS_EMOJI_TABLE, sasDecimal, sasEmoji, formatSasDecimal } from '../../src/protocol/verify/sas-render.ts';
import { SAS_MSG_COMMIT, SAS_MSG_NONCE, SAS_MSG_REVEAL } from '../../src/protocol/wire/constants.ts';

const alice = generateIdentity(systemRng).public;
const bob = generateIdentity(systemRng).public;
const mallory = generateIdentity(systemRng).public;
const transcript = systemRng.bytes(32);

const ctxA: SasContext = { self: alice, peer: bob, transcriptHash: transcript };
const ctxB: SasContext = { self: bob, peer: alice, transcriptHash: transcript };

function fixedRng(...chunks: Uint8Array[]): Rng {
  return {
    system: false,
    bytes(n: number): Uint8Array {
      const c = chunks.shift();
      assert.ok(c && c.length === n, 'fixedRng: unexpected draw');
      return c;
    },
  };
}

const isCode = (cls: typeof DecodeError | typeof ProtocolError, code: string) => (e: unknown) =>
  e instanceof cls && e.code === code;

function run(a: SasContext, b: SasContext): { A: SasVerification; B: SasVerification } {
  const { verification: A, message: commit } = SasVerification.initiate(a, systemRng);
  const B = SasVerification.respond(b, systemRng);
  assert.equal(A.phase, 'awaiting-nonce');
  assert.equal(B.phase, 'awaiting-commit');
  const nonce = B.receive(commit);
  assert.ok(nonce);
  assert.equal(B.phase, 'awaiting-reveal');
  const reveal = A.receive(nonce);
  assert.ok(reveal);
  assert.equal(A.phase, 'done');
  assert.equal(B.receive(reveal), undefined);
  assert.equal(B.phase, 'done');
  return { A, B };
}

describe('SAS happy path', () => {
  test('both sides show the same 7 emoji and the same 3 numbers', () => {
    const { A, B } = run(ctxA, ctxB);
    assert.ok(A.result && B.result);
    assert.deepEqual(A.result.bytes, B.result.bytes);
    assert.equal(A.result.emoji.length, 7);
    assert.deepEqual(A.result.emoji, B.result.emoji);
    assert.deepEqual(A.result.decimal, B.result.decimal);
    for (const n of A.result.decimal) assert.ok(n >= 1000 && n <= 9191);
    assert.match(formatSasDecimal(A.result.decimal), /^\d{4}-\d{4}-\d{4}$/);
  });

  test('fresh nonces give a fresh SAS each run', () => {
    const r1 = run(ctxA, ctxB).A.result;
    const r2 = run(ctxA, ctxB).A.result;
    assert.ok(r1 && r2);
    assert.notDeepEqual(r1.bytes, r2.bytes);
  });

  test('the derivation is symmetric in the two identities and bound to the transcript', () => {
    const nA = systemRng.bytes(32);
    const nB = systemRng.bytes(32);
    const s = deriveSasBytes(nA, nB, transcript, alice, bob);
    assert.deepEqual(deriveSasBytes(nA, nB, transcript, bob, alice), s);
    assert.notDeepEqual(deriveSasBytes(nA, nB, systemRng.bytes(32), alice, bob), s);
    assert.notDeepEqual(deriveSasBytes(nA, nB, transcript, alice, mallory), s);
    assert.notDeepEqual(deriveSasBytes(nB, nA, transcript, alice, bob), s, 'nonce roles are not interchangeable');
  });
});

describe('SAS against a man in the middle', () => {
  test('a nonceB substituted after the commitment changes the initiator\'s SAS', () => {
    const { verification: A, message: commit } = SasVerification.initiate(ctxA, systemRng);
    const B = SasVerification.respond(ctxB, systemRng);
    const nonce = B.receive(commit);
    assert.ok(nonce);
    const forged = encodeSasMessage({ type: SAS_MSG_NONCE, value: systemRng.bytes(32) });
    const reveal = A.receive(forged);
    assert.ok(reveal);
    B.receive(reveal); // the real nonceA opens the commitment, so B completes...
    assert.ok(A.result && B.result);
    assert.equal(equalBytes(A.result.bytes, B.result.bytes), false); // ...but the people see different SAS
  });

  test('a reveal that does not open the commitment is rejected and ends the verification', () => {
    const { message: commit } = SasVerification.initiate(ctxA, systemRng);
    const B = SasVerification.respond(ctxB, systemRng);
    B.receive(commit);
    const fakeReveal = encodeSasMessage({ type: SAS_MSG_REVEAL, value: systemRng.bytes(32) });
    assert.throws(() => B.receive(fakeReveal), isCode(ProtocolError, 'COMMITMENT_MISMATCH'));
    assert.equal(B.phase, 'failed');
    assert.equal(B.result, undefined);
  });

  test('Mallory between two sessions: relaying the commitment fails; committing her own gives one blind try', () => {
    // Alice's session is with Mallory (transcript t1), Bob's with Mallory (t2); both think they talk to each other.
    const t1 = systemRng.bytes(32);
    const t2 = systemRng.bytes(32);
    const A = SasVerification.initiate({ self: alice, peer: bob, transcriptHash: t1 }, systemRng);
    // (a) relaying Alice's commitment and reveal to Bob: the commitment binds t1, so Bob rejects the reveal.
    const B1 = SasVerification.respond({ self: bob, peer: alice, transcriptHash: t2 }, systemRng);
    const nB1 = B1.receive(A.message);
    assert.ok(nB1);
    const revealA = A.verification.receive(nB1);
    assert.ok(revealA);
    assert.throws(() => B1.receive(revealA), isCode(ProtocolError, 'COMMITMENT_MISMATCH'));
    // (b) Mallory commits to her own nonce towards Bob before Bob's nonce exists; Alice's nonceA is revealed
    // only after Mallory fixed the nonce she sent to Alice. Neither choice can be adapted to the other side.
    const A2 = SasVerification.initiate({ self: alice, peer: bob, transcriptHash: t1 }, systemRng);
    const nonceM = systemRng.bytes(32);
    const commitM = sasCommitment(nonceM, t2, alice);
    const B2 = SasVerification.respond({ self: bob, peer: alice, transcriptHash: t2 }, systemRng);
    const nB2 = B2.receive(encodeSasMessage({ type: SAS_MSG_COMMIT, value: commitM }));
    assert.ok(nB2);
    const reveal2 = A2.verification.receive(nB2); // Mallory forwards Bob's nonce (her best blind choice)
    assert.ok(reveal2);
    B2.receive(encodeSasMessage({ type: SAS_MSG_REVEAL, value: nonceM }));
    assert.ok(A2.verification.result && B2.result);
    assert.equal(equalBytes(A2.verification.result.bytes, B2.result.bytes), false);
  });
});

describe('SAS errors', () => {
  test('out-of-order messages are UNEXPECTED_MESSAGE and end the verification', () => {
    const { verification: A, message: commit } = SasVerification.initiate(ctxA, systemRng);
    assert.throws(() => A.receive(commit), isCode(ProtocolError, 'UNEXPECTED_MESSAGE'));
    assert.equal(A.phase, 'failed');
    assert.throws(() => A.receive(commit), isCode(ProtocolError, 'UNEXPECTED_MESSAGE'));

    for (const type of [SAS_MSG_NONCE, SAS_MSG_REVEAL] as const) {
      const B = SasVerification.respond(ctxB, systemRng);
      assert.throws(() => B.receive(encodeSasMessage({ type, value: new Uint8Array(32) })), isCode(ProtocolError, 'UNEXPECTED_MESSAGE'));
      assert.equal(B.phase, 'failed');
    }

    const B = SasVerification.respond(ctxB, systemRng);
    B.receive(commit);
    assert.throws(() => B.receive(commit), isCode(ProtocolError, 'UNEXPECTED_MESSAGE'), 'a second commitment is refused');
    assert.equal(B.phase, 'failed');
  });

  test('nothing is accepted once done', () => {
    const { A, B } = run(ctxA, ctxB);
    const any = encodeSasMessage({ type: SAS_MSG_NONCE, value: new Uint8Array(32) });
    assert.throws(() => A.receive(any), isCode(ProtocolError, 'UNEXPECTED_MESSAGE'));
    assert.throws(() => B.receive(any), isCode(ProtocolError, 'UNEXPECTED_MESSAGE'));
  });

  test('malformed messages: length, version, type', () => {
    const good = encodeSasMessage({ type: SAS_MSG_COMMIT, value: new Uint8Array(32) });
    assert.throws(() => decodeSasMessage(good.subarray(0, 33)), isCode(DecodeError, 'INVALID_LENGTH'));
    assert.throws(() => decodeSasMessage(new Uint8Array([...good, 0])), isCode(DecodeError, 'INVALID_LENGTH'));
    assert.throws(() => decodeSasMessage(new Uint8Array(0)), isCode(DecodeError, 'INVALID_LENGTH'));
    assert.throws(() => decodeSasMessage(Uint8Array.from([2, ...good.subarray(1)])), isCode(DecodeError, 'UNSUPPORTED_VERSION'));
    for (const t of [0, 4, 255]) {
      assert.throws(() => decodeSasMessage(Uint8Array.from([1, t, ...good.subarray(2)])), isCode(DecodeError, 'MALFORMED_MESSAGE'));
    }
    const B = SasVerification.respond(ctxB, systemRng);
    assert.throws(() => B.receive(good.subarray(0, 10)), DecodeError);
    assert.equal(B.phase, 'failed');
  });

  test('wrong lengths of inputs are typed errors', () => {
    assert.throws(() => SasVerification.respond({ ...ctxB, transcriptHash: new Uint8Array(31) }, systemRng), isCode(DecodeError, 'INVALID_LENGTH'));
    assert.throws(() => sasCommitment(new Uint8Array(31), transcript, alice), isCode(DecodeError, 'INVALID_LENGTH'));
    assert.throws(() => deriveSasBytes(new Uint8Array(32), new Uint8Array(33), transcript, alice, bob), isCode(DecodeError, 'INVALID_LENGTH'));
    assert.throws(() => sasEmoji(new Uint8Array(5)), isCode(DecodeError, 'INVALID_LENGTH'));
  });

  test('cancel ends the verification', () => {
    const { verification: A } = SasVerification.initiate(ctxA, systemRng);
    A.cancel();
    assert.equal(A.phase, 'failed');
  });

  test('the responder draws nonceB only from its rng, once', () => {
    const nB = new Uint8Array(32).fill(7);
    const { message } = SasVerification.initiate(ctxA, systemRng);
    const B = SasVerification.respond(ctxB, fixedRng(nB));
    const reply = B.receive(message);
    assert.ok(reply);
    assert.deepEqual(decodeSasMessage(reply).value, nB);
  });
});

describe('SAS rendering (Matrix)', () => {
  test('table: 64 distinct emoji and names', () => {
    assert.equal(SAS_EMOJI_TABLE.length, 64);
    assert.equal(new Set(SAS_EMOJI_TABLE.map((e) => e.emoji)).size, 64);
    assert.equal(new Set(SAS_EMOJI_TABLE.map((e) => e.name)).size, 64);
    assert.equal(SAS_EMOJI_TABLE[0]?.name, 'Dog');
    assert.equal(SAS_EMOJI_TABLE[63]?.name, 'Pin');
  });

  test('bit slicing: zeros, ones, and a walking pattern', () => {
    assert.deepEqual(sasEmoji(new Uint8Array(6)).map((e) => e.index), [0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(sasDecimal(new Uint8Array(6)), [1000, 1000, 1000]);
    assert.deepEqual(sasEmoji(new Uint8Array(6).fill(0xff)).map((e) => e.index), [63, 63, 63, 63, 63, 63, 63]);
    assert.deepEqual(sasDecimal(new Uint8Array(6).fill(0xff)), [9191, 9191, 9191]);
    // 000001 000010 000011 000100 000101 000110 000111 | 000000 → bytes 04 20 c4 14 61 c0
    const b = Uint8Array.from([0x04, 0x20, 0xc4, 0x14, 0x61, 0xc0]);
    assert.deepEqual(sasEmoji(b).map((e) => e.index), [1, 2, 3, 4, 5, 6, 7]);
    // 13-bit groups of 0420c41461 (first 39 bits): 0000010000100 0001100010000 0101000110000 → 132, 784, 2608
    assert.deepEqual(sasDecimal(b), [1132, 1784, 3608]);
  });
});
