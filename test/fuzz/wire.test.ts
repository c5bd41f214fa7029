/**
 * Fuzz of the wire codecs in src/protocol/wire/: app messages, the `/compeer/msg/1` request batch and
 * signed peer announcements. Random and mutated input decodes or fails typed; a decoded app message or
 * batch re-encodes to the same bytes; an announcement that verifies after a mutation is one whose only
 * change is the unsigned hop TTL.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sha256 } from '../../src/crypto/hash.ts';
import { generateEd25519 } from '../../src/crypto/ed25519.ts';
import { generateX25519 } from '../../src/crypto/x25519.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import {
  APP_ACK_MAX_IDS,
  APP_BATCH_MAX,
  APP_MAX_ADDRESSES,
  APP_MAX_ADDRESS_LENGTH,
  decodeAppMessage,
  encodeAppMessage,
  type AppMessage,
  type BatchableMessage,
} from '../../src/protocol/wire/app-message.ts';
import { decodeAnnouncement, ed25519PeerId, encodeAnnouncement, verifyAnnouncement } from '../../src/protocol/wire/announcement.ts';
import { decodeMsgBatch, encodeMsgBatch, MSG_BATCH_MAX } from '../../src/protocol/wire/msg-batch.ts';
import { SEALED_VERSION } from '../../src/protocol/wire/constants.ts';
import { checkEncodes, fuzzCodec, params, textArb } from './_fuzz.ts';

const rng = deterministicRng(sha256(utf8('compeer/fuzz/wire')), sha256);
const id = (n: number): Uint8Array => new Uint8Array(16).fill(n);

const text: BatchableMessage = { type: 'text', id: id(1), sentAt: 1_750_000_000_000, text: 'hello, wörld 🌍' };
const parts: BatchableMessage[] = [
  text,
  { type: 'text', id: id(2), sentAt: 0, text: '' },
  { type: 'addresses', id: id(3), addresses: ['/ip4/127.0.0.1/tcp/4001', `/${'a'.repeat(APP_MAX_ADDRESS_LENGTH - 1)}`] },
  { type: 'addresses', id: id(4), addresses: [] },
  { type: 'hello', id: id(5), inviteSecret: id(6), name: 'Alice' },
  { type: 'hello', id: id(7), inviteSecret: id(8), name: null },
  { type: 'inbox', id: id(9), routingKey: rng.bytes(32), mailboxSecret: rng.bytes(32) },
  { type: 'sas', id: id(10), message: Uint8Array.of(1, 2, ...rng.bytes(32)) },
];
const appMessages: AppMessage[] = [
  ...parts,
  { type: 'addresses', id: id(11), addresses: Array.from({ length: APP_MAX_ADDRESSES }, (_, i) => `/dns4/host${i}.example/tcp/1`) },
  { type: 'ack', ids: [id(12)] },
  { type: 'ack', ids: Array.from({ length: APP_ACK_MAX_IDS }, (_, i) => id(i)) },
  { type: 'batch', messages: parts },
  { type: 'batch', messages: Array.from({ length: APP_BATCH_MAX }, (_, i) => ({ ...text, id: id(i) })) },
];

describe('fuzz: app messages (src/protocol/wire/app-message.ts)', () => {
  fuzzCodec(it, { name: 'app message', decode: decodeAppMessage, encode: encodeAppMessage, samples: appMessages.map(encodeAppMessage), mutationRuns: 3000 });
});

describe('fuzz: message batches (src/protocol/wire/msg-batch.ts)', () => {
  const envelope = (n: number, len: number): Uint8Array => Uint8Array.of(SEALED_VERSION, ...new Uint8Array(len - 1).fill(n));
  const samples = [
    encodeMsgBatch([envelope(1, 450)]),
    encodeMsgBatch([envelope(1, 10), envelope(2, 1), envelope(3, 300)]),
    encodeMsgBatch(Array.from({ length: MSG_BATCH_MAX }, (_, i) => envelope(i, 8))),
  ];
  fuzzCodec(it, {
    name: 'message batch',
    decode: (b) => {
      const envs = decodeMsgBatch(b);
      if (b[0] === SEALED_VERSION) assert.deepEqual(envs, [b]);
      return envs;
    },
    samples,
    mutationRuns: 1600,
    extra: (envs, b) => {
      // A request that starts with the envelope version is one bare envelope; a tagged batch of one
      // envelope decodes too (the encoder sends a single envelope bare): harmless, the framing is not
      // authenticated and each envelope is.
      if (b[0] !== SEALED_VERSION && envs.length > 1) assert.deepEqual(encodeMsgBatch(envs), b, 'a decoded batch re-encodes to its bytes');
    },
  });
});

describe('fuzz: announcements (src/protocol/wire/announcement.ts)', () => {
  const key = generateEd25519(rng);
  const T = 1_750_000_000_000;
  const samples = [
    encodeAnnouncement(key, { addresses: [], capabilities: 0, timestamp: T, hopTtl: 1 }),
    encodeAnnouncement(key, { addresses: ['/ip4/10.0.0.1/tcp/4001', '/ip6/::1/tcp/4001/ws'], onionKey: generateX25519(rng).publicKey, capabilities: 3, timestamp: T, hopTtl: 4 }),
    encodeAnnouncement(key, {
      addresses: Array.from({ length: 8 }, (_, i) => `/${String(i).repeat(255)}`),
      onionKey: generateX25519(rng).publicKey,
      capabilities: 1,
      timestamp: T,
      hopTtl: 8,
    }),
  ];
  fuzzCodec(it, { name: 'announcement (decode)', decode: decodeAnnouncement, samples, mutationRuns: 1600, maxRandom: 2400 });
  // The hop TTL sits just before the 64-byte signature and is outside it (forwarders change it).
  const onlyTtlChanged = (a: Uint8Array, b: Uint8Array): boolean =>
    a.length === b.length && a.every((x, i) => x === b[i] || i === a.length - 65);
  fuzzCodec(it, {
    name: 'announcement (verify)',
    decode: (b) => verifyAnnouncement(b, { now: T }),
    samples,
    authenticated: true,
    mayAccept: onlyTtlChanged,
    mutationRuns: 1600,
    maxRandom: 2400,
  });
  it('announcements built from arbitrary fields verify back to them, or are refused typed by the encoder', () => {
    const fields = fc.record({
      // Some with a repeated address (the encoder used to sign those; every receiver refused them).
      addresses: fc
        .tuple(fc.array(fc.oneof(textArb(30), fc.stringMatching(/^\/[\x21-\x7e]{0,300}$/)), { maxLength: 9 }), fc.boolean())
        .map(([a, repeat]) => (repeat && a.length > 0 ? [...a, a[0] as string] : a)),
      onionKey: fc.option(fc.constant(generateX25519(rng).publicKey), { nil: undefined }),
      capabilities: fc.oneof(fc.nat({ max: 3 }), fc.integer()),
      timestamp: fc.oneof(fc.constant(T), fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER })),
      hopTtl: fc.integer({ min: -1, max: 10 }),
    });
    fc.assert(
      fc.property(fields, (f) =>
        checkEncodes('announcement', f, (x) => encodeAnnouncement(key, x), (b) => verifyAnnouncement(b, { now: f.timestamp, maxAgeMs: 1 }), (x) => ({
          peerId: ed25519PeerId(key.publicKey),
          signingKey: key.publicKey,
          addresses: x.addresses,
          onionKey: x.onionKey,
          capabilities: x.capabilities,
          timestamp: x.timestamp,
          hopTtl: x.hopTtl,
        })),
      ),
      params(400),
    );
  });
});

describe('fuzz: app messages built from arbitrary values (encoder and decoder agree)', () => {
  const idArb = fc.uint8Array({ minLength: 16, maxLength: 16 });
  const addressArb = fc.oneof(textArb(40), fc.stringMatching(/^\/[\x21-\x7e]{1,300}$/));
  const batchable: fc.Arbitrary<BatchableMessage> = fc.oneof(
    fc.record({ type: fc.constant('text' as const), id: idArb, sentAt: fc.oneof(fc.constant(0), fc.constant(Number.MAX_SAFE_INTEGER), fc.nat()), text: textArb(200) }),
    fc.record({ type: fc.constant('addresses' as const), id: idArb, addresses: fc.array(addressArb, { maxLength: 9 }) }),
    fc.record({ type: fc.constant('hello' as const), id: idArb, inviteSecret: idArb, name: fc.option(textArb(70), { nil: null }) }),
    fc.record({ type: fc.constant('inbox' as const), id: idArb, routingKey: fc.uint8Array({ minLength: 32, maxLength: 32 }), mailboxSecret: fc.uint8Array({ minLength: 32, maxLength: 32 }) }),
    fc.record({ type: fc.constant('sas' as const), id: idArb, message: fc.uint8Array({ minLength: 34, maxLength: 34 }) }),
  );
  const message: fc.Arbitrary<AppMessage> = fc.oneof(
    batchable,
    fc.record({ type: fc.constant('ack' as const), ids: fc.array(idArb, { maxLength: 3 }) }),
    fc.record({ type: fc.constant('batch' as const), messages: fc.array(batchable, { minLength: 1, maxLength: 5 }) }),
  );
  it('every app message either encodes to bytes that decode back to it, or is refused typed by the encoder', () => {
    fc.assert(fc.property(message, (m) => checkEncodes('app message', m, encodeAppMessage, decodeAppMessage)), params(1500));
  });
});
