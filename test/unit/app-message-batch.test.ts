import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { code } from './throws.ts';
import { decodeMsgBatch, encodeMsgBatch, MSG_BATCH_MAX, MSG_BATCH_MAX_BYTES } from '../../src/protocol/wire/msg-batch.ts';


const env = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill).fill(1, 0, 1); // starts with SEALED_VERSION

describe('msg batch (the /compeer/msg/1 request)', () => {
  test('one envelope is sent as is; several are framed; round trip', () => {
    const one = env(450, 3);
    assert.equal(encodeMsgBatch([one]), one);
    assert.deepEqual(decodeMsgBatch(one), [one]);
    const many = [env(450, 4), env(706, 5), env(450, 6)];
    assert.deepEqual(decodeMsgBatch(encodeMsgBatch(many)), many);
  });

  test('limits and strictness', () => {
    assert.equal(code(() => encodeMsgBatch([])), 'INVALID_ARGUMENT');
    assert.equal(code(() => encodeMsgBatch(Array.from({ length: MSG_BATCH_MAX + 1 }, () => env(10, 1)))), 'INVALID_ARGUMENT');
    assert.equal(code(() => encodeMsgBatch([env(70_000, 1), env(70_000, 1), env(70_000, 1), env(70_000, 1)])), 'LIMIT_EXCEEDED');
    assert.equal(code(() => decodeMsgBatch(new Uint8Array(0))), 'INVALID_LENGTH');
    assert.equal(code(() => decodeMsgBatch(new Uint8Array(MSG_BATCH_MAX_BYTES + 1))), 'LIMIT_EXCEEDED');
    assert.equal(code(() => decodeMsgBatch(Uint8Array.of(0x42, 1))), 'UNSUPPORTED_VERSION');
    assert.equal(code(() => decodeMsgBatch(Uint8Array.of(0xb1, 0))), 'MALFORMED_MESSAGE');
    assert.equal(code(() => decodeMsgBatch(Uint8Array.of(0xb1, 65))), 'MALFORMED_MESSAGE');
    assert.equal(code(() => decodeMsgBatch(Uint8Array.of(0xb1, 1, 0, 0, 0, 5, 1))), 'INVALID_LENGTH');
    assert.equal(code(() => decodeMsgBatch(Uint8Array.of(0xb1, 1, 0, 2, 0, 0))), 'LIMIT_EXCEEDED');
    const good = encodeMsgBatch([env(20, 2), env(20, 3)]);
    assert.equal(code(() => decodeMsgBatch(new Uint8Array([...good, 0]))), 'INVALID_LENGTH');
    for (let i = 1; i < good.length; i++) code(() => decodeMsgBatch(good.subarray(0, i)));
  });
});
