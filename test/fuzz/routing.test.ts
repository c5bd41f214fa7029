/**
 * Fuzz of what src/routing/ parses: the exit payload and hop answer (exit-frame.ts), chunks and their
 * reassembly (chunks.ts: random and mutated chunks never throw untyped, the reassembler stays within
 * its set and byte bounds, and a real payload still reassembles afterwards), and the onion replay
 * cache's snapshot read from disk (replay-snapshot.ts, and restoring a cache from a decoded one).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sha256 } from '../../src/crypto/hash.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { CompeerError } from '../../src/lib/errors.ts';
import { chunkPayload, createReassembler, parseChunk, CHUNK_HEADER_LENGTH } from '../../src/routing/chunks.ts';
import { decodeExit, decodeHopAnswer, encodeExit, encodeHopAnswer } from '../../src/routing/exit-frame.ts';
import { createReplayCache } from '../../src/routing/onion-replay.ts';
import { addressPrefix, parseIpv4, parseIpv6 } from '../../src/routing/peer-policy.ts';
import { decodeReplaySnapshot, encodeReplaySnapshot } from '../../src/routing/replay-snapshot.ts';
import { attempt, bytesArb, checkEncodes, fuzzCodec, textArb, mutateAll, mutationsArb, params, sameBytes } from './_fuzz.ts';

const rng = deterministicRng(sha256(utf8('compeer/fuzz/routing')), sha256);

describe('fuzz: exit payloads and hop answers (src/routing/exit-frame.ts)', () => {
  fuzzCodec(it, {
    name: 'exit payload',
    decode: decodeExit,
    encode: encodeExit,
    samples: [encodeExit({ kind: 'deliver', chunk: rng.bytes(100) }), encodeExit({ kind: 'deposit', deposit: rng.bytes(300) })],
  });
  fuzzCodec(it, {
    name: 'hop answer',
    decode: decodeHopAnswer,
    encode: encodeHopAnswer,
    samples: [encodeHopAnswer({ status: 'ok', depth: 0 }), encodeHopAnswer({ status: 'refused', depth: 3 }), encodeHopAnswer({ status: 'busy', depth: 8 })],
  });
});

describe('fuzz: chunks (src/routing/chunks.ts)', () => {
  const payload = rng.bytes(2000);
  const chunks = chunkPayload(payload, 300, rng);
  fuzzCodec(it, {
    name: 'chunk',
    decode: parseChunk,
    encode: (c) => Uint8Array.of(...c.setId, c.index, c.count, ...c.data),
    samples: [...chunks.slice(0, 3), ...chunkPayload(rng.bytes(10), 300, rng)],
  });

  it('any payload, cut at any capacity, parses and reassembles (in any order) to itself, or is refused typed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 0, max: 400 }), fc.nat(), (data, capacity, seed) => {
        let chunks: Uint8Array[];
        try {
          chunks = chunkPayload(data, capacity, rng);
        } catch (e) {
          // The sender's side: a capacity below the header or a payload over 64 chunks is the caller's mistake.
          assert.ok(e instanceof CompeerError, String(e));
          return;
        }
        const parts = chunks.map(parseChunk);
        assert.ok(parts.every((p) => p.count === chunks.length) && chunks.every((c) => c.length <= capacity));
        const order = chunks.map((c, i) => [c, (i * 7919 + seed) % 1000] as const).sort((a, b) => a[1] - b[1]).map(([c]) => c);
        const re = createReassembler({ clock: () => 0 });
        let out: Uint8Array | undefined;
        for (const c of order) out = re.add(c) ?? out;
        assert.ok(out !== undefined && sameBytes(out, data));
      }),
      params(400),
    );
  });

  it('the reassembler under random and mutated chunks: typed errors only, bounded, and a real payload still gets through', () => {
    const maxSets = 4;
    const maxBytes = 4096;
    fc.assert(
      fc.property(
        fc.array(fc.record({ random: fc.boolean(), junk: bytesArb(400), i: fc.nat({ max: chunks.length - 1 }), ms: mutationsArb, dt: fc.nat({ max: 5000 }) }), { minLength: 1, maxLength: 60 }),
        (steps) => {
          let now = 1_000_000;
          const r = createReassembler({ clock: () => now, maxSets, maxBytes, ttlMs: 60_000, maxCompleted: 16 });
          for (const s of steps) {
            now += s.dt;
            const c = s.random ? s.junk : mutateAll(chunks[s.i] as Uint8Array, s.ms);
            const out = attempt('reassembler.add', () => r.add(c));
            // A forged chunk may complete a set (integrity is the envelope's job), but never more than the bound.
            if (out.ok && out.value !== undefined) assert.ok(out.value.length <= 64 * (400 + CHUNK_HEADER_LENGTH));
            assert.ok(r.pending() <= maxSets, `at most ${maxSets} incomplete sets`);
          }
          // A real payload afterwards, its chunks in reverse order.
          const fresh = rng.bytes(1000);
          let got: Uint8Array | undefined;
          for (const c of chunkPayload(fresh, 300, rng).reverse()) got = r.add(c) ?? got;
          assert.ok(got !== undefined && sameBytes(got, fresh), 'a real payload reassembles after the fuzz');
        },
      ),
      params(300),
    );
  });
});

describe('fuzz: replay snapshots (src/routing/replay-snapshot.ts)', () => {
  const cache = createReplayCache({ rng, maxPerEpoch: 1 << 12, hopShares: 1 });
  const hops = ['12D3KooWalice', 'bob', 'żółw'];
  for (let i = 0; i < 60; i++) cache.check(rng.bytes(16), i < 30 ? 41 : 42, hops[i % 3] as string);
  const one = createReplayCache({ rng, maxPerEpoch: 1 << 12, hopShares: 1 });
  one.check(rng.bytes(16), 7, 'x');
  const samples = [encodeReplaySnapshot(cache.snapshot()), encodeReplaySnapshot(one.snapshot()), encodeReplaySnapshot({ epochs: [] })];
  fuzzCodec(it, {
    name: 'replay snapshot',
    decode: decodeReplaySnapshot,
    encode: encodeReplaySnapshot,
    samples,
    mutationRuns: 1600,
    // A snapshot that decodes is restored or refused typed (onion-replay.ts `from`), never crashes.
    extra: (s) => void attempt('createReplayCache from a decoded snapshot', () => createReplayCache({ rng, maxPerEpoch: 1 << 12, from: s })),
  });
  it('replay snapshot: any snapshot value encodes to bytes that decode back to it (or is refused typed)', () => {
    const epoch = fc.record({
      epoch: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
      hops: fc.uniqueArray(fc.tuple(textArb(30), fc.nat()), { maxLength: 6, selector: ([n]) => n }).map((e) => new Map(e)),
      fingerprints: fc.uint32Array({ maxLength: 40 }),
    });
    fc.assert(fc.property(fc.array(epoch, { maxLength: 2 }), (epochs) => checkEncodes('replay snapshot', { epochs }, encodeReplaySnapshot, decodeReplaySnapshot)), params(500));
  });
  it('replay snapshot: a huge fingerprint count is refused before allocating', () => {
    const b = samples[1] as Uint8Array;
    // The count sits 4 + 4 bytes before the end (one fingerprint follows it).
    for (const v of [0xffffffff, 1 << 24, (1 << 24) + 1]) {
      const g = b.slice();
      new DataView(g.buffer).setUint32(g.length - 8, v);
      assert.ok(!attempt('huge count', () => decodeReplaySnapshot(g)).ok);
    }
  });
});

describe('fuzz: address prefixes (src/routing/peer-policy.ts, addresses from announcements and peers)', () => {
  const part = fc.oneof(
    fc.constantFrom('ip4', 'ip6', 'dns4', 'dns', 'memory', 'tcp', 'p2p', '', '::', '::1', '1.2.3.4', '::ffff:10.0.0.1', 'fe80::1%eth0', '1:2:3:4:5:6:7:8', '256.1.1.1', '1::2::3'),
    fc.string({ maxLength: 12 }),
    fc.stringMatching(/^[0-9a-fA-F:.%]{0,40}$/),
  );
  it('addressPrefix, parseIpv4 and parseIpv6 never throw on any text', () => {
    fc.assert(
      fc.property(fc.array(part, { maxLength: 8 }), (parts) => {
        const addr = `/${parts.join('/')}`;
        addressPrefix(addr);
        for (const p of parts) {
          const v6 = parseIpv6(p);
          if (v6 !== undefined) assert.ok(v6.length === 8 && v6.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff), `parseIpv6(${p})`);
          const v4 = parseIpv4(p);
          if (v4 !== undefined) assert.ok(v4.every((b) => b >= 0 && b <= 255), `parseIpv4(${p})`);
        }
      }),
      params(1000),
    );
  });
});

