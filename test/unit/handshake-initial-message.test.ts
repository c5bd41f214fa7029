import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex } from '../../src/lib/bytes.ts';
import { CompeerError, CryptoError, DecodeError, ErrorCodes, LimitError } from '../../src/lib/errors.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { bundleFromPool } from '../../src/protocol/handshake/bundle.ts';
import {
  decodeInitialMessage,
  encodeInitialMessage,
  INITIAL_MESSAGE_MAX_LENGTH,
  INITIAL_MESSAGE_MIN_LENGTH,
} from '../../src/protocol/handshake/initial-message.ts';
import { initiatePqxdh } from '../../src/protocol/handshake/pqxdh.ts';
import { assertCode, makeParty, NOW, rngFor } from './handshake-fixtures.ts';

const alice = generateIdentity(rngFor('im-alice'));
const bob = makeParty('im-bob', 1, 1);
const b1 = bundleFromPool(bob.identity, bob.pool, NOW); // with OPK 100, one-time KEM 200
const b2 = bundleFromPool(bob.identity, bob.pool, NOW); // no OPK, last-resort KEM 900
assert.ok(b1 && b2);
const withOpk = encodeInitialMessage(initiatePqxdh(alice, b1, rngFor('im-1')).initialMessage);
const withoutOpk = encodeInitialMessage(initiatePqxdh(alice, b2, rngFor('im-2')).initialMessage);

// Offsets (initial-message.ts): version 0, identity 1..130, EK type 130, EK 131..163, flags 163, SPK id 164.
function patched(bytes: Uint8Array, at: number, replacement: ArrayLike<number>): Uint8Array {
  const out = Uint8Array.from(bytes);
  out.set(replacement, at);
  return out;
}

describe('PQXDH initial message codec', () => {
  test('round trip; fixed sizes', () => {
    assert.equal(withOpk.length, INITIAL_MESSAGE_MAX_LENGTH);
    assert.equal(withoutOpk.length, INITIAL_MESSAGE_MIN_LENGTH);
    assert.equal(INITIAL_MESSAGE_MIN_LENGTH, 1260);
    const m = decodeInitialMessage(withOpk);
    assert.equal(m.signedPrekeyId, 1);
    assert.equal(m.oneTimePrekeyId, 100);
    assert.equal(m.kemPrekeyId, 200);
    assert.equal(toHex(encodeInitialMessage(m)), toHex(withOpk));
    const n = decodeInitialMessage(withoutOpk);
    assert.equal(n.oneTimePrekeyId, undefined);
    assert.equal(n.kemPrekeyId, 900);
    assert.equal(toHex(encodeInitialMessage(n)), toHex(withoutOpk));
  });

  test('lengths: oversized is LimitError; other lengths and flag/length mismatches are DecodeError', () => {
    assertCode(() => decodeInitialMessage(new Uint8Array(INITIAL_MESSAGE_MAX_LENGTH + 1)), LimitError, ErrorCodes.LIMIT_EXCEEDED);
    assertCode(() => decodeInitialMessage(new Uint8Array(0)), DecodeError, ErrorCodes.INVALID_LENGTH);
    assertCode(() => decodeInitialMessage(withOpk.subarray(0, 1261)), DecodeError, ErrorCodes.INVALID_LENGTH);
    assertCode(() => decodeInitialMessage(patched(withOpk, 163, [0])), DecodeError, ErrorCodes.INVALID_LENGTH);
    assertCode(() => decodeInitialMessage(patched(withoutOpk, 163, [1])), DecodeError, ErrorCodes.INVALID_LENGTH);
  });

  test('version, unknown flags, wrong key type byte', () => {
    assertCode(() => decodeInitialMessage(patched(withOpk, 0, [2])), DecodeError, ErrorCodes.UNSUPPORTED_VERSION);
    assertCode(() => decodeInitialMessage(patched(withOpk, 163, [3])), DecodeError, ErrorCodes.MALFORMED_MESSAGE);
    assertCode(() => decodeInitialMessage(patched(withOpk, 130, [0x08])), DecodeError, ErrorCodes.MALFORMED_MESSAGE);
  });

  test('small-order or non-canonical ephemeral keys are rejected', () => {
    for (const hex of [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
      'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ]) {
      assert.throws(() => decodeInitialMessage(patched(withOpk, 131, fromHex(hex))), CryptoError, hex);
    }
  });

  test('a forged identity binding is rejected', () => {
    const t = patched(withOpk, 1 + 1 + 32 + 32 + 10, [0x42]);
    assert.throws(() => decodeInitialMessage(t), (e: unknown) => e instanceof CompeerError);
  });
});
