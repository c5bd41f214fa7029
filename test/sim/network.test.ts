/** The simulated network: loss rate, latency bounds, partitions, crashes and in-flight cuts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNetwork, type NetworkModel, type NodeId, type SimMessage } from '../../sim/engine/network.ts';
import { seededRandom } from '../../sim/engine/random.ts';
import { createScheduler } from '../../sim/engine/scheduler.ts';

const model = (over: Partial<NetworkModel> = {}): NetworkModel => ({
  latency: { baseMs: 10, spreadMs: 20, jitterMs: 5, distribution: 'uniform' },
  loss: 0,
  bandwidthBytesPerSec: null,
  ...over,
});

function setup(m: NetworkModel, nodes = 4) {
  const sched = createScheduler();
  const net = createNetwork<SimMessage & { n: number }>(sched, seededRandom('net-test'), m);
  const got = new Map<number, { from: number; n: number; at: number }[]>();
  for (let i = 0; i < nodes; i++) {
    got.set(i, []);
    net.register(i as NodeId, (from, msg) => got.get(i)?.push({ from, n: msg.n, at: sched.now() }));
  }
  return { sched, net, got };
}
const id = (n: number): NodeId => n as NodeId;

describe('network', () => {
  it('loses close to the configured fraction over many sends, and counts every transmission', () => {
    const { sched, net, got } = setup(model({ loss: 0.2 }));
    const N = 20_000;
    for (let i = 0; i < N; i++) net.send(id(0), id(1), { kind: 'x', n: i }, 100);
    sched.runUntil(1_000);
    const rate = 1 - (got.get(1)?.length ?? 0) / N;
    assert.ok(Math.abs(rate - 0.2) < 0.015, `observed loss ${rate}`);
    assert.equal(net.stats.transmissions, N);
    assert.equal(net.stats.bytes, N * 100);
    assert.equal(net.stats.lost + (got.get(1)?.length ?? 0), N);
  });

  it('delivers within base + per-link spread + jitter', () => {
    const { sched, net, got } = setup(model());
    for (let i = 0; i < 500; i++) net.send(id(2), id(3), { kind: 'x', n: i }, 10);
    sched.runUntil(1_000);
    const at = got.get(3)?.map((g) => g.at) ?? [];
    assert.equal(at.length, 500);
    assert.ok(at.every((t) => t >= 10 && t < 35), `latencies ${Math.min(...at)}..${Math.max(...at)}`);
  });

  it('drops across partition groups only, refuses dials across, and heals', () => {
    const { sched, net, got } = setup(model(), 4);
    net.partition([[id(0), id(1)]]); // 2 and 3 form the other group
    assert.equal(net.send(id(0), id(1), { kind: 'x', n: 1 }, 1), 'sent');
    assert.equal(net.send(id(2), id(3), { kind: 'x', n: 2 }, 1), 'sent');
    assert.equal(net.send(id(0), id(2), { kind: 'x', n: 3 }, 1), 'partitioned');
    assert.equal(net.send(id(3), id(1), { kind: 'x', n: 4 }, 1), 'partitioned');
    assert.equal(net.dial(id(0), id(1)), true);
    assert.equal(net.dial(id(1), id(3)), false);
    sched.runUntil(100);
    assert.deepEqual(got.get(1)?.map((g) => g.n), [1]);
    assert.deepEqual(got.get(3)?.map((g) => g.n), [2]);
    assert.deepEqual(got.get(2), []);
    assert.deepEqual(got.get(0), []);
    net.heal();
    assert.equal(net.send(id(0), id(2), { kind: 'x', n: 5 }, 1), 'sent');
    sched.runUntil(200);
    assert.deepEqual(got.get(2)?.map((g) => g.n), [5]);
  });

  it('drops a datagram in flight when a partition cuts the link or the receiver crashes', () => {
    const { sched, net, got } = setup(model(), 3);
    net.send(id(0), id(1), { kind: 'x', n: 1 }, 1);
    net.send(id(0), id(2), { kind: 'x', n: 2 }, 1);
    net.partition([[id(1)]]);
    net.crash(id(2));
    sched.runUntil(100);
    assert.deepEqual(got.get(1), []);
    assert.deepEqual(got.get(2), []);
    assert.equal(net.stats.droppedAtArrival, 2);
    net.heal();
    net.restart(id(2));
    assert.equal(net.dial(id(0), id(2)), true);
    net.send(id(0), id(2), { kind: 'x', n: 3 }, 1);
    sched.runUntil(200);
    assert.deepEqual(got.get(2)?.map((g) => g.n), [3]);
    assert.equal(net.send(id(2), id(0), { kind: 'x', n: 4 }, 1), 'sent');
    net.crash(id(2));
    assert.equal(net.send(id(2), id(0), { kind: 'x', n: 5 }, 1), 'sender-down');
  });

  it('queues behind a limited uplink', () => {
    const { sched, net, got } = setup(model({ latency: { baseMs: 0, spreadMs: 0, jitterMs: 0, distribution: 'uniform' }, bandwidthBytesPerSec: 1000 }));
    for (let i = 0; i < 3; i++) net.send(id(0), id(1), { kind: 'x', n: i }, 500);
    sched.runUntil(10_000);
    assert.deepEqual(got.get(1)?.map((g) => g.at), [500, 1000, 1500]);
  });
});
