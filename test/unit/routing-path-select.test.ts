/**
 * Onion path selection (src/routing/path-select.ts), statistically over many seeded draws: excluded
 * peers never appear, diversity is maximal whenever the candidates allow, higher scores are likelier but
 * not certain, a Sybil-filled prefix is no likelier than a lone relay, penalized peers only fill gaps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_WEIGHT, pathDiversity, relayWeight, selectPath, type RelayCandidate } from '../../src/routing/path-select.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng, type Rng } from '../../src/lib/deps.ts';

const rng = deterministicRng(utf8('compeer/test/path-select'), sha256);
const none = new Set<string>();

function relay(peerId: string, prefix: string, score = 0.5): RelayCandidate {
  return { peerId, prefix, score, routingKey: new Uint8Array(32), addresses: [] };
}

function byte(r: Rng): number {
  return r.bytes(1)[0] as number;
}

/** Random candidate sets: up to 30 relays over up to 8 prefixes, random scores. */
function randomCandidates(r: Rng): RelayCandidate[] {
  const n = byte(r) % 31;
  const prefixes = 1 + (byte(r) % 8);
  return Array.from({ length: n }, (_, i) => relay(`p${i}`, `ip4:${byte(r) % prefixes}.0`, byte(r) / 255));
}

function counts(draws: number, f: () => RelayCandidate[]): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < draws; i++) for (const c of f()) m.set(c.peerId, (m.get(c.peerId) ?? 0) + 1);
  return m;
}

describe('selectPath', () => {
  it('never picks an excluded peer, never one peer twice, and returns min(hops, usable) relays', () => {
    for (let round = 0; round < 2000; round++) {
      const cands = randomCandidates(rng);
      const exclude = new Set(cands.filter(() => byte(rng) < 64).map((c) => c.peerId));
      const hops = byte(rng) % 6;
      const path = selectPath([...cands, ...cands.slice(0, 3)], { hops, exclude, rng });
      assert.ok(path.every((c) => !exclude.has(c.peerId)), 'excluded chosen');
      assert.equal(new Set(path.map((c) => c.peerId)).size, path.length, 'a peer twice');
      assert.equal(path.length, Math.min(hops, cands.length - exclude.size));
    }
  });

  it('diversity is maximal: min(hops, usable prefixes) distinct prefixes, spread as evenly as possible', () => {
    for (let round = 0; round < 2000; round++) {
      const cands = randomCandidates(rng);
      const exclude = new Set(cands.filter(() => byte(rng) < 40).map((c) => c.peerId));
      const usable = cands.filter((c) => !exclude.has(c.peerId));
      const hops = 1 + (byte(rng) % 6);
      const path = selectPath(cands, { hops, exclude, rng });
      const prefixes = new Set(usable.map((c) => c.prefix)).size;
      assert.equal(pathDiversity(path), Math.min(hops, prefixes, path.length));
    }
    const lan = Array.from({ length: 5 }, (_, i) => relay(`l${i}`, 'lan:192.168'));
    const path = selectPath(lan, { hops: 3, exclude: none, rng });
    assert.equal(path.length, 3, 'a one-prefix network still gets a full path');
    assert.equal(pathDiversity(path), 1);
    const two = [...Array.from({ length: 6 }, (_, i) => relay(`a${i}`, 'ip4:1.1', 1)), relay('b', 'ip4:2.2', 0)];
    const even = [...Array.from({ length: 6 }, (_, i) => relay(`e${i}`, 'ip4:1.1')), ...Array.from({ length: 6 }, (_, i) => relay(`g${i}`, 'ip4:2.2'))];
    for (let i = 0; i < 200; i++) {
      const p4 = selectPath(even, { hops: 4, exclude: none, rng });
      assert.equal(p4.filter((c) => c.prefix === 'ip4:1.1').length, 2, 'two prefixes, four hops: two each');
    }
    for (let i = 0; i < 200; i++) assert.ok(selectPath(two, { hops: 2, exclude: none, rng }).some((c) => c.peerId === 'b'), 'a second prefix is always used, whatever its score');
  });

  it('prefers higher scores, but every relay gets chosen sometimes', () => {
    const cands = Array.from({ length: 10 }, (_, i) => relay(`s${i}`, `ip4:${i}.0`, (i + 1) / 10));
    const draws = 20_000;
    const m = counts(draws, () => selectPath(cands, { hops: 1, exclude: none, rng }));
    const total = cands.reduce((a, c) => a + relayWeight(c.score), 0);
    for (const c of cands) {
      const expected = (draws * relayWeight(c.score)) / total;
      const got = m.get(c.peerId) ?? 0;
      assert.ok(Math.abs(got - expected) < 5 * Math.sqrt(expected), `${c.peerId}: ${got} vs ${expected.toFixed(0)}`);
    }
    assert.ok((m.get('s9') ?? 0) > 5 * (m.get('s0') ?? 0), 'score 1.0 well ahead of 0.1');
    const zero = [relay('z', 'ip4:9.9', 0), relay('one', 'ip4:8.8', 1)];
    const mz = counts(5000, () => selectPath(zero, { hops: 1, exclude: none, rng }));
    assert.ok((mz.get('z') ?? 0) > 0, `a zero score is unlikely, not impossible (weight ${MIN_WEIGHT})`);
    const m3 = counts(5000, () => selectPath(cands, { hops: 3, exclude: none, rng }));
    assert.ok((m3.get('s9') ?? 0) > 2 * (m3.get('s0') ?? 0), 'also over 3-hop paths');
  });

  it('a prefix full of Sybils is no likelier than a lone relay of the same score', () => {
    const sybils = Array.from({ length: 8 }, (_, i) => relay(`sy${i}`, 'ip4:6.6', 0.6));
    const cands = [...sybils, relay('honest', 'ip4:7.7', 0.6)];
    const draws = 4000;
    const m = counts(draws, () => selectPath(cands, { hops: 1, exclude: none, rng }));
    const honest = (m.get('honest') ?? 0) / draws;
    assert.ok(honest > 0.45 && honest < 0.55, `honest relay drawn ${honest}`);
  });

  it('penalized peers only when the others cannot fill the path', () => {
    const fresh = Array.from({ length: 5 }, (_, i) => relay(`f${i}`, `ip4:${i}.0`, 0.1));
    const bad = Array.from({ length: 3 }, (_, i) => relay(`x${i}`, `ip4:${10 + i}.0`, 1));
    const penalized = new Set(bad.map((c) => c.peerId));
    const cands = [...bad, ...fresh];
    for (let i = 0; i < 500; i++) {
      const path = selectPath(cands, { hops: 5, exclude: none, rng, penalized });
      assert.ok(path.every((c) => !penalized.has(c.peerId)), 'a penalized peer while fresh ones sufficed');
      const long = selectPath(cands, { hops: 7, exclude: none, rng, penalized });
      assert.equal(long.filter((c) => penalized.has(c.peerId)).length, 2, 'exactly the shortfall');
      assert.equal(long.filter((c) => !penalized.has(c.peerId)).length, 5, 'every fresh peer used first');
    }
    const shared = [relay('a', 'ip4:1.1'), relay('b', 'ip4:1.1'), relay('p1', 'ip4:1.1'), relay('p2', 'ip4:3.3')];
    const ps = new Set(['p1', 'p2']);
    for (let i = 0; i < 200; i++) {
      const path = selectPath(shared, { hops: 3, exclude: none, rng, penalized: ps });
      assert.equal(path[2]?.peerId, 'p2', 'the filler keeps diversity: the penalized peer on a new prefix');
    }
  });

  it('is a pure function of the rng: the same seed gives the same paths', () => {
    const cands = Array.from({ length: 20 }, (_, i) => relay(`d${i}`, `ip4:${i % 4}.0`, (i % 7) / 7));
    const run = (): string[] => {
      const r = deterministicRng(utf8('same seed'), sha256);
      return Array.from({ length: 20 }, () => selectPath(cands, { hops: 3, exclude: none, rng: r }).map((c) => c.peerId).join(','));
    };
    assert.deepEqual(run(), run());
    assert.ok(new Set(run()).size > 5, 'and not the same path every time');
  });

  it('rejects a bad hop count; zero hops is an empty path', () => {
    assert.throws(() => selectPath([], { hops: -1, exclude: none, rng }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => selectPath([], { hops: 1.5, exclude: none, rng }), { code: 'INVALID_ARGUMENT' });
    assert.deepEqual(selectPath([relay('a', 'x')], { hops: 0, exclude: none, rng }), []);
    assert.equal(relayWeight(Number.NaN), MIN_WEIGHT);
    assert.equal(relayWeight(7), 1 + MIN_WEIGHT);
  });
});
