import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CompeerError } from '../../src/lib/errors.ts';
import { code } from './throws.ts';
import { APP_TEXT_MAX_BYTES, decodeAppMessage, encodeAppMessage, type AppMessage } from '../../src/protocol/wire/app-message.ts';


const id = new Uint8Array(16).fill(1);
const samples: AppMessage[] = [
  { type: 'text', id, sentAt: 1_700_000_000_000, text: 'hello 👋' },
  { type: 'text', id, sentAt: 0, text: '' },
  { type: 'ack', ids: [id, new Uint8Array(16).fill(2)] },
  { type: 'addresses', id, addresses: ['/ip4/127.0.0.1/tcp/1/p2p/12D3KooWabc'] },
  { type: 'addresses', id, addresses: [] },
  { type: 'hello', id, inviteSecret: new Uint8Array(16).fill(9), name: 'Bob' },
  { type: 'hello', id, inviteSecret: new Uint8Array(16).fill(9), name: null },
  { type: 'inbox', id, routingKey: new Uint8Array(32).fill(7), mailboxSecret: new Uint8Array(32).fill(8) },
  { type: 'sas', id, message: new Uint8Array(34).fill(5) },
];

describe('app messages', () => {
  test('round trip of every type', () => {
    for (const m of samples) assert.deepEqual(decodeAppMessage(encodeAppMessage(m)), m);
  });

  test('the largest text fits and one byte more does not', () => {
    const big = { type: 'text', id, sentAt: 1, text: 'x'.repeat(APP_TEXT_MAX_BYTES) } as const;
    assert.equal(decodeAppMessage(encodeAppMessage(big)).type, 'text');
    assert.equal(code(() => encodeAppMessage({ ...big, text: big.text + 'x' })), 'LIMIT_EXCEEDED');
  });

  test('strict: version, type, truncation, trailing bytes, limits', () => {
    const t = encodeAppMessage(samples[0] as AppMessage);
    assert.equal(code(() => decodeAppMessage(Uint8Array.of(2, 1))), 'UNSUPPORTED_VERSION');
    assert.equal(code(() => decodeAppMessage(Uint8Array.of(1, 9))), 'MALFORMED_MESSAGE');
    assert.equal(code(() => decodeAppMessage(new Uint8Array(0))), 'INVALID_LENGTH');
    assert.equal(code(() => decodeAppMessage(t.subarray(0, t.length - 1))), 'INVALID_LENGTH');
    assert.equal(code(() => decodeAppMessage(new Uint8Array([...t, 0]))), 'INVALID_LENGTH');
    assert.equal(code(() => decodeAppMessage(Uint8Array.of(1, 2, 0, 0))), 'MALFORMED_MESSAGE'); // empty ack
    assert.equal(code(() => decodeAppMessage(Uint8Array.of(1, 3, ...id, 9))), 'MALFORMED_MESSAGE'); // 9 addresses
    assert.equal(code(() => decodeAppMessage(new Uint8Array(70_000))), 'LIMIT_EXCEEDED');
    const badUtf8 = encodeAppMessage({ type: 'text', id, sentAt: 1, text: 'ab' });
    badUtf8[badUtf8.length - 1] = 0xff;
    assert.equal(code(() => decodeAppMessage(badUtf8)), 'INVALID_ENCODING');
    assert.equal(code(() => encodeAppMessage({ type: 'ack', ids: [] })), 'INVALID_ARGUMENT');
    assert.equal(code(() => encodeAppMessage({ type: 'addresses', id, addresses: ['not a multiaddr'] })), 'INVALID_ARGUMENT');
    assert.equal(code(() => encodeAppMessage({ type: 'hello', id, inviteSecret: id, name: 'a\nb' })), 'INVALID_ARGUMENT');
  });

  test('every truncation and bit flip gives a typed error or a valid message', () => {
    for (const m of samples) {
      const b = encodeAppMessage(m);
      for (let i = 0; i < b.length; i++) {
        code(() => decodeAppMessage(b.subarray(0, i)));
        const f = b.slice();
        f[i] = (f[i] as number) ^ 0x41;
        try {
          decodeAppMessage(f);
        } catch (e) {
          assert.ok(e instanceof CompeerError);
        }
      }
    }
  });
});

describe('app message batches', () => {
  const text = (n: number): AppMessage => ({ type: 'text', id: new Uint8Array(16).fill(n), sentAt: n, text: `m${n}` });
  test('round trip; ids of every message', async () => {
    const { appMessageIds } = await import('../../src/protocol/wire/app-message.ts');
    const b: AppMessage = { type: 'batch', messages: [samples[5], text(1), text(2)] as never };
    assert.deepEqual(decodeAppMessage(encodeAppMessage(b)), b);
    assert.equal(appMessageIds(b).length, 3);
    assert.equal(appMessageIds({ type: 'ack', ids: [id] }).length, 0);
  });
  test('limits: 2..64 messages, no nesting, no acks, total size', () => {
    assert.equal(code(() => encodeAppMessage({ type: 'batch', messages: [text(1)] as never })), 'INVALID_ARGUMENT');
    assert.equal(code(() => encodeAppMessage({ type: 'batch', messages: Array.from({ length: 65 }, (_, i) => text(i)) as never })), 'INVALID_ARGUMENT');
    assert.equal(code(() => encodeAppMessage({ type: 'batch', messages: [text(1), { type: 'ack', ids: [id] }] as never })), 'INVALID_ARGUMENT');
    const big = { type: 'text', id, sentAt: 1, text: 'x'.repeat(40_000) } as const;
    assert.equal(code(() => encodeAppMessage({ type: 'batch', messages: [big, big] })), 'LIMIT_EXCEEDED');
    // A nested batch and an ack inside a batch are refused by the decoder too.
    const inner = encodeAppMessage({ type: 'batch', messages: [text(1), text(2)] as never });
    const nested = Uint8Array.from([1, 5, 2, 0, 0, 0, inner.length, ...inner, 0, 0, 0, inner.length, ...inner]);
    assert.equal(code(() => decodeAppMessage(nested)), 'MALFORMED_MESSAGE');
    const ack = encodeAppMessage({ type: 'ack', ids: [id] });
    const t = encodeAppMessage(text(1));
    const withAck = Uint8Array.from([1, 5, 2, 0, 0, 0, t.length, ...t, 0, 0, 0, ack.length, ...ack]);
    assert.equal(code(() => decodeAppMessage(withAck)), 'MALFORMED_MESSAGE');
    assert.equal(code(() => decodeAppMessage(Uint8Array.of(1, 5, 1))), 'MALFORMED_MESSAGE');
  });
});
