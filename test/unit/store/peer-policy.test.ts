/** The pure peer-table policy (src/routing/peer-policy.ts): prefixes, scores, caps, staleness. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressPrefix, createPeerPolicy, decideAdmission, ewma, parseIpv6, prefixOf, unverifiedCap } from '../../../src/routing/peer-policy.ts';
import type { AdmissionView, PeerRecord } from '../../../src/store/peers.ts';

function peer(peerId: string, score: number, more: Partial<PeerRecord> = {}): PeerRecord {
  return { peerId, addresses: [], capabilities: [], routingKey: null, score, source: 'dht', prefix: 'ip4:1.2', firstSeen: 0, lastSeen: 0, reachedAt: null, ...more };
}

describe('peer policy', () => {
  it('derives /16 for IPv4, /48 for IPv6, and tags loopback, LAN, DNS, memory and none', () => {
    const cases: [string, string | undefined][] = [
      ['/ip4/1.2.3.4/tcp/4001/p2p/12D3KooW', 'ip4:1.2'],
      ['/ip4/127.5.0.1/tcp/1', 'loopback'],
      ['/ip4/10.9.8.7/tcp/1', 'lan:10.9'],
      ['/ip4/172.20.1.1/tcp/1', 'lan:172.20'],
      ['/ip4/172.32.1.1/tcp/1', 'ip4:172.32'],
      ['/ip4/192.168.1.5/udp/1/quic', 'lan:192.168'],
      ['/ip4/100.64.0.1/tcp/1', 'lan:100.64'],
      ['/ip6/2001:db8:abcd:12::1/tcp/1', 'ip6:2001:db8:abcd'],
      ['/ip6/2001:db8:abcd:ffff:1:2:3:4/tcp/1', 'ip6:2001:db8:abcd'],
      ['/ip6/::1/tcp/1', 'loopback'],
      ['/ip6/::ffff:8.8.4.4/tcp/1', 'ip4:8.8'],
      ['/ip6/fe80::1/tcp/1', 'lan6:fe80:0:0'],
      ['/ip6/fd00:1:2::5/tcp/1', 'lan6:fd00:1:2'],
      ['/dns4/Example.COM/tcp/443/wss', 'dns:example.com'],
      ['/memory/node-3', 'memory'],
      ['/ip4/300.1.1.1/tcp/1', undefined],
      ['/ip6/1::2::3/tcp/1', undefined],
      ['/ip6/12345::/tcp/1', undefined],
      ['garbage', undefined],
    ];
    for (const [addr, want] of cases) assert.equal(addressPrefix(addr), want, addr);
    assert.equal(prefixOf(['/ip4/127.0.0.1/tcp/1', '/ip4/5.6.7.8/tcp/1']), 'ip4:5.6', 'the first non-loopback address decides');
    assert.equal(prefixOf(['/ip4/127.0.0.1/tcp/1']), 'loopback');
    assert.equal(prefixOf([]), 'none');
    assert.equal(prefixOf(['nonsense']), 'none');
    assert.deepEqual(parseIpv6('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(parseIpv6('1:2:3:4:5:6:7'), undefined);
  });

  it('scores as an EWMA that stays in [0, 1]', () => {
    let s = 0.5;
    for (let i = 0; i < 100; i++) s = ewma(s, true, 0.25);
    assert.ok(s <= 1 && s > 0.99);
    for (let i = 0; i < 100; i++) s = ewma(s, false, 0.25);
    assert.ok(s >= 0 && s < 0.01);
  });

  it('caps: public prefixes 8, LAN 64, loopback/memory none; gossip sources 32, bootstrap/direct none', () => {
    const p = createPeerPolicy();
    assert.deepEqual(p.caps('ip4:1.2', 'gossip:x'), { perPrefix: 8, perSource: 32, total: 2000, unverifiedShare: 0.2, minUnverified: 8 });
    assert.equal(p.caps('lan:10.0', 'mdns').perPrefix, 64);
    assert.equal(p.caps('loopback', 'direct').perPrefix, Infinity);
    assert.equal(p.caps('memory', 'bootstrap').perSource, Infinity);
    assert.equal(p.caps('ip4:1.2', 'dht').perSource, 128);
  });

  it('admits into a full group only by evicting a strictly worse entry, one per full group', () => {
    const view = (over: Partial<AdmissionView>): AdmissionView => ({
      candidate: { peerId: 'new', prefix: 'ip4:1.2', source: 'dht', score: 0.5, unverified: false },
      caps: { perPrefix: 2, perSource: 2, total: 100, unverifiedShare: 0.2, minUnverified: 8 },
      samePrefix: [],
      sameSource: [],
      total: 0,
      worst: [],
      unverified: 0,
      worstUnverified: [],
      ...over,
    });
    assert.deepEqual(decideAdmission(view({})), { admit: true, evict: [] });
    assert.deepEqual(decideAdmission(view({ samePrefix: [peer('a', 0.5), peer('b', 0.9)] })), { admit: false, reason: 'prefix-full' });
    assert.deepEqual(decideAdmission(view({ samePrefix: [peer('a', 0.4), peer('b', 0.3)] })), { admit: true, evict: ['b'] });
    // One eviction can free both groups.
    assert.deepEqual(
      decideAdmission(view({ samePrefix: [peer('a', 0.4), peer('b', 0.3)], sameSource: [peer('b', 0.3), peer('c', 0.2)] })),
      { admit: true, evict: ['b'] },
    );
    assert.deepEqual(
      decideAdmission(view({ samePrefix: [peer('a', 0.9), peer('b', 0.3)], sameSource: [peer('c', 0.2), peer('d', 0.9)] })),
      { admit: true, evict: ['b', 'c'] },
    );
    assert.deepEqual(decideAdmission(view({ total: 100, worst: [peer('z', 0.5)] })), { admit: false, reason: 'table-full' });
    // Ties on score: the least recently seen goes first.
    assert.deepEqual(
      decideAdmission(view({ samePrefix: [peer('a', 0.1, { lastSeen: 9 }), peer('b', 0.1, { lastSeen: 3 })] })),
      { admit: true, evict: ['b'] },
    );
  });

  it('caps unverified entries at a share of the table, never below the minimum', () => {
    assert.equal(unverifiedCap(0, 0.2, 8), 8);
    assert.equal(unverifiedCap(40, 0.2, 8), 10, '10 of 50 is 20 %');
    assert.equal(unverifiedCap(399, 0.2, 8), 99, '100 of 499 would be 20.04 %');
    assert.equal(unverifiedCap(400, 0.2, 8), 100);
    assert.equal(unverifiedCap(7, 0, 0), 0);
    const g = (id: string, score: number): PeerRecord => peer(id, score, { source: 'gossip:o' });
    const view = (over: Partial<AdmissionView>): AdmissionView => ({
      candidate: { peerId: 'new', prefix: 'ip4:9.9', source: 'gossip:o', score: 0.5, unverified: true },
      caps: { perPrefix: 8, perSource: Infinity, total: 2000, unverifiedShare: 0.2, minUnverified: 2 },
      samePrefix: [],
      sameSource: [],
      total: 0,
      worst: [],
      unverified: 0,
      worstUnverified: [],
      ...over,
    });
    // 50 entries, 10 of them unverified (20 %): full; 49 with 9: one more fits (10 of 50).
    assert.deepEqual(decideAdmission(view({ total: 50, unverified: 10, worstUnverified: [g('u', 0.5)] })), { admit: false, reason: 'unverified-full' });
    assert.deepEqual(decideAdmission(view({ total: 49, unverified: 9, worstUnverified: [g('u', 0.5)] })), { admit: true, evict: [] });
    // A probe that failed makes an unverified entry the first to go.
    assert.deepEqual(decideAdmission(view({ total: 50, unverified: 10, worstUnverified: [g('u', 0.375)] })), { admit: true, evict: ['u'] });
    // Not the candidate's group when it is verified or not from gossip.
    const verified = { peerId: 'new', prefix: 'ip4:9.9', source: 'dht' as const, score: 0.5, unverified: false };
    assert.deepEqual(decideAdmission(view({ candidate: verified, total: 50, unverified: 30, worstUnverified: [] })), { admit: true, evict: [] });
    // The minimum holds in a table of few peers.
    assert.deepEqual(decideAdmission(view({ total: 1, unverified: 1, worstUnverified: [g('u', 0.5)] })), { admit: true, evict: [] });
    assert.deepEqual(decideAdmission(view({ total: 2, unverified: 2, worstUnverified: [g('u', 0.5)] })), { admit: false, reason: 'unverified-full' });
    // An eviction for the prefix cap that takes an unverified entry also makes room in this group.
    const full = Array.from({ length: 8 }, (_, i) => g(`p${i}`, i === 3 ? 0.3 : 0.5));
    assert.deepEqual(
      decideAdmission(view({ samePrefix: full, total: 50, unverified: 10, worstUnverified: [g('p3', 0.3)] })),
      { admit: true, evict: ['p3'] },
    );
    assert.throws(() => createPeerPolicy({ maxUnverifiedShare: 1 }), { code: 'INVALID_ARGUMENT' });
  });

  it('is stale when not seen for the max age or below the floor', () => {
    const p = createPeerPolicy({ maxAgeMs: 1_000, scoreFloor: 0.2 });
    assert.equal(p.isStale(peer('a', 0.5, { lastSeen: 0 }), 1_000), false);
    assert.equal(p.isStale(peer('a', 0.5, { lastSeen: 0 }), 1_001), true);
    assert.equal(p.isStale(peer('a', 0.19, { lastSeen: 1_000 }), 1_000), true);
  });
});
