/** Mailbox holders (src/routing/closest.ts): XOR-closest peers agree with a brute-force BigInt sort and do not depend on input order. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closestPeers, peerKey } from '../../src/routing/closest.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { toHex, utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';

const rng = deterministicRng(utf8('compeer/test/closest'), sha256);
const big = (b: Uint8Array): bigint => BigInt(`0x${toHex(b)}`);

function bruteForce(target: Uint8Array, ids: readonly string[], r: number): string[] {
  const t = big(target);
  return [...new Set(ids)]
    .map((id) => ({ id, d: big(peerKey(id)) ^ t }))
    .sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : a.id < b.id ? -1 : 1))
    .slice(0, r)
    .map((x) => x.id);
}

function shuffle<T>(xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = (rng.bytes(1)[0] as number) % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('closestPeers', () => {
  it('peerKey is SHA-256 of the UTF-8 peer ID', () => {
    assert.deepEqual(peerKey('12D3KooWabc'), sha256(utf8('12D3KooWabc')));
    assert.equal(peerKey('x').length, 32);
  });

  it('matches a brute-force sort of XOR distances for many targets, sizes and r', () => {
    for (let round = 0; round < 50; round++) {
      const n = (rng.bytes(1)[0] as number) % 60;
      const ids = Array.from({ length: n }, () => `12D3KooW${toHex(rng.bytes(6))}`);
      const target = rng.bytes(32);
      for (const r of [0, 1, 3, 8, 100]) {
        const got = closestPeers(target, ids.map((peerId) => ({ peerId })), r).map((p) => p.peerId);
        assert.deepEqual(got, bruteForce(target, ids, r), `round ${round} r ${r}`);
      }
    }
  });

  it('a peer that is its own target comes first; the answer is independent of input order; duplicates count once', () => {
    const ids = Array.from({ length: 40 }, (_, i) => `peer-${i}`);
    const target = peerKey('peer-17');
    const a = closestPeers(target, ids.map((peerId) => ({ peerId })), 5);
    assert.equal(a[0]?.peerId, 'peer-17');
    for (let i = 0; i < 10; i++) {
      const b = closestPeers(target, shuffle([...ids, ...ids.slice(0, 10)]).map((peerId) => ({ peerId })), 5);
      assert.deepEqual(b.map((p) => p.peerId), a.map((p) => p.peerId));
    }
  });

  it('returns the caller’s objects and keeps their extra fields', () => {
    const peers = [{ peerId: 'a', score: 1 }, { peerId: 'b', score: 2 }];
    const got = closestPeers(new Uint8Array(32), peers, 2);
    assert.ok(got.every((p) => peers.includes(p)));
  });

  it('rejects a target that is not 32 bytes and a negative r', () => {
    assert.throws(() => closestPeers(new Uint8Array(31), [], 1), { code: 'INVALID_LENGTH' });
    assert.throws(() => closestPeers(new Uint8Array(32), [], -1), { code: 'INVALID_ARGUMENT' });
  });
});
