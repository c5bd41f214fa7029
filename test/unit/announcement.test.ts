/**
 * protocol/wire/announcement.ts: round trip, the peer-ID binding (checked against libp2p's own derivation
 * in src/net/), strictness of the codec, and the typed errors for forged, mis-keyed, stale, future and
 * oversized announcements.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { ed25519FromSeed, generateEd25519 } from '../../src/crypto/ed25519.ts';
import { generateX25519 } from '../../src/crypto/x25519.ts';
import { concatBytes } from '../../src/lib/bytes.ts';
import { CompeerError, CryptoError, DecodeError, LimitError, ProtocolError } from '../../src/lib/errors.ts';
import { systemRng } from '../../src/lib/system.ts';
import { peerIdFromNodeKey } from '../../src/net/node.ts';
import {
  ANNOUNCEMENT_MAX_BYTES,
  CAPABILITY_MAILBOX,
  CAPABILITY_RELAY,
  decodeAnnouncement,
  ed25519PeerId,
  encodeAnnouncement,
  verifyAnnouncement,
  withHopTtl,
  type AnnouncementFields,
} from '../../src/protocol/wire/announcement.ts';
import { ANNOUNCEMENT_MAX_AGE_MS, ANNOUNCEMENT_MAX_CLOCK_SKEW_MS } from '../../src/protocol/wire/constants.ts';

const NOW = 1_790_000_000_000;
const key = generateEd25519(systemRng);
const onion = generateX25519(systemRng).publicKey;
const fields: AnnouncementFields = {
  addresses: ['/ip4/127.0.0.1/tcp/4001', '/ip4/10.0.0.2/tcp/4001/ws'],
  onionKey: onion,
  capabilities: CAPABILITY_RELAY | CAPABILITY_MAILBOX,
  timestamp: NOW,
  hopTtl: 3,
};

function expectErr(f: () => unknown, cls: new (...a: never[]) => Error, code: string, msg?: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    assert.equal((e as { code?: string }).code, code);
    if (msg) assert.match((e as Error).message, msg);
    return true;
  });
}

describe('announcement codec', () => {
  test('round trip with and without an onion key', () => {
    const bytes = encodeAnnouncement(key, fields);
    const a = verifyAnnouncement(bytes, { now: NOW });
    assert.equal(a.peerId, ed25519PeerId(key.publicKey));
    assert.deepEqual(a.addresses, fields.addresses);
    assert.deepEqual(a.onionKey, onion);
    assert.equal(a.capabilities, 3);
    assert.equal(a.timestamp, NOW);
    assert.equal(a.hopTtl, 3);
    const bare = verifyAnnouncement(encodeAnnouncement(key, { addresses: [], capabilities: 0, timestamp: NOW, hopTtl: 1 }), { now: NOW });
    assert.equal(bare.onionKey, undefined);
    assert.deepEqual(bare.addresses, []);
  });

  test('decodes from a Buffer view into a larger pooled buffer (as the network hands it over)', () => {
    const bytes = encodeAnnouncement(key, fields);
    const pool = Buffer.alloc(bytes.length + 100, 0xee);
    pool.set(bytes, 37);
    const view = pool.subarray(37, 37 + bytes.length);
    const a = verifyAnnouncement(view, { now: NOW });
    assert.equal(a.timestamp, NOW);
    assert.deepEqual(a.addresses, fields.addresses);
    pool.fill(0);
    assert.deepEqual(a.onionKey, onion, 'decoded fields are copies');
  });

  test('the peer ID derived from the key is the one libp2p derives from the node key', async () => {
    for (let i = 0; i < 5; i++) {
      const seed = randomBytes(32);
      assert.equal(ed25519PeerId(ed25519FromSeed(seed).publicKey), await peerIdFromNodeKey(seed));
    }
  });

  test('the hop TTL is not signed: a forwarder may change it, within 1..max', () => {
    const bytes = encodeAnnouncement(key, fields);
    const fwd = withHopTtl(bytes, 2);
    assert.equal(verifyAnnouncement(fwd, { now: NOW }).hopTtl, 2);
    assert.equal(bytes[bytes.length - 65], 3, 'the original is untouched');
    const zero = Uint8Array.from(bytes);
    zero[zero.length - 65] = 0;
    expectErr(() => decodeAnnouncement(zero), DecodeError, 'MALFORMED_MESSAGE', /hop TTL/);
    zero[zero.length - 65] = 200;
    expectErr(() => decodeAnnouncement(zero), DecodeError, 'MALFORMED_MESSAGE', /hop TTL/);
    assert.throws(() => withHopTtl(bytes, 0), /hop TTL/);
  });

  test('strict: trailing bytes, truncation, version, unknown bits, bad addresses', () => {
    const bytes = encodeAnnouncement(key, fields);
    expectErr(() => decodeAnnouncement(concatBytes(bytes, Uint8Array.of(0))), DecodeError, 'INVALID_LENGTH', /trailing/);
    for (const cut of [0, 1, 10, 42, 60, bytes.length - 1]) {
      assert.throws(() => decodeAnnouncement(bytes.subarray(0, cut)), DecodeError, `cut at ${cut}`);
    }
    const v2 = Uint8Array.from(bytes);
    v2[0] = 2;
    expectErr(() => decodeAnnouncement(v2), DecodeError, 'UNSUPPORTED_VERSION');
    const caps = Uint8Array.from(bytes);
    caps[1] = 0x80;
    expectErr(() => decodeAnnouncement(caps), DecodeError, 'MALFORMED_MESSAGE', /capability/);
    const onionType = Uint8Array.from(bytes);
    onionType[1 + 1 + 8 + 32 + 1 + 52] = 0x07;
    expectErr(() => decodeAnnouncement(onionType), DecodeError, 'MALFORMED_MESSAGE', /onion key type/);

    const bad = (addresses: string[]) => () => encodeAnnouncement(key, { ...fields, addresses });
    assert.throws(bad(['ip4/no-slash']), /start with/);
    assert.throws(bad(['/ip4/1.2.3.4/tcp/1 space']), /printable/);
    assert.throws(bad(['/' + 'a'.repeat(256)]), /bytes/);
    assert.throws(bad(['']), /empty/);
    assert.throws(bad(Array.from({ length: 9 }, (_, i) => `/ip4/1.2.3.${i}/tcp/1`)), /9 addresses/);
    assert.throws(() => encodeAnnouncement(key, { ...fields, capabilities: 4 }), /capability/);
    // The encoder refuses a repeated address (it used to sign one that every receiver then rejected)...
    assert.throws(bad(['/ip4/1.2.3.4/tcp/1', '/ip4/1.2.3.5/tcp/1', '/ip4/1.2.3.4/tcp/1']), (e: unknown) => e instanceof CompeerError && e.code === 'INVALID_ARGUMENT' && /duplicate/.test(e.message));
    // ... so a duplicate is only reachable by hand-made input: encode two, then rewrite the second.
    const two = encodeAnnouncement(key, { ...fields, addresses: ['/ip4/1.2.3.4/tcp/1', '/ip4/1.2.3.5/tcp/1'] });
    const text = Buffer.from(two).toString('latin1').replace('/ip4/1.2.3.5/tcp/1', '/ip4/1.2.3.4/tcp/1');
    expectErr(() => decodeAnnouncement(Uint8Array.from(Buffer.from(text, 'latin1'))), DecodeError, 'MALFORMED_MESSAGE', /duplicate/);
  });

  test('the largest announcement fits the limit; anything bigger is refused before parsing', () => {
    const big = encodeAnnouncement(key, {
      ...fields,
      addresses: Array.from({ length: 8 }, (_, i) => `/dns4/${String(i).repeat(200)}.example/tcp/4001/`.slice(0, 256)),
    });
    assert.ok(big.length <= ANNOUNCEMENT_MAX_BYTES);
    verifyAnnouncement(big, { now: NOW });
    expectErr(() => verifyAnnouncement(new Uint8Array(ANNOUNCEMENT_MAX_BYTES + 1), { now: NOW }), LimitError, 'LIMIT_EXCEEDED');
  });

  test('forged: any signed byte changed, or a signature by another key', () => {
    const bytes = encodeAnnouncement(key, fields);
    // Flip one bit in each signed field that still decodes: capabilities, timestamp, an address byte.
    for (const off of [1, 9, bytes.length - 66]) {
      const t = Uint8Array.from(bytes);
      t[off] = (t[off] as number) ^ 0x01;
      expectErr(() => verifyAnnouncement(t, { now: NOW }), CryptoError, 'BAD_SIGNATURE');
    }
    const sig = Uint8Array.from(bytes);
    sig[sig.length - 1] = (sig[sig.length - 1] as number) ^ 0x40;
    expectErr(() => verifyAnnouncement(sig, { now: NOW }), CryptoError, 'BAD_SIGNATURE');
  });

  test('peer-ID mismatch: a valid signature by key B over a body naming A', () => {
    const other = generateEd25519(systemRng);
    const mine = encodeAnnouncement(key, fields);
    const theirs = encodeAnnouncement(other, fields);
    // Splice B's signing key into A's announcement: the key no longer derives the announced peer ID.
    const spliced = Uint8Array.from(mine);
    spliced.set(other.publicKey, 10);
    expectErr(() => verifyAnnouncement(spliced, { now: NOW }), CryptoError, 'INVALID_KEY', /peer ID/);
    // And B's key + body with A's peer ID (same length): refused by the binding before the signature.
    const renamed = Uint8Array.from(theirs);
    renamed.set(mine.subarray(43, 43 + 52), 43);
    expectErr(() => verifyAnnouncement(renamed, { now: NOW }), CryptoError, 'INVALID_KEY', /peer ID/);
    // A key that is not a valid Ed25519 point.
    const weak = Uint8Array.from(mine);
    weak.set(new Uint8Array(32), 10);
    assert.throws(() => decodeAnnouncement(weak), CryptoError);
  });

  test('freshness: stale and future timestamps are ProtocolError MESSAGE_EXPIRED', () => {
    const bytes = encodeAnnouncement(key, fields);
    verifyAnnouncement(bytes, { now: NOW + ANNOUNCEMENT_MAX_AGE_MS });
    expectErr(() => verifyAnnouncement(bytes, { now: NOW + ANNOUNCEMENT_MAX_AGE_MS + 1 }), ProtocolError, 'MESSAGE_EXPIRED', /stale/);
    verifyAnnouncement(bytes, { now: NOW - ANNOUNCEMENT_MAX_CLOCK_SKEW_MS });
    expectErr(() => verifyAnnouncement(bytes, { now: NOW - ANNOUNCEMENT_MAX_CLOCK_SKEW_MS - 1 }), ProtocolError, 'MESSAGE_EXPIRED', /future/);
    expectErr(() => verifyAnnouncement(bytes, { now: NOW + 1000, maxAgeMs: 999 }), ProtocolError, 'MESSAGE_EXPIRED', /stale/);
  });

  test('fuzz: random mutations never throw anything but a CompeerError', () => {
    const bytes = encodeAnnouncement(key, fields);
    for (let i = 0; i < 2000; i++) {
      const t = Uint8Array.from(bytes);
      const n = 1 + (i % 4);
      for (let k = 0; k < n; k++) t[Math.floor(Math.random() * t.length)] = Math.floor(Math.random() * 256);
      const cut = i % 7 === 0 ? t.subarray(0, Math.floor(Math.random() * t.length)) : t;
      try {
        verifyAnnouncement(cut, { now: NOW });
      } catch (e) {
        assert.ok(e instanceof DecodeError || e instanceof CryptoError || e instanceof LimitError || e instanceof ProtocolError, String(e));
      }
    }
  });
});
