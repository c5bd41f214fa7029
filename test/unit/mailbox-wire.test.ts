/**
 * The `/compeer/mailbox/1` codecs and the deposit frame (src/protocol/mailbox/wire.ts): round trips of
 * every variant, every truncation and any trailing byte refused, out-of-range counts refused, and
 * random or mutated input never throws anything but a CompeerError.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CompeerError, DecodeError } from '../../src/lib/errors.ts';
import {
  decodeDeposit,
  decodeMailboxRequest,
  decodeMailboxResponse,
  encodeDeposit,
  encodeMailboxRequest,
  encodeMailboxResponse,
  MAILBOX_BLOB_MAX_BYTES,
  MAILBOX_REQUEST_MAX_BYTES,
  MAILBOX_RESPONSE_MAX_BYTES,
  type MailboxRequest,
  type MailboxResponse,
} from '../../src/protocol/mailbox/wire.ts';
import { address, deposits, fill, ids, item, proof, requests, responses } from './mailbox-fixtures.ts';

const codecs = [
  { name: 'request', samples: requests.map(encodeMailboxRequest), decode: decodeMailboxRequest },
  { name: 'response', samples: responses.map(encodeMailboxResponse), decode: decodeMailboxResponse },
  { name: 'deposit', samples: deposits.map(encodeDeposit), decode: decodeDeposit },
] as const;

function decodeFails(decode: (b: Uint8Array) => unknown, bytes: Uint8Array): string {
  try {
    decode(bytes);
  } catch (e) {
    assert.ok(e instanceof CompeerError, `expected a CompeerError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected the decode to fail');
}

describe('mailbox wire', () => {
  it('round-trips every request, response and deposit', () => {
    for (const m of requests) assert.deepEqual(decodeMailboxRequest(encodeMailboxRequest(m)), m);
    for (const m of responses) assert.deepEqual(decodeMailboxResponse(encodeMailboxResponse(m)), m);
    for (const d of deposits) assert.deepEqual(decodeDeposit(encodeDeposit(d)), d);
  });

  it('the largest response and request are exactly the declared maxima', () => {
    assert.equal(encodeMailboxResponse(responses[3] as MailboxResponse).length, MAILBOX_RESPONSE_MAX_BYTES);
    assert.equal(encodeMailboxRequest(requests[4] as MailboxRequest).length, MAILBOX_REQUEST_MAX_BYTES);
  });

  it('refuses every truncation and every trailing byte', () => {
    for (const { name, samples, decode } of codecs) {
      for (const s of samples) {
        // Every cut point up to 8 KiB; past that (the 206 KB full response) every 997th and the last 64.
        const cuts = Array.from({ length: s.length }, (_, n) => n).filter((n) => n < 8_192 || n % 997 === 0 || n >= s.length - 64);
        for (const n of cuts) assert.throws(() => decode(s.subarray(0, n)), DecodeError, `${name} cut at ${n}`);
        const longer = new Uint8Array(s.length + 1);
        longer.set(s);
        assert.throws(() => decode(longer), CompeerError, `${name} with a trailing byte`);
      }
    }
  });

  it('refuses other versions, unknown types and the other direction', () => {
    for (const { samples, decode } of codecs) {
      const bent = (samples[0] as Uint8Array).slice();
      bent[0] = 0x02;
      assert.equal(decodeFails(decode, bent), 'UNSUPPORTED_VERSION');
    }
    assert.equal(decodeFails(decodeMailboxRequest, Uint8Array.of(1, 0x04)), 'MALFORMED_MESSAGE');
    assert.equal(decodeFails(decodeMailboxRequest, encodeMailboxResponse({ type: 'deleted', count: 1 })), 'MALFORMED_MESSAGE');
    assert.equal(decodeFails(decodeMailboxResponse, encodeMailboxRequest({ type: 'challenge' })), 'MALFORMED_MESSAGE');
  });

  it('refuses out-of-range counts, limits, flags, reasons and blob lengths', () => {
    const fetch = encodeMailboxRequest({ type: 'fetch', address, proof, limit: 1 });
    const set = (b: Uint8Array, at: number, v: number): Uint8Array => {
      const c = b.slice();
      c[at] = v;
      return c;
    };
    assert.equal(decodeFails(decodeMailboxRequest, set(fetch, fetch.length - 1, 0)), 'MALFORMED_MESSAGE');
    assert.equal(decodeFails(decodeMailboxRequest, set(fetch, fetch.length - 1, 65)), 'MALFORMED_MESSAGE');
    const del = encodeMailboxRequest({ type: 'delete', address, proof, ids: ids(1) });
    assert.equal(decodeFails(decodeMailboxRequest, set(del, 130, 0).subarray(0, 131)), 'MALFORMED_MESSAGE');
    const items = encodeMailboxResponse({ type: 'items', items: [item(1, 5)], more: false });
    assert.equal(decodeFails(decodeMailboxResponse, set(items, 2, 2)), 'MALFORMED_MESSAGE');
    assert.equal(decodeFails(decodeMailboxResponse, Uint8Array.of(1, 0x82, 0, 65)), 'MALFORMED_MESSAGE');
    assert.equal(decodeFails(decodeMailboxResponse, set(set(items, 4 + 24, 0), 4 + 25, 0)), 'MALFORMED_MESSAGE'); // blob length 0
    assert.equal(decodeFails(decodeMailboxResponse, Uint8Array.of(1, 0x84, 0)), 'MALFORMED_MESSAGE');
    assert.equal(decodeFails(decodeMailboxResponse, Uint8Array.of(1, 0x84, 5)), 'MALFORMED_MESSAGE');
    assert.equal(decodeFails(decodeMailboxResponse, Uint8Array.of(1, 0x83, 65)), 'MALFORMED_MESSAGE');
    const dep = encodeDeposit({ address, expiresAt: 5, blob: fill(3, 1) });
    assert.equal(decodeFails(decodeDeposit, set(set(dep, 41, 0x0c), 42, 0x81)), 'MALFORMED_MESSAGE'); // 3,201 bytes
    const hugeTime = dep.slice();
    hugeTime.fill(0xff, 33, 41);
    assert.equal(decodeFails(decodeDeposit, hugeTime), 'MALFORMED_MESSAGE');
    assert.equal(decodeFails(decodeMailboxRequest, new Uint8Array(MAILBOX_REQUEST_MAX_BYTES + 1)), 'LIMIT_EXCEEDED');
  });

  it('refuses to encode what it could not decode', () => {
    assert.throws(() => encodeMailboxRequest({ type: 'fetch', address, proof, limit: 0 }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => encodeMailboxRequest({ type: 'fetch', address: fill(31, 0), proof, limit: 1 }), { code: 'INVALID_LENGTH' });
    assert.throws(() => encodeMailboxRequest({ type: 'delete', address, proof, ids: [] }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => encodeMailboxRequest({ type: 'delete', address, proof, ids: ids(65) }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => encodeMailboxResponse({ type: 'items', items: [item(1, 0)], more: false }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => encodeMailboxResponse({ type: 'refused', reason: 'nope' as 'malformed' }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => encodeDeposit({ address, expiresAt: 1, blob: fill(MAILBOX_BLOB_MAX_BYTES + 1, 0) }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => encodeDeposit({ address, expiresAt: -1, blob: fill(1, 0) }), { code: 'INVALID_ARGUMENT' });
  });

  it('fuzz: random bytes and mutated encodings decode or throw a CompeerError, nothing else', () => {
    const decoders = codecs.map((c) => c.decode);
    const all = codecs.flatMap((c) => c.samples.map((s) => s.subarray(0, Math.min(s.length, 4_000))));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        for (const d of decoders) {
          try {
            d(bytes);
          } catch (e) {
            assert.ok(e instanceof CompeerError);
          }
        }
      }),
      { numRuns: 2_000 },
    );
    fc.assert(
      fc.property(fc.nat(all.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), (which, edits) => {
        const b = (all[which] as Uint8Array).slice();
        for (const [at, v] of edits) b[at % b.length] = v;
        for (const d of decoders) {
          try {
            d(b);
          } catch (e) {
            assert.ok(e instanceof CompeerError);
          }
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
