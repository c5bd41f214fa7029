/**
 * The onion replay cache kept across a clean restart (src/node/onion-replay-store.ts) in a node
 * store: saved at stop, restored and deleted at start (a later crash must not restore it), only the
 * live epochs kept, over several meta values when large; a bad snapshot is logged and the node
 * starts empty — never an exception. The sqlite store checks the 1 MiB per value limit.
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
import { openReplayCache, REPLAY_SNAPSHOT_PREFIX, saveReplayCache } from '../../src/node/onion-replay-store.ts';
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

function setup(store: NodeStore = memoryNodeStore(generateIdentity(systemRng), 'relay')) {
  const logs = captureLogger();
  const deps = { store, rng, log: logs.logger };
  return { store, logs, deps, kept: () => store.meta.keys(REPLAY_SNAPSHOT_PREFIX) };
}

/** `n` tags of epoch 99 and `m` of epoch 100, recorded in a fresh cache opened from `deps`. */
function fill(cache: ReplayCache, n: number, m: number): Uint8Array[] {
  const tags = tagsOf(n + m);
  tags.forEach((t, i) => assert.equal(cache.check(t, i < n ? 99 : 100, `hop-${i % 8}`), 'new'));
  return tags;
}

describe('node: the onion replay cache across a restart', () => {
  it('saved at stop, restored at start with every tag refused, and the saved keys gone once restored', () => {
    const { deps, kept, logs } = setup();
    const cache = openReplayCache(deps, 100);
    assert.equal(cache.size(), 0, 'nothing saved yet');
    const tags = fill(cache, 30, 20);
    saveReplayCache(deps, cache);
    assert.equal(kept().length, 1);
    assert.equal(logs.find('onion replay cache saved').length, 1);

    const back = openReplayCache(deps, 100);
    assert.deepEqual(kept(), [], 'deleted at start: a crash later must not restore it');
    assert.equal(back.size(), 50);
    tags.forEach((t, i) => assert.equal(back.check(t, i < 30 ? 99 : 100, 'mallory'), 'replay'));
    assert.equal(logs.find('onion replay cache restored').length, 1);
    assert.equal(openReplayCache(deps, 100).size(), 0, 'restored once: the next start without a save starts empty');
    saveReplayCache(deps, openReplayCache(deps, 100));
    assert.deepEqual(kept(), [], 'an empty cache writes nothing');
  });

  it('keeps the live epochs only: after one rotation the previous one, after two none', () => {
    const { deps } = setup();
    const cache = openReplayCache(deps, 100);
    const tags = fill(cache, 10, 10);
    saveReplayCache(deps, cache);
    const next = openReplayCache(deps, 101);
    assert.equal(next.size(), 10, "epoch 99's set dropped: its key is gone");
    tags.slice(10).forEach((t) => assert.equal(next.check(t, 100, 'mallory'), 'replay'));
    saveReplayCache(deps, next);
    assert.equal(openReplayCache(deps, 102).size(), 0);
    saveReplayCache(deps, cache);
    const behind = openReplayCache(deps, 99);
    assert.equal(behind.size(), 10, 'the clock went back: the later epoch is dropped, not kept ahead of the keys');
    assert.equal(behind.check(rng.bytes(16), 99, 'p'), 'new', 'and packets of the current epoch are taken');
  });

  it('a garbled, mixed or unknown snapshot is logged and deleted, and the cache starts empty', () => {
    const { deps, kept, logs, store } = setup();
    const cache = openReplayCache(deps, 100);
    fill(cache, 100, 100);
    const bytes = encodeReplaySnapshot(cache.snapshot());
    const bad: Uint8Array[] = [
      bytes.subarray(0, bytes.length - 3), // truncated
      Uint8Array.of(9, ...bytes.subarray(1)), // another version
      Uint8Array.from(bytes, (b, i) => (i === 20 ? b ^ 0x40 : b)), // a garbled counter: they no longer add up
    ];
    for (const b of bad) {
      saveChunked(store, REPLAY_SNAPSHOT_PREFIX, b, rng, 256);
      assert.equal(openReplayCache(deps, 100).size(), 0);
      assert.deepEqual(kept(), []);
    }
    // Chunks of two snapshots: a stop that wrote a smaller one over a larger one without its delete.
    saveChunked(store, REPLAY_SNAPSHOT_PREFIX, bytes, rng, 256);
    const stale = store.meta.get(`${REPLAY_SNAPSHOT_PREFIX}1`) as Uint8Array;
    assert.ok(saveChunked(store, REPLAY_SNAPSHOT_PREFIX, bytes, rng, 256) > 2);
    store.transaction(() => store.meta.set(`${REPLAY_SNAPSHOT_PREFIX}1`, stale));
    assert.equal(openReplayCache(deps, 100).size(), 0);
    assert.deepEqual(kept(), []);
    const warned = logs.find('onion replay cache not restored, starting empty');
    assert.equal(warned.length, 4);
    assert.deepEqual(
      warned.map((l) => (l.error as { code?: string }).code),
      ['INVALID_LENGTH', 'UNSUPPORTED_VERSION', 'STATE_CORRUPT', 'STATE_CORRUPT'],
    );
  });

  it('a store that fails is logged: start and stop go on', () => {
    const { deps, logs, store } = setup();
    const cache = openReplayCache(deps, 100);
    fill(cache, 5, 5);
    const broken: NodeStore = {
      ...store,
      transaction: () => {
        throw new Error('disk gone');
      },
    };
    saveReplayCache({ ...deps, store: broken }, cache);
    assert.equal(logs.find('onion replay cache not saved').length, 1);
    assert.equal(openReplayCache({ ...deps, store: broken }, 100).size(), 0);
    assert.equal(logs.find('onion replay cache not restored, starting empty').length, 1);
  });

  it('in a sqlite store, a snapshot over 1 MiB is split in values the store takes, and restored whole', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compeer-replay-'));
    try {
      const open = (create: boolean): NodeStore => {
        const s = openStore({ dir, create, rng: systemRng, clock: systemClock });
        if (create) s.identities.create(storedIdentityOf(generateIdentity(systemRng), 'relay', Date.now()));
        return nodeStoreFrom(s);
      };
      const first = setup(open(true));
      const cache = openReplayCache(first.deps, 100);
      // 300,000 tags: 1.2 MB of fingerprints, two values.
      const tags = fill(cache, 150_000, 150_000);
      saveReplayCache(first.deps, cache);
      assert.equal(first.kept().length, 2);
      first.store.close();

      const second = setup(open(false));
      const back = openReplayCache(second.deps, 100);
      assert.equal(back.size(), 300_000);
      assert.deepEqual(second.kept(), []);
      for (let i = 0; i < tags.length; i += 997) assert.equal(back.check(tags[i] as Uint8Array, i < 150_000 ? 99 : 100, 'mallory'), 'replay');
      second.store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
