import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CompeerError, LimitError } from '../../src/lib/errors.ts';
import { u32 } from '../../src/lib/reader.ts';
import { code } from './throws.ts';
import { APP_BATCH_MAX, APP_MESSAGE_MAX_BYTES, APP_TEXT_MAX_BYTES, appMessageEncodedSize, decodeAppMessage, encodeAppMessage, type AppMessage, type BatchableMessage } from '../../src/protocol/wire/app-message.ts';


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

describe('app message sizes', () => {
  // Outcome of a call: the length, or the error's class, code and message (the same refusal).
  const outcome = (fn: () => number): string => {
    try {
      return `length ${fn()}`;
    } catch (e) {
      assert.ok(e instanceof CompeerError, `expected a CompeerError, got ${String(e)}`);
      return `${e.constructor.name} ${e.code} ${e.message}`;
    }
  };
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor((seed / 2147483648) * n);
  };
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => rand(256));
  const anId = (): Uint8Array => bytes(rand(10) === 0 ? 15 : 16); // now and then a wrong length
  // Texts of every UTF-8 width: ASCII, 2, 3 and 4 bytes (a surrogate pair), and lone surrogates (U+FFFD).
  const units = ['a', 'é', '€', '👋', '\ud800', '\udfff', '\u0000', '\u07ff', '\u0800', '\uffff'];
  const text = (): string => {
    const kind = rand(8);
    if (kind === 0) return '€'.repeat(APP_TEXT_MAX_BYTES / 3 + rand(2)); // at the limit, or one character over
    if (kind === 1) return 'x'.repeat(APP_TEXT_MAX_BYTES - 1 + rand(3));
    let s = '';
    const n = rand(kind === 2 ? 3000 : 60);
    for (let i = 0; i < n; i++) s += units[rand(units.length)];
    return s;
  };
  const batchable = (): AppMessage => {
    switch (rand(6)) {
      case 0: return { type: 'addresses', id: anId(), addresses: Array.from({ length: rand(10) }, () => (rand(8) === 0 ? 'no slash' : `/ip4/127.0.0.1/tcp/${rand(65536)}`)) };
      case 1: return { type: 'hello', id: anId(), inviteSecret: bytes(16), name: [null, 'Bob', '', 'x'.repeat(65), 'a\u0007'][rand(5)] ?? null };
      case 2: return { type: 'inbox', id: anId(), routingKey: bytes(rand(6) === 0 ? 31 : 32), mailboxSecret: bytes(32) };
      case 3: return { type: 'sas', id: anId(), message: bytes(rand(6) === 0 ? 33 : 34) };
      default: return { type: 'text', id: anId(), sentAt: [0, 1_700_000_000_000 + rand(1e6), -1, 1.5, Number.MAX_SAFE_INTEGER][rand(5)] ?? 0, text: text() };
    }
  };
  const message = (): AppMessage => {
    const k = rand(5);
    if (k === 0) return { type: 'ack', ids: Array.from({ length: rand(10) === 0 ? 257 : rand(40) }, () => bytes(rand(60) === 0 ? 15 : 16)) };
    if (k === 1) {
      const count = rand(10) === 0 ? rand(3) : 2 + rand(APP_BATCH_MAX);
      const inner: AppMessage[] = Array.from({ length: count }, () => (rand(30) === 0 ? { type: 'ack', ids: [bytes(16)] } : batchable()));
      return { type: 'batch', messages: inner as BatchableMessage[] };
    }
    if (k === 2) {
      // Valid texts only, 2 to 64 of 2 to 4,000 bytes: around the batch's byte limit.
      const texts = Array.from({ length: 2 + rand(APP_BATCH_MAX - 1) }, (): BatchableMessage => ({ type: 'text', id: bytes(16), sentAt: rand(1e9), text: 'é'.repeat(1 + rand(2000)) }));
      return { type: 'batch', messages: texts };
    }
    return batchable();
  };

  test('appMessageEncodedSize is encodeAppMessage(m).length, or the same refusal, over varied messages', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1500; i++) {
      const m = message();
      const want = outcome(() => encodeAppMessage(m).length);
      assert.equal(outcome(() => appMessageEncodedSize(m)), want, `${m.type} #${i}`);
      seen.add(want.startsWith('length') ? `${m.type} ok` : `${m.type} ${want.split(' ')[1]}`);
    }
    // The generator reached each type both encodable and refused (a batch over its byte limit among them).
    for (const t of ['text', 'ack', 'addresses', 'hello', 'inbox', 'sas', 'batch']) assert.ok(seen.has(`${t} ok`), `${t} encodable`);
    for (const t of ['text LIMIT_EXCEEDED', 'batch LIMIT_EXCEEDED', 'ack INVALID_ARGUMENT', 'addresses INVALID_ARGUMENT', 'hello INVALID_ARGUMENT']) assert.ok(seen.has(t), t);
  });

  test('a batch is written in one pass as the bytes of its parts encoded alone and framed, or the same refusal', () => {
    // The encoding before the one-pass writer (docs/perf-node.md, seventh pass), from the parts' own encodings.
    const framed = (messages: readonly BatchableMessage[]): Uint8Array => {
      if (messages.length < 2 || messages.length > APP_BATCH_MAX) throw new CompeerError('INVALID_ARGUMENT', `app message: batch: 2 to ${APP_BATCH_MAX} messages`);
      const parts = messages.map((x) => {
        if ((x.type as string) === 'batch' || (x.type as string) === 'ack') throw new CompeerError('INVALID_ARGUMENT', 'app message: batch: no acks or batches inside');
        return encodeAppMessage(x);
      });
      const out = Uint8Array.from([1, 5, parts.length, ...parts.flatMap((p) => [...u32(p.length), ...p])]);
      if (out.length > APP_MESSAGE_MAX_BYTES) throw new LimitError('LIMIT_EXCEEDED', `app message: batch of ${out.length} bytes`);
      return out;
    };
    // The bytes, or the error's class, code and message (the same refusal).
    const hex = (fn: () => Uint8Array): string => {
      try {
        return `bytes ${Buffer.from(fn()).toString('hex')}`;
      } catch (e) {
        assert.ok(e instanceof CompeerError, `expected a CompeerError, got ${String(e)}`);
        return `${e.constructor.name} ${e.code} ${e.message}`;
      }
    };
    let batches = 0;
    let ok = 0;
    while (batches < 600) {
      const m = message();
      if (m.type !== 'batch') continue;
      batches++;
      const want = hex(() => framed(m.messages));
      assert.equal(hex(() => encodeAppMessage(m)), want, `batch #${batches}`);
      if (want.startsWith('bytes')) ok++;
    }
    assert.ok(ok > 50 && ok < 600, `${ok} of 600 encodable`);
  });
});

describe('app messages: a leading U+FEFF', () => {
  test('a text and a hello name that start with a byte order mark come out as they went in', () => {
    const id = new Uint8Array(16).fill(7);
    const text: AppMessage = { type: 'text', id, sentAt: 1, text: '\uFEFFhi' };
    assert.deepEqual(decodeAppMessage(encodeAppMessage(text)), text);
    const hello: AppMessage = { type: 'hello', id, inviteSecret: new Uint8Array(16).fill(1), name: '\uFEFF' };
    const back = decodeAppMessage(encodeAppMessage(hello));
    assert.deepEqual(back, hello, 'not an empty name (which the encoder would refuse)');
    assert.doesNotThrow(() => encodeAppMessage(back));
  });
});
