/**
 * The indexed memory peer table (src/store/peers.ts memoryPeerTable / memoryPeerRepository) against a
 * naive reference — the filter-and-sort implementation it replaced — over random operation sequences
 * with transactions that commit, throw, or nest a caught failure (fast-check). Scores and times come
 * from small sets so that ties on (score, lastSeen) are frequent: that is where byWorst and byRank
 * part ways, and where an ordered index goes wrong first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createPeerPolicy } from '../../../src/routing/peer-policy.ts';
import { mapDelete, mapSet, memoryTransactions, noUndo, type MemoryTransactions, type UndoLog } from '../../../src/store/memory-tx.ts';
import { applyUpsert, byRank, byWorst, checkScore, copyPeer, isUnverified, type PeerPolicy, type PeerRecord, type PeerRepository, type PeerSource, type PeerTableAccess, type UpsertResult } from '../../../src/store/peers.ts';
import { memoryPeerRepository, memoryPeerTable } from '../../../src/store/peers-memory.ts';

/** The table as it was before the indexes: every query filters and sorts the whole map. */
function naiveTable(log: UndoLog = noUndo): PeerTableAccess & { rows: Map<string, PeerRecord> } {
  const rows = new Map<string, PeerRecord>();
  return {
    rows,
    get: (id) => rows.get(id),
    byPrefix: (prefix) => [...rows.values()].filter((p) => p.prefix === prefix),
    bySource: (source) => [...rows.values()].filter((p) => p.source === source),
    total: () => rows.size,
    worst: (n, except) => [...rows.values()].filter((p) => p.peerId !== except).sort(byWorst).slice(0, n),
    unverified: () => [...rows.values()].filter(isUnverified).length,
    worstUnverified: (n, except) => [...rows.values()].filter((p) => p.peerId !== except && isUnverified(p)).sort(byWorst).slice(0, n),
    put: (p) => mapSet(log, rows, p.peerId, p),
    delete: (id) => void mapDelete(log, rows, id),
  };
}

function naiveRepository(policy: PeerPolicy, log: UndoLog): PeerRepository {
  const t = naiveTable(log);
  const rows = t.rows;
  return {
    upsert: (s) => applyUpsert(t, policy, s),
    recordOutcome(peerId, ok, now) {
      const p = rows.get(peerId);
      if (!p) return undefined;
      const score = checkScore(policy.scoreAfter(p.score, ok));
      mapSet(log, rows, peerId, { ...p, score, lastSeen: ok ? Math.max(p.lastSeen, now) : p.lastSeen, reachedAt: ok ? Math.max(p.reachedAt ?? now, now) : p.reachedAt });
      return score;
    },
    prune(now) {
      const stale = [...rows.values()].filter((p) => policy.isStale(p, now)).map((p) => p.peerId);
      for (const id of stale) mapDelete(log, rows, id);
      return stale;
    },
    get: (id) => {
      const p = rows.get(id);
      return p ? copyPeer(p) : undefined;
    },
    list: (limit = Number.MAX_SAFE_INTEGER) => [...rows.values()].sort(byRank).slice(0, limit).map(copyPeer),
    count: () => rows.size,
    remove: (id) => mapDelete(log, rows, id),
  };
}

/** A step is an operation or a transaction of steps that commits or throws (nesting included). */
type Step<O> = { kind: 'op'; op: O } | { kind: 'tx'; steps: Step<O>[]; throws: boolean };

function steps<O>(op: fc.Arbitrary<O>): fc.Arbitrary<Step<O>[]> {
  const leaf = op.map((o): Step<O> => ({ kind: 'op', op: o }));
  const tx = (inner: fc.Arbitrary<Step<O>>): fc.Arbitrary<Step<O>> =>
    fc.record({ kind: fc.constant('tx' as const), steps: fc.array(inner, { maxLength: 8 }), throws: fc.boolean() });
  const step = fc.oneof({ weight: 6, arbitrary: leaf }, { weight: 1, arbitrary: tx(fc.oneof({ weight: 4, arbitrary: leaf }, { weight: 1, arbitrary: tx(leaf) })) });
  return fc.array(step, { minLength: 10, maxLength: 120 });
}

/** Runs the steps on both subjects; `each` applies one op to one subject and checks after every op. */
function run<O, S>(list: Step<O>[], subjects: readonly [{ tx: MemoryTransactions; s: S }, { tx: MemoryTransactions; s: S }], each: (s: S, o: O) => unknown, check: () => void): void {
  const runOn = (sub: { tx: MemoryTransactions; s: S }, st: Step<O>, out: unknown[]): void => {
    if (st.kind === 'op') {
      out.push(each(sub.s, st.op));
      return;
    }
    try {
      sub.tx.transaction(() => {
        for (const inner of st.steps) runOn(sub, inner, out);
        if (st.throws) throw new Error('rollback');
      });
      out.push('committed');
    } catch (e) {
      if (!(e instanceof Error) || e.message !== 'rollback') throw e;
      out.push('rolled back');
    }
  };
  for (const [i, st] of list.entries()) {
    const a: unknown[] = [];
    const b: unknown[] = [];
    runOn(subjects[0], st, a);
    runOn(subjects[1], st, b);
    assert.deepEqual(a, b, `results of step ${i}`);
    check();
  }
}

const ID = fc.nat(15).map((n) => `p${n}`);
const PREFIXES = ['ip4:1.1', 'ip4:2.2', 'lan:10.0', 'loopback'];
const SOURCES: PeerSource[] = ['dht', 'mdns', 'direct', 'gossip:a', 'gossip:b'];

describe('indexed memory peer table', () => {
  it('answers every PeerTableAccess query as the naive filter-and-sort table does', () => {
    const record = fc.record({
      peerId: ID,
      score: fc.constantFrom(0, 0.25, 0.5, 0.75, 1),
      lastSeen: fc.nat(3),
      prefix: fc.constantFrom(...PREFIXES),
      source: fc.constantFrom(...SOURCES),
      reachedAt: fc.constantFrom(null, 1),
    }).map((r): PeerRecord => ({ ...r, addresses: [], capabilities: [], routingKey: null, firstSeen: 0 }));
    type TableOp = { kind: 'put'; p: PeerRecord } | { kind: 'delete'; id: string };
    const op = fc.oneof(
      { weight: 3, arbitrary: record.map((p): TableOp => ({ kind: 'put', p })) },
      { weight: 1, arbitrary: ID.map((id): TableOp => ({ kind: 'delete', id })) },
    );
    const byId = (rows: readonly PeerRecord[]): PeerRecord[] => [...rows].sort((a, b) => (a.peerId < b.peerId ? -1 : 1));
    fc.assert(
      fc.property(steps(op), (list) => {
        const txA = memoryTransactions();
        const txB = memoryTransactions();
        const ours = memoryPeerTable(txA);
        const naive = naiveTable(txB);
        const apply = (t: PeerTableAccess, o: TableOp): unknown => (o.kind === 'put' ? t.put(o.p) : t.delete(o.id));
        run(list, [{ tx: txA, s: ours as PeerTableAccess }, { tx: txB, s: naive }], apply, () => {
          assert.equal(ours.total(), naive.total());
          assert.equal(ours.unverified(), naive.unverified());
          assert.deepEqual([...ours.values()], [...naive.rows.values()], 'rows, in insertion order (prune reports in it)');
          for (const prefix of PREFIXES) assert.deepEqual(byId(ours.byPrefix(prefix)), byId(naive.byPrefix(prefix)), `byPrefix ${prefix}`);
          for (const source of SOURCES) assert.deepEqual(byId(ours.bySource(source)), byId(naive.bySource(source)), `bySource ${source}`);
          for (const except of ['p0', 'p7', 'nobody']) {
            for (const n of [0, 1, 4, 20]) assert.deepEqual(ours.worst(n, except), naive.worst(n, except), `worst(${n}, ${except})`);
            for (const n of [0, 1, 4, 20]) assert.deepEqual(ours.worstUnverified(n, except), naive.worstUnverified(n, except), `worstUnverified(${n}, ${except})`);
          }
          const ranked = [...naive.rows.values()].sort(byRank);
          for (const n of [0, 1, 3, 32, 100]) assert.deepEqual(ours.ranked(n), ranked.slice(0, n), `ranked(${n})`);
          for (let i = 0; i < 16; i++) assert.equal(ours.get(`p${i}`), naive.get(`p${i}`));
        });
      }),
      { numRuns: 300, seed: 20261125 },
    );
  });

  it('gives the same repository answers, in the same order, as the naive repository under the default policy', () => {
    type RepoOp =
      | { kind: 'upsert'; peer: number; net: number; source: number; at: number }
      | { kind: 'outcome'; peer: number; ok: boolean; at: number }
      | { kind: 'prune'; at: number }
      | { kind: 'remove'; peer: number }
      | { kind: 'list'; limit: number };
    const op: fc.Arbitrary<RepoOp> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('upsert' as const), peer: fc.nat(30), net: fc.nat(4), source: fc.nat(4), at: fc.nat(20) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('outcome' as const), peer: fc.nat(30), ok: fc.boolean(), at: fc.nat(20) }) },
      fc.record({ kind: fc.constant('prune' as const), at: fc.nat(60) }),
      fc.record({ kind: fc.constant('remove' as const), peer: fc.nat(30) }),
      fc.record({ kind: fc.constant('list' as const), limit: fc.nat(12) }),
    );
    // Small caps, so refusals and evictions through every group (prefix, source, unverified, table) are common.
    const options = { maxPerPrefix: 3, maxPerLanPrefix: 4, maxPerGossipSource: 3, maxFromDht: 4, maxFromMdns: 4, maxPeers: 9, maxAgeMs: 30, scoreFloor: 0.2, minUnverified: 1 };
    const nets = ['/ip4/20.1.0.1', '/ip4/21.1.0.1', '/ip4/10.0.0.1', '/ip4/127.0.0.1', '/ip4/22.2.0.1'];
    const apply = (r: PeerRepository, o: RepoOp): unknown => {
      switch (o.kind) {
        case 'upsert':
          return r.upsert({ peerId: `p${o.peer}`, addresses: [`${nets[o.net] ?? ''}/tcp/${o.peer}`], source: SOURCES[o.source] ?? 'dht', seenAt: o.at });
        case 'outcome':
          return r.recordOutcome(`p${o.peer}`, o.ok, o.at);
        case 'prune':
          return r.prune(o.at);
        case 'remove':
          return r.remove(`p${o.peer}`);
        case 'list':
          return r.list(o.limit);
      }
    };
    const seen = { evicted: 0, refused: 0 };
    fc.assert(
      fc.property(steps(op), (list) => {
        const txA = memoryTransactions();
        const txB = memoryTransactions();
        const ours = memoryPeerRepository(createPeerPolicy(options), txA);
        const naive = naiveRepository(createPeerPolicy(options), txB);
        run(list, [{ tx: txA, s: ours }, { tx: txB, s: naive }], (r, o) => {
          const out = apply(r, o);
          if (r === ours && o.kind === 'upsert') {
            const u = out as UpsertResult;
            if (u.outcome === 'refused') seen.refused++;
            else if (u.evicted.length > 0) seen.evicted++;
          }
          return out;
        }, () => {
          assert.deepEqual(ours.list(), naive.list());
          assert.equal(ours.count(), naive.count());
        });
      }),
      { numRuns: 400, seed: 20261125 },
    );
    assert.ok(seen.refused > 100 && seen.evicted > 50, `refused ${seen.refused}, evicted ${seen.evicted}`);
  });
});
