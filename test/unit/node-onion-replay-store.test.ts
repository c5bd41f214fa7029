/**
 * The onion replay cache kept across a restart (src/node/onion-replay-store.ts) in a node store: a
 * snapshot saved at a clean stop and a journal of what was recorded since, flushed about once a
 * second, so a crash (a second open without a save) loses only what the last flush did not take;
 * nothing deleted at start; compaction; only the live epochs kept; a bad snapshot or journal row is
 * logged and the rest used — never an exception. The sqlite store checks the 1 MiB per value limit.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sha256 } from '../../src/crypto/hash.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { systemClock, systemRng } from '../../src/lib/system.ts';
import { memoryNodeStore, type NodeStore } from '../../src/node/node-store.ts';
import { nodeStoreFrom } from '../../src/node/store-adapter.ts';
import { JOURNAL_LIMITS, openReplayCache, REPLAY_JOURNAL_PREFIX, REPLAY_SNAPSHOT_PREFIX, type ReplayStoreDeps } from '../../src/node/onion-replay-store.ts';
import { saveChunked } from '../../src/node/meta-chunks.ts';
import type { ReplayCache } from '../../src/routing/onion-replay.ts';
import { encodeReplaySnapshot } from '../../src/routing/replay-snapshot.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { storedIdentityOf } from '../../src/store/identity-keys.ts';
import { openStore } from '../../src/store/store.ts';
import { captureLogger } from './net-helpers.ts';

const rng = deterministicRng(utf8('compeer/test/onion-replay-store'), sha256);

let drawn = 0;
/** `n` tags with fingerprints (first 4 bytes) never drawn before: no chance collision makes one a replay. */
function tagsOf(n: number): Uint8Array[] {
  const all = rng.bytes(16 * n);
  const view = new DataView(all.buffer, all.byteOffset);
  for (let i = 0; i < n; i++) view.setUint32(16 * i, ++drawn);
  return Array.from({ length: n }, (_, i) => all.subarray(16 * i, 16 * i + 16));
}

function setup(store: NodeStore = memoryNodeStore(generateIdentity(systemRng), 'relay'), extra: Partial<ReplayStoreDeps> = {}) {
  const logs = captureLogger();
  const deps: ReplayStoreDeps = { store, rng, log: logs.logger, ...extra };
  return {
    store,
    logs,
    deps,
    kept: () => store.meta.keys(REPLAY_SNAPSHOT_PREFIX),
    rows: () => store.meta.keys(REPLAY_JOURNAL_PREFIX),
    /** The cache a start at `epoch` restores. */
    open: (epoch = 100) => openReplayCache(deps, epoch),
  };
}

/** `n` tags of epoch 99 and `m` of epoch 100, recorded in a fresh cache opened from `deps`. */
function fill(cache: ReplayCache, n: number, m: number): Uint8Array[] {
  const tags = tagsOf(n + m);
  tags.forEach((t, i) => assert.equal(cache.check(t, i < n ? 99 : 100, `hop-${i % 8}`), 'new'));
  return tags;
}

describe('node: the onion replay cache across a clean restart', () => {
  it('saved at stop, restored at start with every tag refused, and kept in the store (snapshot and journal are the state)', () => {
    const { kept, rows, logs, open } = setup();
    const s = open();
    assert.equal(s.cache.size(), 0, 'nothing saved yet');
    const tags = fill(s.cache, 30, 10);
    assert.equal(s.flush(), 'appended');
    tags.push(...fill(s.cache, 0, 10));
    s.save();
    assert.equal(kept().length, 1);
    assert.deepEqual(rows(), [], 'the stop cleared the journal');
    assert.equal(logs.find('onion replay cache saved').length, 1);

    const back = open().cache;
    assert.equal(kept().length, 1, 'not deleted at start: a start that fails before its first flush finds it again');
    assert.equal(back.size(), 50);
    tags.forEach((t, i) => assert.equal(back.check(t, i < 30 ? 99 : 100, 'mallory'), 'replay'));
    assert.equal(logs.find('onion replay cache restored').length, 1);
    assert.equal(open().cache.size(), 50, 'a second start without a stop in between restores it again');
    const empty = setup();
    empty.open().save();
    assert.deepEqual([...empty.kept(), ...empty.rows()], [], 'an empty cache leaves nothing');
  });

  it('keeps the live epochs only: after one rotation the previous one, after two none', () => {
    const { open } = setup();
    const s = open(100);
    const tags = fill(s.cache, 10, 10);
    s.save();
    const next = open(101);
    assert.equal(next.cache.size(), 10, "epoch 99's set dropped: its key is gone");
    tags.slice(10).forEach((t) => assert.equal(next.cache.check(t, 100, 'mallory'), 'replay'));
    next.save();
    assert.equal(open(102).cache.size(), 0);
    s.save();
    const behind = open(99);
    assert.equal(behind.cache.size(), 10, 'the clock went back: the later epoch is dropped, not kept ahead of the keys');
    assert.equal(behind.cache.check(rng.bytes(16), 99, 'p'), 'new', 'and packets of the current epoch are taken');
  });

  it('a garbled, mixed or unknown snapshot is logged and left, and the cache starts from the journal alone', () => {
    const { logs, store, open, rows } = setup();
    const s = open();
    fill(s.cache, 100, 100);
    const bytes = encodeReplaySnapshot(s.cache.snapshot());
    s.cache.markSaved(); // the 200 above stand for the snapshot written below
    const recent = tagsOf(2);
    recent.forEach((t) => assert.equal(s.cache.check(t, 100, 'carol'), 'new'));
    assert.equal(s.flush(), 'appended');
    assert.equal(rows().length, 1);
    const bad: Uint8Array[] = [
      bytes.subarray(0, bytes.length - 3), // truncated
      Uint8Array.of(9, ...bytes.subarray(1)), // another version
      Uint8Array.from(bytes, (b, i) => (i === 20 ? b ^ 0x40 : b)), // a garbled counter: they no longer add up
    ];
    for (const b of bad) {
      saveChunked(store, REPLAY_SNAPSHOT_PREFIX, b, rng, 256);
      const back = open().cache;
      assert.equal(back.size(), 2, 'the journal row alone');
      recent.forEach((t) => assert.equal(back.check(t, 100, 'mallory'), 'replay'));
    }
    // Chunks of two snapshots: a stop that wrote a smaller one over a larger one without its delete.
    saveChunked(store, REPLAY_SNAPSHOT_PREFIX, bytes, rng, 256);
    const stale = store.meta.get(`${REPLAY_SNAPSHOT_PREFIX}1`) as Uint8Array;
    assert.ok(saveChunked(store, REPLAY_SNAPSHOT_PREFIX, bytes, rng, 256) > 2);
    store.transaction(() => store.meta.set(`${REPLAY_SNAPSHOT_PREFIX}1`, stale));
    assert.equal(open().cache.size(), 2);
    const warned = logs.find('onion replay snapshot not restored');
    assert.equal(warned.length, 4);
    assert.deepEqual(
      warned.map((l) => (l.error as { code?: string }).code),
      ['INVALID_LENGTH', 'UNSUPPORTED_VERSION', 'STATE_CORRUPT', 'STATE_CORRUPT'],
    );
  });

  it('a store that fails is logged: start and stop go on', () => {
    const { deps, logs, store } = setup();
    const s = openReplayCache(deps, 100);
    fill(s.cache, 5, 5);
    const broken: NodeStore = {
      ...store,
      transaction: () => {
        throw new Error('disk gone');
      },
    };
    const b = openReplayCache({ ...deps, store: broken }, 100);
    assert.equal(b.cache.size(), 0);
    assert.equal(logs.find('onion replay snapshot not restored').length, 1);
    fill(b.cache, 5, 5);
    b.save();
    assert.equal(logs.find('onion replay cache not saved').length, 1);
  });

  it('in a sqlite store, a snapshot over 1 MiB is split in values the store takes, and restored whole with its journal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compeer-replay-'));
    try {
      const open = (create: boolean): NodeStore => {
        const s = openStore({ dir, create, rng: systemRng, clock: systemClock });
        if (create) s.identities.create(storedIdentityOf(generateIdentity(systemRng), 'relay', Date.now()));
        return nodeStoreFrom(s);
      };
      const first = setup(open(true));
      const s = first.open();
      // 300,000 tags: 1.2 MB of fingerprints, two values.
      const tags = fill(s.cache, 150_000, 150_000);
      s.save();
      assert.equal(first.kept().length, 2);
      const more = fill(s.cache, 0, 1_000);
      assert.equal(s.flush(), 'appended');
      first.store.close(); // no save: a crash

      const second = setup(open(false));
      const back = second.open().cache;
      assert.equal(back.size(), 301_000);
      assert.equal(second.kept().length, 2);
      assert.equal(second.rows().length, 1);
      for (let i = 0; i < tags.length; i += 997) assert.equal(back.check(tags[i] as Uint8Array, i < 150_000 ? 99 : 100, 'mallory'), 'replay');
      more.forEach((t) => assert.equal(back.check(t, 100, 'mallory'), 'replay'));
      second.store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('node: the onion replay journal (a crash loses one flush interval at most)', () => {
  it('after a crash (a second open, no save), every tag flushed before it is refused; those after the last flush are lost', () => {
    const { open, rows, logs } = setup();
    const s = open();
    const saved = fill(s.cache, 0, 20);
    s.save();
    const flushed = fill(s.cache, 5, 10);
    assert.equal(s.flush(), 'appended');
    const flushed2 = fill(s.cache, 0, 7);
    assert.equal(s.flush(), 'appended');
    const lost = fill(s.cache, 0, 3);
    assert.equal(rows().length, 2);

    const back = open();
    assert.equal(back.cache.size(), 42);
    for (const [t, e] of [...saved.map((t) => [t, 100] as const), ...flushed.map((t, i) => [t, i < 5 ? 99 : 100] as const), ...flushed2.map((t) => [t, 100] as const)]) {
      assert.equal(back.cache.check(t, e, 'mallory'), 'replay');
    }
    // The documented window: recorded after the last flush, not in the store.
    lost.forEach((t) => assert.equal(back.cache.check(t, 100, 'mallory'), 'new'));
    assert.deepEqual(logs.find('onion replay cache restored').at(-1)?.journalRows, 2);

    // The restored node goes on journalling after the old rows (not over them), then crashes again.
    assert.equal(back.flush(), 'appended');
    assert.equal(rows().length, 3);
    assert.equal(open().cache.size(), 45);
  });

  it('flushes only when something new was recorded', () => {
    const { open, rows } = setup(undefined, { maxPerEpoch: 16 });
    const s = open();
    assert.equal(s.flush(), 'idle', 'nothing recorded');
    const [t] = fill(s.cache, 0, 1);
    assert.equal(s.flush(), 'appended');
    assert.equal(s.flush(), 'idle', 'nothing since the last flush');
    assert.equal(s.cache.check(t as Uint8Array, 100, 'mallory'), 'replay');
    assert.equal(s.flush(), 'idle', 'a replay records nothing');
    fill(s.cache, 0, 2); // hop-0's share of 16 / 8
    assert.equal(s.cache.check(rng.bytes(16), 100, 'hop-0'), 'full');
    assert.equal(s.flush(), 'appended');
    assert.equal(s.cache.check(rng.bytes(16), 100, 'hop-0'), 'full');
    assert.equal(s.flush(), 'idle', 'a refusal for a full share records nothing');
    assert.equal(rows().length, 2);
  });

  it('the per-hop counters come back with the journal: a hop that used its share before a crash still has', () => {
    const { open } = setup(undefined, { maxPerEpoch: 80 }); // a share of 10 per previous hop
    const s = open();
    for (const t of tagsOf(6)) assert.equal(s.cache.check(t, 100, 'eve'), 'new');
    s.save();
    for (const t of tagsOf(4)) assert.equal(s.cache.check(t, 100, 'eve'), 'new');
    for (const t of tagsOf(3)) assert.equal(s.cache.check(t, 100, 'bob'), 'new');
    assert.equal(s.flush(), 'appended');
    const back = open().cache;
    assert.equal(back.check(rng.bytes(16), 100, 'eve'), 'full', "eve's 10: 6 from the snapshot, 4 from the journal");
    for (const t of tagsOf(7)) assert.equal(back.check(t, 100, 'bob'), 'new');
    assert.equal(back.check(rng.bytes(16), 100, 'bob'), 'full');
  });

  it('a garbled journal row is refused with a DecodeError and logged; the snapshot and the other rows are used', () => {
    const { open, rows, store, logs } = setup();
    const s = open();
    const a = fill(s.cache, 0, 4);
    s.save();
    const b = fill(s.cache, 0, 5);
    assert.equal(s.flush(), 'appended');
    const c = fill(s.cache, 0, 6);
    assert.equal(s.flush(), 'appended');
    const d = fill(s.cache, 0, 7);
    assert.equal(s.flush(), 'appended');
    const [, second, third] = rows().sort() as [string, string, string];
    const row = store.meta.get(second) as Uint8Array;
    store.transaction(() => {
      store.meta.set(second, row.subarray(0, row.length - 1)); // truncated
      // Decodes, but its tags are held already (the snapshot's): no cache could have journalled them.
      store.meta.set(`${REPLAY_JOURNAL_PREFIX}999999999999`, store.meta.get(third) as Uint8Array);
    });
    const back = open().cache;
    assert.equal(back.size(), 4 + 5 + 7);
    for (const t of [...a, ...b, ...d]) assert.equal(back.check(t, 100, 'mallory'), 'replay');
    c.forEach((t) => assert.equal(back.check(t, 100, 'mallory'), 'new', 'the garbled row only is lost'));
    const refused = logs.find('onion replay journal row refused');
    assert.deepEqual(
      refused.map((l) => [l.row, (l.error as { name?: string; code?: string }).name, (l.error as { code?: string }).code]),
      [
        [second, 'DecodeError', 'INVALID_LENGTH'],
        [`${REPLAY_JOURNAL_PREFIX}999999999999`, 'DecodeError', 'STATE_CORRUPT'],
      ],
    );
    assert.equal(logs.find('onion replay cache restored').at(-1)?.refused, 2);
  });

  it('epochs no longer live are dropped from the journal too', () => {
    const { open } = setup();
    const s = open(100);
    fill(s.cache, 10, 0);
    const cur = fill(s.cache, 0, 10);
    assert.equal(s.flush(), 'appended');
    const next = open(101);
    assert.equal(next.cache.size(), 10, "epoch 99's tags dropped from the row: its key is gone");
    cur.forEach((t) => assert.equal(next.cache.check(t, 100, 'mallory'), 'replay'));
    assert.equal(open(102).cache.size(), 0);
    assert.equal(open(99).cache.size(), 10, 'the clock went back: the later epoch dropped from the row');
  });

  it('compacts past its bounds: a fresh snapshot and the journal cleared in one transaction, the state unchanged', () => {
    const { open, rows, kept } = setup(undefined, { journalLimits: { rows: 3, bytes: JOURNAL_LIMITS.bytes } });
    const s = open();
    const all: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) {
      all.push(...fill(s.cache, 0, 2));
      assert.equal(s.flush(), 'appended');
    }
    assert.equal(rows().length, 3);
    assert.deepEqual(kept(), [], 'no snapshot yet: no clean stop');
    all.push(...fill(s.cache, 0, 2));
    assert.equal(s.flush(), 'compacted', 'a fourth row would pass the bound');
    assert.deepEqual(rows(), []);
    assert.equal(kept().length, 1);
    assert.deepEqual(s.journal(), { rows: 0, bytes: 0 });
    assert.equal(s.flush(), 'idle', 'everything is in the snapshot');
    all.push(...fill(s.cache, 0, 2));
    assert.equal(s.flush(), 'appended');
    const back = open().cache;
    assert.equal(back.size(), 10);
    all.forEach((t) => assert.equal(back.check(t, 100, 'mallory'), 'replay'));

    // The byte bound: a row of 20 tags from 8 hops is 184 bytes (2 + 14 + 8 × 11 + 20 × 4).
    const small = setup(undefined, { journalLimits: { rows: 100, bytes: 200 } });
    const t = small.open();
    fill(t.cache, 0, 20);
    assert.equal(t.flush(), 'appended');
    assert.deepEqual(t.journal(), { rows: 1, bytes: 184 });
    fill(t.cache, 0, 20);
    assert.equal(t.flush(), 'compacted');
    assert.equal(small.open().cache.size(), 40);
  });

  it('a flush the store refuses is logged once and retried: the next one carries its tags', () => {
    const base = memoryNodeStore(generateIdentity(systemRng), 'relay');
    let down = false;
    const flaky: NodeStore = {
      ...base,
      transaction: (fn) => {
        if (down) throw new Error('disk full');
        return base.transaction(fn);
      },
    };
    const { open, logs } = setup(flaky);
    const s = open();
    const before = fill(s.cache, 0, 3);
    down = true;
    assert.equal(s.flush(), 'failed');
    const during = fill(s.cache, 0, 2);
    assert.equal(s.flush(), 'failed');
    assert.equal(logs.find('onion replay journal not written').length, 1, 'once per run of failures');
    down = false;
    assert.equal(s.flush(), 'appended');
    const back = open().cache;
    for (const t of [...before, ...during]) assert.equal(back.check(t, 100, 'mallory'), 'replay');
  });
});
