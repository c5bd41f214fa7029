/**
 * The simulated network between node ids: datagrams with per-link latency (a fixed per-link base plus
 * a jitter draw), independent loss, an optional per-node uplink bandwidth, partitions and crashed nodes.
 * Pipeline of one `send`: 1. sender up? 2. same partition group? 3. count the transmission and its bytes
 * 4. loss draw 5. uplink queueing (bandwidth) + latency 6. at arrival: receiver up and still in the same
 * group, else dropped (a link cut while in flight) 7. hand to the receiver.
 * `dial` is the connection check the node model asks before a direct delivery: both up, same group.
 *
 * It knows nothing of what the messages mean; a message carries a `kind` so transmissions can be
 * counted per kind for the overhead metric (DESIGN.md "Testing"; issue 6).
 */
import type { SimRandom } from './random.ts';
import type { Scheduler } from './scheduler.ts';

export type NodeId = number & { readonly __brand: 'SimNodeId' };

export interface LatencyModel {
  /** Smallest one-way delay of any link (ms). */
  readonly baseMs: number;
  /** Per-link extra base, fixed for a link: baseMs + spreadMs × h(link), h uniform in [0, 1). */
  readonly spreadMs: number;
  /** Per-message jitter: uniform in [0, jitterMs) or exponential with mean jitterMs. */
  readonly jitterMs: number;
  readonly distribution: 'uniform' | 'exponential';
}

export interface NetworkModel {
  readonly latency: LatencyModel;
  /** Probability that one datagram is lost, in [0, 1). */
  readonly loss: number;
  /** Per-node uplink (bytes/s); null for unlimited. */
  readonly bandwidthBytesPerSec: number | null;
}

export interface SimMessage {
  readonly kind: string;
}

export type SendOutcome = 'sent' | 'lost' | 'sender-down' | 'partitioned';

export interface NetworkStats {
  transmissions: number;
  bytes: number;
  lost: number;
  /** Refused at send because sender and receiver sit in different partition groups. */
  partitioned: number;
  /** Dropped at arrival: receiver down, or a partition cut the link in flight. */
  droppedAtArrival: number;
  readonly byKind: Map<string, number>;
}

export interface SimNetwork<M extends SimMessage> {
  /** Sets who receives datagrams for `id` (the engine re-registers after a restart). */
  register(id: NodeId, handler: (from: NodeId, msg: M) => void): void;
  send(from: NodeId, to: NodeId, msg: M, sizeBytes: number): SendOutcome;
  /** Whether a connection from → to can be made now: both up and in the same partition group (one 'dial' transmission). */
  dial(from: NodeId, to: NodeId): boolean;
  isUp(id: NodeId): boolean;
  crash(id: NodeId): void;
  restart(id: NodeId): void;
  /** Splits the network: each group is a list of ids; ids in no group form one more group. */
  partition(groups: readonly (readonly NodeId[])[]): void;
  heal(): void;
  sameGroup(a: NodeId, b: NodeId): boolean;
  readonly stats: NetworkStats;
}

/** A fixed hash of an unordered link, uniform in [0, 1) (so a→b and b→a share a base latency). */
export function linkHash(a: number, b: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  let h = Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}

export function createNetwork<M extends SimMessage>(sched: Scheduler, random: SimRandom, model: NetworkModel): SimNetwork<M> {
  const handlers = new Map<NodeId, (from: NodeId, msg: M) => void>();
  const down = new Set<NodeId>();
  let group = new Map<NodeId, number>();
  const uplinkFreeAt = new Map<NodeId, number>();
  const stats: NetworkStats = { transmissions: 0, bytes: 0, lost: 0, partitioned: 0, droppedAtArrival: 0, byKind: new Map() };
  const { latency } = model;

  const groupOf = (id: NodeId): number => group.get(id) ?? -1;
  const sameGroup = (a: NodeId, b: NodeId): boolean => groupOf(a) === groupOf(b);
  const delay = (from: NodeId, to: NodeId): number => {
    const jitter = latency.distribution === 'uniform' ? random.next() * latency.jitterMs : random.exp(latency.jitterMs);
    return latency.baseMs + latency.spreadMs * linkHash(from, to) + jitter;
  };

  return {
    register(id, handler) {
      handlers.set(id, handler);
    },
    send(from, to, msg, sizeBytes) {
      if (down.has(from)) return 'sender-down';
      if (!sameGroup(from, to)) {
        stats.partitioned++;
        return 'partitioned';
      }
      stats.transmissions++;
      stats.bytes += sizeBytes;
      stats.byKind.set(msg.kind, (stats.byKind.get(msg.kind) ?? 0) + 1);
      if (random.chance(model.loss)) {
        stats.lost++;
        return 'lost';
      }
      let start = sched.now();
      if (model.bandwidthBytesPerSec !== null) {
        const free = Math.max(start, uplinkFreeAt.get(from) ?? 0);
        start = free + (sizeBytes * 1000) / model.bandwidthBytesPerSec;
        uplinkFreeAt.set(from, start);
      }
      sched.schedule(start + delay(from, to), () => {
        const handler = handlers.get(to);
        if (down.has(to) || !sameGroup(from, to) || handler === undefined) {
          stats.droppedAtArrival++;
          return;
        }
        handler(from, msg);
      }, 'net');
      return 'sent';
    },
    dial(from, to) {
      if (down.has(from)) return false;
      stats.transmissions++;
      stats.byKind.set('dial', (stats.byKind.get('dial') ?? 0) + 1);
      return !down.has(to) && sameGroup(from, to);
    },
    isUp: (id) => !down.has(id),
    crash(id) {
      down.add(id);
      uplinkFreeAt.delete(id);
    },
    restart(id) {
      down.delete(id);
    },
    partition(groups) {
      const next = new Map<NodeId, number>();
      groups.forEach((ids, i) => {
        for (const id of ids) next.set(id, i);
      });
      group = next;
    },
    heal() {
      group = new Map();
    },
    sameGroup,
    stats,
  };
}
