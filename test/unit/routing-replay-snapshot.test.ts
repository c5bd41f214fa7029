/**
 * The replay cache's snapshot as bytes (src/routing/replay-snapshot.ts) and cut over several meta
 * values (src/node/meta-chunks.ts): round trips, one value or several, in any order; anything
 * truncated, garbled, repeated, missing or mixed from two snapshots is refused with a DecodeError.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sha256 } from '../../src/crypto/hash.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { createReplayCache, type ReplaySnapshot } from '../../src/routing/onion-replay.ts';
import { decodeReplaySnapshot, encodeReplaySnapshot } from '../../src/routing/replay-snapshot.ts';
import { CHUNK_HEADER_BYTES, joinChunks, splitChunks } from '../../src/node/meta-chunks.ts';

const rng = deterministicRng(utf8('compeer/test/replay-snapshot'), sha256);

/** A cache with `n` tags in epoch 41 and `m` in epoch 42, from three hops (one of them not ASCII). */
function snapshotOf(n: number, m: number): ReplaySnapshot {
  const c = createReplayCache({ rng, maxPerEpoch: 1 << 16, hopShares: 1 });
  const all = rng.bytes(16 * (n + m));
  const hops = ['12D3KooWalice', 'bob', 'żółw'];
  for (let i = 0; i < n + m; i++) c.check(all.subarray(16 * i, 16 * i + 16), i < n ? 41 : 42, hops[i % 3] as string);
  return c.snapshot();
}

const decodeError = (code: string) => ({ name: 'DecodeError', code });

describe('replay snapshot: bytes', () => {
  it('round trips: epochs, counters and fingerprints; 4 bytes a tag', () => {
    const s = snapshotOf(300, 200);
    const bytes = encodeReplaySnapshot(s);
    const back = decodeReplaySnapshot(bytes);
    assert.deepEqual(back, s);
    assert.equal(back.epochs[0]?.epoch, 42, 'current first');
    const counters = [...s.epochs.flatMap((e) => [...e.hops.keys()])].reduce((n, h) => n + 2 + utf8(h).length + 4, 0);
    assert.equal(bytes.length, 2 + 2 * (8 + 2 + 4) + counters + 4 * 500);
    assert.deepEqual(decodeReplaySnapshot(encodeReplaySnapshot({ epochs: [] })), { epochs: [] });
    assert.deepEqual([...encodeReplaySnapshot({ epochs: [] })], [1, 0]);
  });

  it('refuses a truncated, extended or garbled snapshot with a DecodeError', () => {
    const bytes = encodeReplaySnapshot(snapshotOf(20, 10));
    for (const cut of [0, 1, 2, 9, 12, 30, bytes.length - 4, bytes.length - 1]) {
      assert.throws(() => decodeReplaySnapshot(bytes.subarray(0, cut)), decodeError('INVALID_LENGTH'), `cut at ${cut}`);
    }
    assert.throws(() => decodeReplaySnapshot(Uint8Array.of(...bytes, 0)), decodeError('INVALID_LENGTH'), 'trailing byte');
    assert.throws(() => decodeReplaySnapshot(Uint8Array.of(2, ...bytes.subarray(1))), decodeError('UNSUPPORTED_VERSION'));
    assert.throws(() => decodeReplaySnapshot(Uint8Array.of(1, 3, ...bytes.subarray(2))), decodeError('STATE_CORRUPT'), 'three epochs');
    const huge = Uint8Array.from(encodeReplaySnapshot({ epochs: [{ epoch: 1, hops: new Map(), fingerprints: new Uint32Array(0) }] }));
    new DataView(huge.buffer).setUint32(huge.length - 4, 0xffffffff);
    assert.throws(() => decodeReplaySnapshot(huge), decodeError('INVALID_LENGTH'), 'a count of 4 G fingerprints, not allocated');
    const twice = encodeReplaySnapshot({ epochs: [{ epoch: 1, hops: new Map([['a', 1], ['b', 1]]), fingerprints: Uint32Array.of(5, 6) }] });
    twice[2 + 8 + 2 + 2] = 'b'.charCodeAt(0); // the first counter's name 'a' → 'b'
    assert.throws(() => decodeReplaySnapshot(twice), decodeError('STATE_CORRUPT'), 'a hop counted twice');
    const badName = encodeReplaySnapshot({ epochs: [{ epoch: 1, hops: new Map([['a', 1]]), fingerprints: Uint32Array.of(5) }] });
    badName[2 + 8 + 2 + 2] = 0xff;
    assert.throws(() => decodeReplaySnapshot(badName), decodeError('INVALID_ENCODING'), 'a name that is not UTF-8');
    // Whatever the bytes: a DecodeError or a snapshot, never anything else.
    fc.assert(
      fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const g = Uint8Array.from(bytes);
        g[at] = (g[at] as number) ^ flip;
        try {
          decodeReplaySnapshot(g);
        } catch (e) {
          assert.equal((e as Error).name, 'DecodeError');
        }
      }),
    );
  });
});

describe('replay snapshot: over several meta values', () => {
  it('a value cut in chunks of at most the given size joins back, in any order', () => {
    const value = encodeReplaySnapshot(snapshotOf(3000, 2000));
    const chunks = splitChunks(value, rng.bytes(8), 4096);
    assert.equal(chunks.length, Math.ceil(value.length / (4096 - CHUNK_HEADER_BYTES)));
    assert.ok(chunks.length > 4);
    assert.ok(chunks.every((c) => c.length <= 4096));
    assert.deepEqual(joinChunks(chunks), value);
    assert.deepEqual(joinChunks([...chunks].reverse()), value);
    assert.deepEqual(decodeReplaySnapshot(joinChunks([...chunks].reverse())), decodeReplaySnapshot(value));
    const one = splitChunks(value, rng.bytes(8));
    assert.equal(one.length, 1, 'fits in one 1 MiB value');
    assert.deepEqual(joinChunks(one), value);
    assert.deepEqual(joinChunks(splitChunks(new Uint8Array(0), rng.bytes(8), 64)), new Uint8Array(0), 'empty: one chunk');
  });

  it('refuses chunks missing, repeated, truncated, of another version or of two values (DecodeError)', () => {
    const value = rng.bytes(1000);
    const a = splitChunks(value, rng.bytes(8), 300);
    const b = splitChunks(rng.bytes(1000), rng.bytes(8), 300);
    assert.equal(a.length, 4);
    assert.throws(() => joinChunks([]), decodeError('STATE_CORRUPT'));
    assert.throws(() => joinChunks(a.slice(0, 3)), decodeError('STATE_CORRUPT'), 'one missing');
    assert.throws(() => joinChunks([...a.slice(0, 3), a[0] as Uint8Array]), decodeError('STATE_CORRUPT'), 'one twice');
    assert.throws(() => joinChunks([...a.slice(0, 3), b[3] as Uint8Array]), decodeError('STATE_CORRUPT'), 'the last one of another value');
    assert.throws(() => joinChunks([...a, b[3] as Uint8Array]), decodeError('STATE_CORRUPT'), 'one more of another value');
    assert.throws(() => joinChunks([...a.slice(0, 3), (a[3] as Uint8Array).subarray(0, 5)]), decodeError('INVALID_LENGTH'), 'a truncated header');
    const v2 = Uint8Array.from(a[1] as Uint8Array);
    v2[0] = 2;
    assert.throws(() => joinChunks([a[0] as Uint8Array, v2, ...a.slice(2)]), decodeError('UNSUPPORTED_VERSION'));
    const count = Uint8Array.from(a[2] as Uint8Array);
    count[CHUNK_HEADER_BYTES - 1] = 5; // says 5 chunks where the others say 4
    assert.throws(() => joinChunks([...a.slice(0, 2), count, a[3] as Uint8Array]), decodeError('STATE_CORRUPT'));
    const index = Uint8Array.from(a[2] as Uint8Array);
    index[CHUNK_HEADER_BYTES - 3] = 4; // index 4 of 4
    assert.throws(() => joinChunks([...a.slice(0, 2), index, a[3] as Uint8Array]), decodeError('STATE_CORRUPT'));
    // A chunk cut short inside its body joins to a value the snapshot decoder then refuses.
    const s = splitChunks(encodeReplaySnapshot(snapshotOf(100, 0)), rng.bytes(8), 200);
    s[1] = (s[1] as Uint8Array).subarray(0, 100);
    assert.throws(() => decodeReplaySnapshot(joinChunks(s)), { name: 'DecodeError' });
  });
});
