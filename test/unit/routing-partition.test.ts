/**
 * The partition detector (src/routing/partition.ts) with a fake clock: every transition, hysteresis
 * (no flip on fewer than `confirm` contradicting samples), window expiry (old failures forgotten), the
 * sample ring's bound, reasons that carry the numbers and no peer IDs, heal → online; the incremental window
 * against a full recomputation; and isLocalAddress.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, createPartitionDetector, isLocalAddress, type Assessment, type NetworkState, type Observation, type WindowStats } from '../../src/routing/partition.ts';
import { createObservationWindow } from '../../src/routing/partition-window.ts';

function setup(opts: { windowMs?: number; maxSamples?: number } = {}) {
  let now = 1_000;
  const d = createPartitionDetector({ clock: () => now, ...opts });
  const changes: [NetworkState, NetworkState][] = [];
  d.onChange((a, prev) => changes.push([prev, a.state]));
  const feed = (o: Observation, times = 1): Assessment => {
    for (let i = 0; i < times; i++) d.observe(o);
    return d.assess();
  };
  return { d, changes, feed, advance: (ms: number) => (now += ms), now: () => now };
}

const remote = (ok: boolean, peerId = 'QmRemotePeerSecret'): Observation => ({ type: 'reach', peerId, local: false, ok });
const lan = (ok: boolean): Observation => ({ type: 'reach', peerId: 'QmLanPeer', local: true, ok });
const dht = (ok: boolean): Observation => ({ type: 'dht', ok });

describe('partition detector', () => {
  it('starts online without evidence: silence is not a failure', () => {
    const t = setup();
    assert.deepEqual(t.d.assess(), { state: 'online', reason: 'no observations yet', since: 1_000 });
    t.advance(600_000);
    assert.equal(t.d.assess().state, 'online');
  });

  it('online → local-only after 3 failed remote attempts, not after 2; LAN success does not count as remote', () => {
    const t = setup();
    t.feed(lan(true));
    t.advance(10);
    assert.equal(t.feed(remote(false), 2).state, 'online', 'two samples are not enough');
    t.advance(10);
    const a = t.feed(remote(false));
    assert.equal(a.state, 'local-only');
    assert.equal(a.since, 1_020);
    assert.match(a.reason, /no remote peer reached in the last 60 s \(3 remote attempts failed, connections not reported\); 1 of 1 LAN attempts ok/);
    assert.deepEqual(t.changes, [['online', 'local-only']]);
    assert.equal(t.feed(lan(true), 5).state, 'local-only', 'LAN peers still talk');
  });

  it('a connection count of 0 remote is local-only; a remote connection or a remote success heals → online', () => {
    const t = setup();
    assert.equal(t.feed({ type: 'connected', local: 2, remote: 0 }, 3).state, 'local-only');
    assert.match(t.d.assess().reason, /0 remote \/ 2 LAN connections/);
    t.advance(5_000);
    const healed = t.feed({ type: 'connected', local: 2, remote: 1 }, 3);
    assert.equal(healed.state, 'online');
    assert.equal(healed.since, 6_000);
    assert.match(healed.reason, /1 remote \/ 2 LAN connections/);
    assert.equal(t.feed({ type: 'connected', local: 0, remote: 0 }, 3).state, 'local-only');
    assert.equal(t.feed(remote(true), 3).state, 'online', 'a remote peer reached, even without an open connection');
    assert.deepEqual(t.changes.map(([, s]) => s), ['local-only', 'online', 'local-only', 'online']);
  });

  it('degraded when DHT queries mostly fail, and the reason names the numbers', () => {
    const t = setup();
    t.feed(remote(true));
    t.feed(dht(true));
    assert.equal(t.feed(dht(false), 3).state, 'online', '1 of 2 ok is fine; 1 of 3, 1 of 4 are only 2 contradictions');
    const a = t.feed(dht(false));
    assert.equal(a.state, 'degraded');
    assert.match(a.reason, /remote peers reachable \(1 reached, connections not reported\) but DHT queries failing \(4 of 5\) in the last 60 s/);
    assert.ok(!a.reason.includes('QmRemotePeerSecret'), 'no peer IDs in reasons');
    assert.equal(t.feed(dht(true), 4).state, 'degraded', '2 of 6, 3 of 7 still degraded; 4 of 8 (50 %) and 5 of 9 contradict');
    assert.equal(t.feed(dht(true)).state, 'online', 'the third contradiction (6 of 10) switches');
  });

  it('degraded when acks mostly time out, or are slow, or remote dials mostly fail', () => {
    const a = setup();
    a.feed(remote(true));
    a.feed({ type: 'ack', latencyMs: 300 });
    assert.match(a.feed({ type: 'ack-timeout' }, 4).reason, /acks timing out \(4 of 5\)/);
    assert.equal(a.d.assess().state, 'degraded');
    const b = setup();
    b.feed(remote(true));
    const slow = b.feed({ type: 'ack', latencyMs: 12_500 }, 4);
    assert.equal(slow.state, 'degraded');
    assert.match(slow.reason, /acks slow \(median 12500 ms > 10000 ms\)/);
    const c = setup();
    c.feed(remote(true, 'a'));
    c.feed(remote(true, 'b'));
    const dials = c.feed(remote(false), 5);
    assert.equal(dials.state, 'degraded');
    assert.match(dials.reason, /\(2 reached,.*remote dials failing \(5 of 7\)/);
  });

  it('hysteresis: contradictions must be consecutive; alternating samples do not flap', () => {
    const t = setup();
    for (let i = 0; i < 20; i++) {
      t.feed({ type: 'connected', local: 0, remote: 0 }, 2);
      t.feed({ type: 'connected', local: 0, remote: 3 });
    }
    assert.equal(t.d.assess().state, 'online');
    assert.equal(t.changes.length, 0);
    t.feed({ type: 'connected', local: 0, remote: 0 }, 3);
    assert.equal(t.d.assess().state, 'local-only');
  });

  it('window expiry: failures older than the window are forgotten', () => {
    const t = setup({ windowMs: 60_000 });
    t.feed(remote(true));
    t.feed(dht(false), 6);
    assert.equal(t.d.assess().state, 'degraded');
    t.advance(59_999);
    assert.equal(t.feed(dht(true), 3).state, 'degraded', '3 of 9 ok while the failures are in the window');
    t.advance(1);
    const a = t.feed(remote(true), 3);
    assert.equal(a.state, 'online', 'the six failures left the window');
    assert.match(a.reason, /DHT 3 of 3 ok/);
  });

  it('memory is a bounded ring: only the last maxSamples observations count', () => {
    const t = setup({ maxSamples: 4 });
    t.feed(remote(true));
    t.feed(dht(false), 10);
    assert.equal(t.d.assess().state, 'degraded');
    assert.equal(t.feed(dht(true), 4).state, 'online', '4 of 14 ok would still be degraded without the bound');
  });

  it('unsubscribe stops notifications; bad observations are rejected', () => {
    let n = 0;
    const d = createPartitionDetector({ clock: () => 0 });
    const off = d.onChange(() => n++);
    for (let i = 0; i < 3; i++) d.observe({ type: 'connected', local: 0, remote: 0 });
    off();
    for (let i = 0; i < 3; i++) d.observe({ type: 'connected', local: 0, remote: 1 });
    assert.equal(n, 1);
    assert.equal(d.assess().state, 'online');
    assert.throws(() => d.observe({ type: 'ack', latencyMs: Number.NaN }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => d.observe({ type: 'connected', local: -1, remote: 0 }), { code: 'INVALID_ARGUMENT' });
  });

  it('classify: thresholds are exact (50 % DHT success and a median at the limit are still online)', () => {
    const base: WindowStats = { remotePeers: 1, remoteOk: 1, remoteFail: 0, lanOk: 0, lanFail: 0, dhtOk: 0, dhtFail: 0, acks: 0, ackTimeouts: 0, ackMedianMs: undefined, connected: undefined };
    const o = { windowMs: 60_000, slowAckMs: 10_000, minSamples: 2 };
    assert.equal(classify({ ...base, dhtOk: 2, dhtFail: 2 }, o).state, 'online');
    assert.equal(classify({ ...base, dhtOk: 1, dhtFail: 2 }, o).state, 'degraded');
    assert.equal(classify({ ...base, dhtFail: 1 }, o).state, 'online', 'one failure is below minSamples');
    assert.equal(classify({ ...base, acks: 2, ackMedianMs: 10_000 }, o).state, 'online');
    assert.equal(classify({ ...base, acks: 2, ackMedianMs: 10_001 }, o).state, 'degraded');
    assert.equal(classify({ ...base, acks: 1, ackTimeouts: 1, ackMedianMs: 5 }, o).state, 'online', 'half the acks timing out is not "mostly"');
    assert.equal(classify({ ...base, remoteOk: 0, remotePeers: 0 }, o).state, 'online', 'no evidence either way');
    assert.equal(classify({ ...base, remoteOk: 0, remotePeers: 0, connected: { local: 1, remote: 0 } }, o).state, 'local-only');
  });
});

describe('isLocalAddress', () => {
  it('loopback, RFC 1918, link-local, ULA, unspecified, memory, unix and local names are local; public and CGNAT are not', () => {
    const local = [
      '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWabc',
      '/ip4/10.0.0.2/tcp/4001/p2p/12D3KooWabc',
      '/ip4/172.16.5.4/tcp/1',
      '/ip4/172.31.255.1/tcp/1',
      '/ip4/192.168.1.20/udp/4001/quic-v1',
      '/ip4/169.254.3.3/tcp/1',
      '/ip4/0.0.0.0/tcp/0',
      '/ip6/::1/tcp/1',
      '/ip6/::/tcp/1',
      '/ip6/fe80::1234/tcp/1',
      '/ip6zone/eth0/ip6/fe80::1/tcp/1',
      '/ip6/fd12:3456::1/tcp/1',
      '/ip6/fc00::1/tcp/1',
      '/ip6/::ffff:192.168.0.1/tcp/1',
      '/memory/node-1',
      '/unix/tmp/compeer.sock',
      '/dns4/localhost/tcp/1',
      '/dns/printer.local/tcp/1',
    ];
    const remoteAddrs = [
      '/ip4/8.8.8.8/tcp/4001/p2p/12D3KooWabc',
      '/ip4/172.32.0.1/tcp/1',
      '/ip4/172.15.0.1/tcp/1',
      '/ip4/100.64.0.1/tcp/1',
      '/ip4/192.169.0.1/tcp/1',
      '/ip6/2001:db8::1/tcp/1',
      '/ip6/fe00::1/tcp/1',
      '/ip6/::ffff:8.8.8.8/tcp/1',
      '/ip4/1.2.3.4/tcp/1/p2p/12D3KooWrelay/p2p-circuit/p2p/12D3KooWx',
      '/dns4/example.com/tcp/443/wss',
      '/ip4/999.1.1.1/tcp/1',
      'not a multiaddr',
      '',
    ];
    for (const a of local) assert.equal(isLocalAddress(a), true, a);
    for (const a of remoteAddrs) assert.equal(isLocalAddress(a), false, a);
  });
});

describe('partition window (incremental counts)', () => {
  /** The detector's window as it was computed before: a scan of every sample, a sort of the latencies. */
  function reference(samples: readonly { at: number; o: Observation }[], now: number, windowMs: number, maxSamples: number): Omit<WindowStats, 'connected'> {
    const n = { remoteOk: 0, remoteFail: 0, lanOk: 0, lanFail: 0, dhtOk: 0, dhtFail: 0, ackTimeouts: 0 };
    const latencies: number[] = [];
    const reached = new Set<string>();
    for (const { at, o: x } of samples.slice(-maxSamples)) {
      if (now - at >= windowMs) continue;
      if (x.type === 'reach' && x.local) n[x.ok ? 'lanOk' : 'lanFail']++;
      else if (x.type === 'reach') {
        n[x.ok ? 'remoteOk' : 'remoteFail']++;
        if (x.ok) reached.add(x.peerId);
      } else if (x.type === 'dht') n[x.ok ? 'dhtOk' : 'dhtFail']++;
      else if (x.type === 'ack') latencies.push(x.latencyMs);
      else if (x.type === 'ack-timeout') n.ackTimeouts++;
    }
    latencies.sort((a, b) => a - b);
    const mid = latencies.length >> 1;
    const ackMedianMs = latencies.length === 0 ? undefined : latencies.length % 2 === 1 ? latencies[mid] : ((latencies[mid - 1] as number) + (latencies[mid] as number)) / 2;
    return { ...n, remotePeers: reached.size, acks: latencies.length, ackMedianMs };
  }

  it('gives the counts, distinct peers and median of a full recomputation after every one of 20,000 observations', () => {
    let seed = 7;
    const rnd = (k: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % k;
    };
    for (const [windowMs, maxSamples] of [[60_000, 1024], [500, 64], [10_000, 7]] as const) {
      const w = createObservationWindow(windowMs, maxSamples);
      const samples: { at: number; o: Observation }[] = [];
      let now = 0;
      for (let i = 0; i < 20_000; i++) {
        now += rnd(4) === 0 ? rnd(windowMs) : rnd(20);
        const kind = rnd(5);
        const o: Exclude<Observation, { type: 'connected' }> =
          kind === 0 ? { type: 'reach', peerId: `p${rnd(12)}`, local: rnd(3) === 0, ok: rnd(2) === 0 }
          : kind === 1 ? { type: 'dht', ok: rnd(2) === 0 }
          : kind === 2 ? { type: 'ack', latencyMs: rnd(3) === 0 ? 250 : rnd(30_000) / 7 }
          : kind === 3 ? { type: 'ack-timeout' }
          : { type: 'reach', peerId: `p${rnd(12)}`, local: false, ok: true };
        w.add(o, now);
        samples.push({ at: now, o });
        const later = now + rnd(windowMs);
        assert.deepEqual(w.stats(now, undefined), { ...reference(samples, now, windowMs, maxSamples), connected: undefined }, `sample ${i}`);
        if (i % 97 === 0) {
          // A look at a later time drops what left the window by then: the clock moves on to it.
          assert.deepEqual(w.stats(later, undefined), { ...reference(samples, later, windowMs, maxSamples), connected: undefined }, `sample ${i}, later`);
          now = later;
        }
      }
    }
  });

  it('a clock stepped back stamps new samples with the last time seen: they stay until it has caught up', () => {
    const w = createObservationWindow(1_000, 16);
    w.add({ type: 'dht', ok: false }, 5_000);
    w.add({ type: 'dht', ok: true }, 2_000);
    assert.equal(w.stats(2_000, undefined).dhtOk, 1);
    assert.equal(w.stats(5_999, undefined).dhtFail, 1);
    const gone = w.stats(6_000, undefined);
    assert.equal(gone.dhtOk + gone.dhtFail, 0, 'both left with the window of the later time');
  });
});
