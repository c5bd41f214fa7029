/**
 * The relay's onion replay cache (src/routing/onion-replay.ts): once per tag, two epochs kept, full
 * means refuse, a share per previous hop, fingerprints in a growing table (no false negatives); a
 * snapshot restores a cache that gives the same verdicts, and a snapshot no cache could have made is
 * refused; so does a snapshot plus the journal rows (`recent()`) written since, and a row no cache
 * could have written on top of what is restored is refused whole.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createReplayCache, REPLAY_DEFAULTS, type ReplayCache, type ReplayCacheOptions, type ReplaySnapshot } from '../../src/routing/onion-replay.ts';
import { decodeReplaySnapshot, encodeReplaySnapshot } from '../../src/routing/replay-snapshot.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';

const rng = deterministicRng(utf8('compeer/test/onion-replay'), sha256);
const cache = (opts: Partial<ReplayCacheOptions> = {}) => createReplayCache({ rng, ...opts });
/** A cache restored from `c`'s snapshot, through its bytes (as a restart does). */
const restored = (c: ReplayCache, opts: Partial<ReplayCacheOptions> = {}): ReplayCache =>
  cache({ ...opts, from: decodeReplaySnapshot(encodeReplaySnapshot(c.snapshot())) });

/** `n` random 16-byte tags, drawn at once (the deterministic rng is slow per call). */
function tags(n: number): Uint8Array[] {
  const all = rng.bytes(16 * n);
  return Array.from({ length: n }, (_, i) => all.subarray(16 * i, 16 * i + 16));
}

/** Tag number `i`: its fingerprint (first 4 bytes) is i + 1, so `n` of them never collide. */
function numbered(i: number): Uint8Array {
  const t = new Uint8Array(16);
  new DataView(t.buffer).setUint32(0, i + 1);
  return t;
}

describe('onion replay cache', () => {
  it('records a new tag and reports its second sighting as a replay, per epoch', () => {
    const c = cache();
    const t = rng.bytes(16);
    assert.equal(c.check(t, 5, 'p'), 'new');
    assert.equal(c.check(t, 5, 'p'), 'replay');
    assert.equal(c.check(Uint8Array.from(t), 5, 'q'), 'replay', 'by value, not by identity, whichever hop');
    assert.equal(c.check(t.subarray(0), 5, 'p'), 'replay');
    assert.equal(c.size(), 1);
    const other = Uint8Array.from(t);
    other[3] = (other[3] as number) ^ 1;
    assert.equal(c.check(other, 5, 'p'), 'new', 'one bit different in the fingerprint is another tag');
  });

  it('keeps the previous epoch after one rotation and forgets it after two; older epochs are refused', () => {
    const c = cache();
    const [a, b] = tags(2) as [Uint8Array, Uint8Array];
    assert.equal(c.check(a, 1, 'p'), 'new');
    assert.equal(c.check(b, 2, 'p'), 'new', 'rotates to epoch 2');
    assert.equal(c.check(a, 1, 'p'), 'replay', 'epoch 1 is the previous epoch: still remembered');
    assert.equal(c.check(rng.bytes(16), 1, 'p'), 'new', 'new tags of the previous epoch are still accepted');
    assert.equal(c.check(rng.bytes(16), 0, 'p'), 'replay', 'epoch 0 is retired');
    assert.equal(c.size(), 3);
    assert.equal(c.check(rng.bytes(16), 3, 'p'), 'new', 'rotates to 3: epoch 1 dropped');
    assert.equal(c.size(), 2);
    assert.equal(c.check(a, 1, 'p'), 'replay', 'a tag of a retired epoch is refused, not accepted anew');
    assert.equal(c.check(b, 2, 'p'), 'replay');
    assert.equal(c.check(rng.bytes(16), 10, 'p'), 'new', 'a jump of more than one epoch drops both sets');
    assert.equal(c.size(), 1);
    assert.equal(c.check(b, 9, 'p'), 'new', 'epoch 9 is now the (empty) previous epoch');
  });

  it('when an epoch is full it reports new tags as full instead of forgetting old ones, until rotation', () => {
    const c = cache({ maxPerEpoch: 100, hopShares: 1 });
    const held = tags(100);
    for (const t of held) assert.equal(c.check(t, 7, 'p'), 'new');
    for (const t of tags(1000)) assert.equal(c.check(t, 7, 'p'), 'full', 'full: not recorded');
    assert.equal(c.size(), 100, 'bounded');
    for (const t of held) assert.equal(c.check(t, 7, 'p'), 'replay', 'no flood flushed a recorded tag');
    assert.equal(c.check(rng.bytes(16), 8, 'p'), 'new', 'the next epoch has room');
    for (const t of tags(150)) c.check(t, 8, 'p');
    assert.equal(c.size(), 200, 'at most two full epochs');
    assert.equal(c.check(held[0] as Uint8Array, 7, 'p'), 'replay', 'the previous epoch still refuses its tags');
  });

  it('one previous hop records at most its share of an epoch; the others keep their room', () => {
    const c = cache({ maxPerEpoch: 64 }); // 8 shares of 8
    const flood = tags(100);
    const verdicts = flood.map((t) => c.check(t, 3, 'mallory'));
    assert.equal(verdicts.filter((v) => v === 'new').length, 8, "mallory's share");
    assert.ok(verdicts.slice(8).every((v) => v === 'full'));
    for (const t of flood.slice(0, 8)) assert.equal(c.check(t, 3, 'mallory'), 'replay', 'what was recorded is still caught');
    for (const t of tags(8)) assert.equal(c.check(t, 3, 'alice'), 'new', 'another hop is unaffected');
    assert.equal(c.check(rng.bytes(16), 4, 'mallory'), 'new', 'a share is per epoch');
    // Hops past the counted ones share one counter: memory stays bounded, and they still get a share.
    const many = cache({ maxPerEpoch: 1 << 16 }); // shares of 8,192
    for (let i = 0; i < 1024; i++) assert.equal(many.check(numbered(i), 0, `hop-${i}`), 'new');
    let others = 0;
    for (let i = 1024; i < 1024 + 9000; i++) if (many.check(numbered(i), 0, `sybil-${i}`) === 'new') others++;
    assert.equal(others, 8192, 'hops beyond 1,024 counted together');
    assert.equal(many.check(numbered(20_000), 0, 'hop-5'), 'new', 'a counted hop keeps its own share');
  });

  it('fingerprints: no false negatives as the table grows, a replay caught in both its epochs, few false positives', () => {
    const c = cache();
    assert.equal(c.tableBytes(), 0, 'nothing allocated before the first tag');
    const held = tags(100_000);
    const hops = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    let collisions = 0;
    held.forEach((t, i) => {
      const v = c.check(t, 40, hops[i % 8] as string);
      if (i === 0) assert.equal(c.tableBytes(), 4096, 'the first table: 1,024 slots');
      if (v === 'replay') collisions++;
      else assert.equal(v, 'new');
    });
    // Birthday collisions among 100,000 random 32-bit fingerprints: ~1.2 expected.
    assert.ok(collisions <= 8, `fingerprint collisions while filling: ${collisions}`);
    assert.equal(c.tableBytes(), 4 * 2 ** 18, '100,000 tags: 2^18 slots, at most 3/4 full (1 MiB)');
    for (const t of held) assert.equal(c.check(t, 40, 'z'), 'replay', 'every recorded tag is caught');
    assert.equal(c.check(rng.bytes(16), 41, 'a'), 'new', 'rotation');
    for (const t of held) assert.equal(c.check(t, 40, 'z'), 'replay', 'and still in the previous epoch');
    let falsePositives = 0;
    for (const t of tags(100_000)) if (c.check(t, 40, 'y') === 'replay') falsePositives++;
    // n / 2^32 per fresh tag: 100,000 × ~110,000 / 2^32 ≈ 2.6 expected.
    assert.ok(falsePositives <= 12, `false positives: ${falsePositives}`);
    c.check(rng.bytes(16), 42, 'a');
    for (const t of held.slice(0, 1000)) assert.equal(c.check(t, 40, 'z'), 'replay', 'retired epoch');
  });

  it('agrees with an exact model (a Set per epoch, by whole tag) on any sequence of tags, hops, rotations, restarts and crashes', () => {
    // Tags with distinct fingerprints, so the model and the cache must agree exactly: every replay
    // caught while its epoch is live (no false negatives), no new tag refused while there is room.
    const step = fc.record({
      tag: fc.nat({ max: 299 }),
      hop: fc.nat({ max: 5 }),
      epochStep: fc.constantFrom(0, 0, 0, 0, 1, 2),
      previous: fc.boolean(),
      restart: fc.constantFrom(false, false, false, false, false, false, false, true),
      persist: fc.constantFrom('none', 'none', 'none', 'none', 'flush', 'flush', 'compact', 'crash'),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 400 }), fc.integer({ min: 3, max: 120 }), (steps, max) => {
        let c = cache({ maxPerEpoch: max, hopShares: 3 });
        const perHop = Math.ceil(max / 3);
        const model = new Map<number, { tags: Set<number>; hops: Map<number, number> }>();
        let now = 100;
        // The store as onion-replay-store.ts keeps it: a snapshot and the journal rows since.
        let disk: { snapshot?: Uint8Array; rows: Uint8Array[] } = { rows: [] };
        const flush = (): void => {
          if (c.unsaved() === 0) return;
          disk.rows.push(encodeReplaySnapshot(c.recent()));
          c.markSaved();
        };
        const compact = (): void => {
          disk = { snapshot: encodeReplaySnapshot(c.snapshot()), rows: [] };
          c.markSaved();
        };
        for (const st of steps) {
          now += st.epochStep;
          // A restart now and then (snapshot, bytes, restore): nothing of the verdicts may change.
          if (st.restart) {
            compact();
            c = restored(c, { maxPerEpoch: max, hopShares: 3 });
          }
          if (st.persist === 'flush') flush();
          if (st.persist === 'compact') compact();
          // A crash just after a flush: the snapshot and the rows since give the same verdicts.
          if (st.persist === 'crash') {
            flush();
            c = cache({ maxPerEpoch: max, hopShares: 3, ...(disk.snapshot && { from: decodeReplaySnapshot(disk.snapshot) }) });
            for (const row of disk.rows) c.add(decodeReplaySnapshot(row));
          }
          const epoch = st.previous ? now - 1 : now;
          let set = model.get(epoch);
          if (set === undefined) model.set(epoch, (set = { tags: new Set(), hops: new Map() }));
          const used = set.hops.get(st.hop) ?? 0;
          let expected: string;
          if (set.tags.has(st.tag)) expected = 'replay';
          else if (set.tags.size >= max || used >= perHop) expected = 'full';
          else {
            expected = 'new';
            set.tags.add(st.tag);
            set.hops.set(st.hop, used + 1);
          }
          assert.equal(c.check(numbered(st.tag), epoch, `hop-${st.hop}`), expected);
          for (const e of model.keys()) if (e < now - 1) model.delete(e);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('holds the default cap in 4 MiB per epoch, then reports full', () => {
    const c = cache();
    const max = REPLAY_DEFAULTS.maxPerEpoch;
    for (let i = 0; i < max; i++) {
      if (c.check(numbered(i), 0, `hop-${i % REPLAY_DEFAULTS.hopShares}`) !== 'new') assert.fail(`tag ${i} not recorded`);
    }
    assert.equal(c.tableBytes(), 4 * 2 ** 20);
    assert.equal(c.check(numbered(max), 0, 'fresh-hop'), 'full');
    assert.equal(c.check(numbered(0), 0, 'fresh-hop'), 'replay');
    assert.equal(c.check(numbered(max - 1), 0, 'fresh-hop'), 'replay');
  });

  it('a cache restored from a snapshot refuses the tags recorded before, in both epochs, and keeps the shares used', () => {
    const c = cache({ maxPerEpoch: 64 }); // shares of 8
    const old = tags(5);
    const recent = tags(8);
    for (const t of old) assert.equal(c.check(t, 11, 'alice'), 'new');
    for (const t of recent) assert.equal(c.check(t, 12, 'mallory'), 'new');
    const r = restored(c, { maxPerEpoch: 64 });
    assert.equal(r.size(), 13);
    for (const t of old) assert.equal(r.check(t, 11, 'carol'), 'replay', 'the previous epoch came back');
    for (const t of recent) assert.equal(r.check(t, 12, 'carol'), 'replay', 'the current epoch came back');
    assert.equal(r.check(rng.bytes(16), 12, 'mallory'), 'full', "mallory's share was used before the restart");
    assert.equal(r.check(rng.bytes(16), 12, 'alice'), 'new');
    assert.equal(r.check(rng.bytes(16), 10, 'alice'), 'replay', 'the epoch before the previous one is still retired');
    assert.equal(r.check(rng.bytes(16), 13, 'alice'), 'new', 'rotates as before: epoch 11 dropped');
    assert.equal(r.check(old[0] as Uint8Array, 11, 'carol'), 'replay', 'retired');
    assert.equal(r.size(), 9 + 1);
    assert.deepEqual(cache().snapshot(), { epochs: [] }, 'nothing checked yet: nothing to keep');
    assert.equal(cache({ from: { epochs: [] } }).check(rng.bytes(16), 0, 'p'), 'new');
  });

  it('a restored full epoch of the default cap is still full in the same 4 MiB and refuses every tag it held', () => {
    const c = cache();
    const max = REPLAY_DEFAULTS.maxPerEpoch;
    for (let i = 0; i < max; i++) c.check(numbered(i), 3, `hop-${i % REPLAY_DEFAULTS.hopShares}`);
    const r = restored(c);
    assert.equal(r.size(), max);
    assert.equal(r.tableBytes(), 4 * 2 ** 20);
    for (let i = 0; i < max; i++) if (r.check(numbered(i), 3, 'fresh-hop') !== 'replay') assert.fail(`tag ${i} not restored`);
    assert.equal(r.check(numbered(max), 3, 'fresh-hop'), 'full');
  });

  it('refuses a snapshot no cache of its options could have made (typed error)', () => {
    const c = cache({ maxPerEpoch: 16, hopShares: 1 });
    for (const t of tags(4)) c.check(t, 7, 'p');
    for (const t of tags(3)) c.check(t, 8, 'q');
    const good = c.snapshot();
    const [cur, prev] = good.epochs as [ReplaySnapshot['epochs'][0], ReplaySnapshot['epochs'][0]];
    const refused = (from: ReplaySnapshot, opts: Partial<ReplayCacheOptions> = {}): void => {
      assert.throws(() => cache({ maxPerEpoch: 16, ...opts, from }), { name: 'DecodeError', code: 'STATE_CORRUPT' });
    };
    assert.equal(cache({ maxPerEpoch: 16, from: good }).size(), 7, 'the good one is taken');
    refused({ epochs: [cur, prev, { ...prev, epoch: 6 }] });
    refused({ epochs: [prev, cur] }, {}); // previous first
    refused({ epochs: [cur, { ...prev, epoch: 5 }] });
    refused({ epochs: [{ ...cur, epoch: 0 }, { ...prev, epoch: -1 }] });
    refused({ epochs: [{ ...cur, epoch: -1 }] });
    refused({ epochs: [{ ...cur, epoch: 2 ** 53 }] });
    refused({ epochs: [cur] }, { maxPerEpoch: 2, hopShares: 1 }); // more tags than a set holds
    const fps = Uint32Array.from(cur.fingerprints);
    fps[1] = fps[0] as number;
    refused({ epochs: [{ ...cur, fingerprints: fps }] });
    refused({ epochs: [{ ...cur, fingerprints: Uint32Array.from([0, 1, 2]), hops: new Map([['q', 3]]) }] });
    refused({ epochs: [{ ...cur, hops: new Map([['q', 2]]) }] }, {}); // counters add up to 2 of 3 tags
    refused({ epochs: [{ ...cur, hops: new Map([['q', 3], ['r', 0]]) }] });
    refused({ epochs: [{ ...cur, hops: new Map([['q', 2.5], ['r', 0.5]]) }] });
    const many = new Map(Array.from({ length: 1026 }, (_, i) => [`hop-${i}`, 1] as const));
    refused({ epochs: [{ epoch: 8, fingerprints: Uint32Array.from({ length: 1026 }, (_, i) => i + 1), hops: many }] }, { maxPerEpoch: 2000 });
    // Counters above a hop's share are taken: the share changed with the options, that hop is full.
    const shares = cache({ maxPerEpoch: 16, hopShares: 8, from: good });
    assert.equal(shares.check(rng.bytes(16), 8, 'q'), 'full');
    assert.equal(shares.check(rng.bytes(16), 8, 'r'), 'new');
  });

  it('recent() holds what was recorded since markSaved(): per live epoch, current first, its fingerprints and counter increments', () => {
    const c = cache();
    assert.equal(c.unsaved(), 0);
    assert.deepEqual(c.recent(), { epochs: [] });
    for (let i = 0; i < 3; i++) c.check(numbered(i), 7, 'p');
    c.markSaved();
    assert.equal(c.unsaved(), 0);
    c.check(numbered(3), 7, 'p');
    c.check(numbered(4), 7, 'q');
    c.check(numbered(0), 7, 'q'); // a replay: nothing recorded
    c.check(numbered(5), 8, 'q'); // rotation: 7 is now the previous epoch, its unsaved tags with it
    assert.equal(c.unsaved(), 3);
    assert.deepEqual(c.recent(), {
      epochs: [
        { epoch: 8, fingerprints: Uint32Array.of(6), hops: new Map([['q', 1]]) },
        { epoch: 7, fingerprints: Uint32Array.of(4, 5), hops: new Map([['p', 1], ['q', 1]]) },
      ],
    });
    c.check(numbered(6), 10, 'q'); // two rotations: both sets dropped, and their unsaved tags
    assert.deepEqual(c.recent(), { epochs: [{ epoch: 10, fingerprints: Uint32Array.of(7), hops: new Map([['q', 1]]) }] });
    // Many tags between two saves: the list grows and is dropped back after the save.
    for (let i = 100; i < 5_100; i++) c.check(numbered(i), 10, `hop-${i % 3}`);
    assert.equal(c.recent().epochs[0]?.fingerprints.length, 5_001);
    c.markSaved();
    assert.deepEqual(c.recent(), { epochs: [] });
  });

  it('add() puts a journal row in whole, moves to a later epoch as check does, and skips epochs no longer live', () => {
    const c = cache({ maxPerEpoch: 64 });
    c.check(numbered(0), 7, 'p');
    c.markSaved();
    const row = (epoch: number, from: number, n: number, hop = 'p') => ({ epoch, fingerprints: Uint32Array.from({ length: n }, (_, i) => from + i + 1), hops: new Map([[hop, n]]) });
    assert.equal(c.add({ epochs: [row(8, 10, 3), row(7, 20, 2)] }), 5);
    assert.equal(c.size(), 6);
    assert.equal(c.unsaved(), 0, 'what add() puts in came from the store');
    assert.deepEqual(c.recent(), { epochs: [] }, 'its counters too');
    for (const i of [10, 11, 12]) assert.equal(c.check(numbered(i), 8, 'x'), 'replay');
    for (const i of [0, 20, 21]) assert.equal(c.check(numbered(i), 7, 'x'), 'replay');
    assert.equal(c.add({ epochs: [row(6, 30, 2)] }), 0, 'a retired epoch: nothing to remember');
    assert.equal(c.add({ epochs: [row(10, 40, 1), row(9, 50, 1)] }), 2);
    assert.equal(c.check(numbered(10), 8, 'x'), 'replay', '8 is retired now');
    assert.equal(c.check(numbered(40), 10, 'x'), 'replay');
    assert.equal(c.check(numbered(50), 9, 'x'), 'replay');
    // Counters: 'p' has 8 of its share of 8 in epoch 10 once a row adds 7.
    assert.equal(c.add({ epochs: [row(10, 60, 7)] }), 7);
    assert.equal(c.check(numbered(99), 10, 'p'), 'full');
    // A table grown by add() past its first 1,024 slots still finds every tag.
    const big = cache({ maxPerEpoch: 4_000, hopShares: 1 });
    big.add({ epochs: [row(3, 1_000, 2_000)] });
    for (let i = 1_000; i < 3_000; i += 7) assert.equal(big.check(numbered(i), 3, 'x'), 'replay');
    assert.equal(big.check(numbered(5_000), 3, 'x'), 'new');
  });

  it('add() refuses, whole, a row no cache could have written on top of what it holds (typed error)', () => {
    const c = cache({ maxPerEpoch: 16, hopShares: 2 });
    for (let i = 0; i < 4; i++) c.check(numbered(i), 7, 'p');
    const before = c.snapshot();
    const fp = (...x: number[]) => Uint32Array.from(x);
    const refused = (epochs: ReplaySnapshot['epochs']): void => {
      assert.throws(() => c.add({ epochs }), { name: 'DecodeError', code: 'STATE_CORRUPT' });
      assert.deepEqual(c.snapshot(), before, 'nothing of it added');
    };
    const ok = { epoch: 7, fingerprints: fp(100), hops: new Map([['q', 1]]) };
    refused([ok, { epoch: 7, fingerprints: fp(101), hops: new Map([['q', 1]]) }]); // one epoch twice
    refused([ok, { epoch: 8, fingerprints: fp(0), hops: new Map([['q', 1]]) }]); // zero, after a good epoch
    refused([{ epoch: 7, fingerprints: fp(1), hops: new Map([['q', 1]]) }]); // held already
    refused([{ epoch: 8, fingerprints: fp(5, 6, 5), hops: new Map([['q', 3]]) }]); // twice in the row
    refused([{ epoch: 7, fingerprints: fp(200, 201), hops: new Map([['q', 1]]) }]); // increments add up to 1 of 2
    refused([{ epoch: 7, fingerprints: fp(200), hops: new Map([['q', 1], ['r', 0]]) }]);
    refused([{ epoch: 7, fingerprints: Uint32Array.from({ length: 13 }, (_, i) => 300 + i), hops: new Map([['q', 13]]) }]); // 17 of 16
    refused([{ epoch: 1.5, fingerprints: fp(9), hops: new Map([['q', 1]]) }]);
    refused([ok, ok, ok]);
    const many = new Map(Array.from({ length: 1026 }, (_, i) => [`hop-${i}`, 1] as const));
    assert.throws(() => cache({ maxPerEpoch: 2_000 }).add({ epochs: [{ epoch: 1, fingerprints: Uint32Array.from({ length: 1026 }, (_, i) => i + 1), hops: many }] }), {
      code: 'STATE_CORRUPT',
    });
    assert.equal(c.add({ epochs: [ok] }), 1, 'the good row alone is taken');
  });

  it('rejects tags that are not 16 bytes, bad epochs and bad options', () => {
    const c = cache();
    assert.throws(() => c.check(new Uint8Array(15), 0, 'p'), { code: 'INVALID_LENGTH' });
    assert.throws(() => c.check(new Uint8Array(16), -1, 'p'), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => c.check(new Uint8Array(16), 1.5, 'p'), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => cache({ maxPerEpoch: 0 }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => cache({ maxPerEpoch: 10, hopShares: 11 }), { code: 'INVALID_ARGUMENT' });
  });
});
