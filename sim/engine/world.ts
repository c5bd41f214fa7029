/**
 * The world: every node's lifecycle over one scheduler and one network. It boots a node through the
 * model's factory, crashes it (keeping the store the behaviour hands back, dropping its timers by
 * incarnation), restarts it from that store, removes it for good, and answers graph questions about
 * the peer tables (undirected degree, largest connected component of live nodes).
 */
import type { Metrics } from './metrics.ts';
import type { NodeId, SimMessage, SimNetwork } from './network.ts';
import type { NodeBehaviour, NodeContext, NodeFactory } from './node.ts';
import type { SimRandom } from './random.ts';
import type { Scheduler } from './scheduler.ts';

export interface World<M extends SimMessage, S> {
  readonly sched: Scheduler;
  readonly net: SimNetwork<M>;
  readonly metrics: Metrics;
  /** Honest nodes are 0 .. size − 1. */
  readonly size: number;
  boot(id: NodeId): void;
  crash(id: NodeId): void;
  /** Crashes `id` for good; its undelivered messages become void. */
  remove(id: NodeId): void;
  isUp(id: NodeId): boolean;
  /** How long `id` was up within [from, to] (ms of simulated time). */
  upTimeWithin(id: NodeId, from: number, to: number): number;
  isRemoved(id: NodeId): boolean;
  node(id: NodeId): NodeBehaviour<M, S> | undefined;
  liveIds(): NodeId[];
  /** Undirected degree of each live node in the graph of live nodes' peer tables. */
  degrees(): Map<NodeId, number>;
  /** Fraction of live nodes in the largest connected component of that graph. */
  largestComponentFraction(): number;
}

export function createWorld<M extends SimMessage, S>(opts: {
  sched: Scheduler;
  net: SimNetwork<M>;
  metrics: Metrics;
  random: SimRandom;
  size: number;
  factory: NodeFactory<M, S>;
}): World<M, S> {
  const { sched, net, metrics, size, factory } = opts;
  const live = new Map<NodeId, NodeBehaviour<M, S>>();
  const stores = new Map<NodeId, S>();
  const incarnation = new Map<NodeId, number>();
  const removed = new Set<NodeId>();
  const booted = new Set<NodeId>();
  /** Per node, its up spans as [boot, crash, boot, crash, …] (an odd length: up now). */
  const spans = new Map<NodeId, number[]>();

  const liveIds = (): NodeId[] => [...live.keys()].sort((a, b) => a - b);
  const adjacency = (): Map<NodeId, Set<NodeId>> => {
    const adj = new Map<NodeId, Set<NodeId>>();
    for (const id of live.keys()) adj.set(id, new Set());
    for (const [id, n] of live) {
      for (const peer of n.inspect().neighbours) {
        if (peer === id || !live.has(peer)) continue;
        adj.get(id)?.add(peer);
        adj.get(peer)?.add(id);
      }
    }
    return adj;
  };

  const world: World<M, S> = {
    sched,
    net,
    metrics,
    size,
    boot(id) {
      if (live.has(id) || removed.has(id)) return;
      const inc = (incarnation.get(id) ?? 0) + 1;
      incarnation.set(id, inc);
      const first = !booted.has(id);
      booted.add(id);
      if (first) metrics.joined(id, sched.now());
      net.restart(id);
      const times = spans.get(id) ?? [];
      times.push(sched.now());
      spans.set(id, times);
      const ctx: NodeContext<M> = {
        id,
        // Whole milliseconds, as a real clock gives (the peer table refuses fractional timestamps).
        clock: () => Math.floor(sched.now()),
        random: opts.random.fork(`node/${id}/${inc}`),
        after: (ms, fn) => sched.after(ms, () => {
          if (incarnation.get(id) === inc && live.has(id)) fn();
        }, 'node'),
        cancel: (e) => void sched.cancel(e),
        send: (to, msg, bytes) => net.send(id, to, msg, bytes),
        dial: (to) => net.dial(id, to),
        // A node never booted yet has no listener: refused, like a crashed one.
        reachable: (to) => net.isUp(id) && live.has(to) && net.sameGroup(id, to),
        report: {
          delivered: (m) => metrics.delivered(m, sched.now()),
          redundant: (m) => metrics.redundant(m),
          expired: (m) => metrics.expired(m),
          knows8: () => metrics.knows8(id, sched.now()),
        },
      };
      const behaviour = factory(ctx, stores.get(id), { first });
      stores.delete(id);
      live.set(id, behaviour);
      net.register(id, (from, msg) => live.get(id)?.receive(from, msg));
    },
    crash(id) {
      const n = live.get(id);
      if (n === undefined) return;
      live.delete(id);
      spans.get(id)?.push(sched.now());
      incarnation.set(id, (incarnation.get(id) ?? 0) + 1);
      net.crash(id);
      stores.set(id, n.crash());
    },
    remove(id) {
      world.crash(id);
      stores.delete(id);
      removed.add(id);
      metrics.voidNode(id);
    },
    isUp: (id) => live.has(id),
    upTimeWithin(id, from, to) {
      const times = spans.get(id) ?? [];
      let total = 0;
      for (let i = 0; i < times.length; i += 2) {
        const start = Math.max(from, times[i] as number);
        const end = Math.min(to, times[i + 1] ?? Infinity);
        if (end > start) total += end - start;
      }
      return total;
    },
    isRemoved: (id) => removed.has(id),
    node: (id) => live.get(id),
    liveIds,
    degrees() {
      const out = new Map<NodeId, number>();
      for (const [id, s] of adjacency()) out.set(id, s.size);
      return out;
    },
    largestComponentFraction() {
      const adj = adjacency();
      if (adj.size === 0) return 0;
      const seen = new Set<NodeId>();
      let best = 0;
      for (const start of adj.keys()) {
        if (seen.has(start)) continue;
        let count = 0;
        const stack = [start];
        seen.add(start);
        while (stack.length > 0) {
          const v = stack.pop() as NodeId;
          count++;
          for (const w of adj.get(v) ?? []) {
            if (!seen.has(w)) {
              seen.add(w);
              stack.push(w);
            }
          }
        }
        best = Math.max(best, count);
      }
      return best / adj.size;
    },
  };
  return world;
}
