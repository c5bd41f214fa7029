/**
 * Full mode's nodes (issue 6): N complete Compeer nodes (`createCompeer`, src/node/compeer.ts) in this
 * process over @libp2p/memory, each on its own on-disk SQLite store in a temp folder, with discovery
 * (signed announcements into the peer table) as `compeer start` wires it (src/cli/node-factory.ts).
 *
 * Lifecycle per node, serialised (a boot never overlaps the crash before it):
 *   boot   — opens the store (created with a new identity the first time; the node key in its meta area
 *            keeps the peer ID), starts the node with the bootstrap nodes' memory addresses;
 *   crash  — stops the node and closes its store. In one process there is no kill -9: the node's timers
 *            stop, its connections drop at once, in-flight requests are abandoned. Every store write is a
 *            committed synchronous SQLite transaction, so what the store keeps is what a killed process
 *            would have kept (docs/delivery.md: the outbox commits before it sends);
 *   remove — a crash for good.
 *
 * Dials and connections are refused where `allow(i, peer)` says so (NetNodeOptions.allowPeer, a
 * libp2p connection gater): the fault controller's partitions.
 *
 * Overhead is counted by wrapping the node's NetNode (`request`, `publish`, `dhtPut`, `dhtGet`) as soon
 * as the discovery hook receives it, before the node sends anything but its first bundle publication.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../../src/lib/log.ts';
import { systemClock, systemRng } from '../../src/lib/system.ts';
import type { NetNode } from '../../src/net/index.ts';
import { createCompeer, type CompeerNode, type CompeerOptions } from '../../src/node/compeer.ts';
import { discoveryHook } from '../../src/node/discovery/index.ts';
import type { NodeStore } from '../../src/node/node-store.ts';
import { nodeStoreFrom } from '../../src/node/store-adapter.ts';
import type { CompeerEvent } from '../../src/node/types.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { createPeerPolicy } from '../../src/routing/peer-policy.ts';
import { storedIdentityOf } from '../../src/store/identity-keys.ts';
import { openStore } from '../../src/store/store.ts';

export interface ClusterOptions {
  readonly size: number;
  /** Each node's store lives in `<baseDir>/n<i>`. */
  readonly baseDir: string;
  /** @libp2p/memory latency per buffer sent. */
  readonly latencyMs: number;
  /** Peer table cap (createPeerPolicy's maxPeers). */
  readonly maxPeers: number;
  /** Whether node i relays onion packets (and announces the capability); every node holds mail. */
  readonly relay: (i: number) => boolean;
  /** Whether node i may dial or accept `peer` right now. */
  readonly allow: (i: number, peer: string) => boolean;
  readonly onEvent: (i: number, e: CompeerEvent) => void;
  readonly logger?: Logger;
  /** Connections per node (default SIM_MAX_CONNECTIONS). */
  readonly maxConnections?: number;
  /** Extra createCompeer options (tests: shorter timers). Product defaults otherwise. */
  readonly node?: Partial<Omit<CompeerOptions, 'store' | 'net' | 'discovery' | 'logger'>>;
}

export interface Traffic {
  count: number;
  bytes: number;
}

export interface Cluster {
  readonly size: number;
  /** Known once the node has booted once (the node key is created at first boot). */
  peerId(i: number): string | undefined;
  userId(i: number): string | undefined;
  indexOf(peerId: string): number | undefined;
  node(i: number): CompeerNode | undefined;
  store(i: number): NodeStore | undefined;
  isUp(i: number): boolean;
  isRemoved(i: number): boolean;
  liveIds(): number[];
  boot(i: number, bootstrap: readonly number[]): Promise<void>;
  crash(i: number): Promise<void>;
  remove(i: number): Promise<void>;
  /** Cluster nodes node i has a connection with. */
  neighbours(i: number): number[];
  /** Undirected degree of each live node in the live connection graph. */
  degrees(): Map<number, number>;
  largestComponentFraction(): number;
  /** Requests per protocol, gossip publications and DHT operations sent, with their payload bytes. */
  readonly traffic: ReadonlyMap<string, Traffic>;
  readonly boots: number;
  /** Stops every node and deletes the stores. */
  close(): Promise<void>;
}

export const SIM_MAX_CONNECTIONS = 24;

export function memoryAddress(peerId: string): string {
  return `/memory/${peerId}/p2p/${peerId}`;
}

interface Slot {
  readonly dir: string;
  peerId?: string;
  userId?: string;
  node?: CompeerNode;
  store?: NodeStore;
  removed: boolean;
  created: boolean;
  /** The last lifecycle step: the next one waits for it. */
  chain: Promise<void>;
  off?: () => void;
}

export function createCluster(o: ClusterOptions): Cluster {
  const log = o.logger ?? silentLogger;
  mkdirSync(o.baseDir, { recursive: true });
  const slots: Slot[] = Array.from({ length: o.size }, (_, i) => ({ dir: join(o.baseDir, `n${i}`), removed: false, created: false, chain: Promise.resolve() }));
  const byPeer = new Map<string, number>();
  const traffic = new Map<string, Traffic>();
  let boots = 0;

  const slot = (i: number): Slot => {
    const s = slots[i];
    if (s === undefined) throw new RangeError(`no node ${i}`);
    return s;
  };
  const count = (kind: string, bytes: number): void => {
    const t = traffic.get(kind) ?? { count: 0, bytes: 0 };
    t.count++;
    t.bytes += bytes;
    traffic.set(kind, t);
  };
  const instrument = (net: NetNode): void => {
    const n = net as { -readonly [K in keyof NetNode]: NetNode[K] };
    const { request, publish, dhtPut, dhtGet } = net;
    n.request = (peer, addrs, protocol, bytes, opts) => {
      count(protocol, bytes.length);
      return request.call(net, peer, addrs, protocol, bytes, opts);
    };
    n.publish = (topic, bytes) => {
      count('gossip', bytes.length);
      return publish.call(net, topic, bytes);
    };
    n.dhtPut = (key, value, opts) => {
      count('dht-put', value.length);
      return dhtPut.call(net, key, value, opts);
    };
    n.dhtGet = (key, opts) => {
      count('dht-get', 0);
      return dhtGet.call(net, key, opts);
    };
  };

  const openNodeStore = (i: number, s: Slot): NodeStore => {
    const store = openStore({ dir: s.dir, create: !s.created, rng: systemRng, clock: systemClock, peerPolicy: createPeerPolicy({ maxPeers: o.maxPeers }) });
    try {
      if (!s.created) store.identities.create(storedIdentityOf(generateIdentity(systemRng), `n${i}`, systemClock()));
      return nodeStoreFrom(store);
    } catch (e) {
      store.close();
      throw e;
    }
  };

  const doBoot = async (i: number, bootstrap: readonly number[]): Promise<void> => {
    const s = slot(i);
    if (s.removed || s.node !== undefined) return;
    const store = openNodeStore(i, s);
    s.created = true;
    const hook = discoveryHook({ announcePrivateAddresses: true, capabilities: { relay: o.relay(i), mailbox: true } });
    const addrs = bootstrap.filter((b) => b !== i).map((b) => slot(b).peerId).filter((p): p is string => p !== undefined).map(memoryAddress);
    let node: CompeerNode;
    try {
      node = await createCompeer({
        ...o.node,
        store,
        logger: log.child({ node: i }),
        net: {
          transport: 'memory',
          mdns: false,
          allowPrivateAddresses: true,
          bootstrap: addrs,
          memoryLatencyMs: o.latencyMs,
          allowPeer: (peer) => o.allow(i, peer),
          // The whole cluster joins through the same few bootstrap nodes within seconds, on one CPU:
          // libp2p's 10 connections in the upgrade at once made them refuse most joiners.
          // libp2p's connection monitor pings every connection every 10 s and closes it when a ping takes
          // over 5 s: in one process running tens of nodes that is a busy event loop (it closed hundreds
          // of live connections).
          // At most 24 connections each (the product allows 128): 100 nodes in one process would
          // otherwise all connect to all, and every gossip publication goes to every connected peer.
          // At 24 a node is wanted by more peers than it has slots (kad-dht keeps its 20 closest
          // KEEP_ALIVE): src/net/trim.ts's cool-down keeps that from becoming a redial loop (README (6)).
          connections: { max: o.maxConnections ?? SIM_MAX_CONNECTIONS, maxIncomingPending: Math.max(10, o.size), keepAlivePings: false },
        },
        delivery: { relay: o.relay(i), mailbox: true },
        discovery: async (ctx) => {
          instrument(ctx.net);
          return hook(ctx);
        },
      });
    } catch (e) {
      store.close();
      throw e;
    }
    s.node = node;
    s.store = store;
    s.peerId = node.peerId;
    s.userId = node.userId;
    byPeer.set(node.peerId, i);
    s.off = node.on((e) => o.onEvent(i, e));
    boots++;
  };

  const doStop = async (i: number): Promise<void> => {
    const s = slot(i);
    const node = s.node;
    if (node === undefined) return;
    s.node = undefined;
    s.store = undefined;
    s.off?.();
    await node.stop();
  };

  const serial = (i: number, step: () => Promise<void>): Promise<void> => {
    const s = slot(i);
    const next = s.chain.then(step);
    s.chain = next.catch((e: unknown) => log.error('sim node lifecycle step failed', { node: i, error: e instanceof Error ? e : String(e) }));
    return next;
  };

  const liveIds = (): number[] => slots.flatMap((s, i) => (s.node !== undefined ? [i] : []));
  const neighbours = (i: number): number[] => {
    const node = slot(i).node;
    if (node === undefined) return [];
    const out = new Set<number>();
    for (const c of node.net.connections()) {
      const j = byPeer.get(c.peerId);
      if (j !== undefined && j !== i && slot(j).node !== undefined) out.add(j);
    }
    return [...out];
  };
  const adjacency = (): Map<number, Set<number>> => {
    const adj = new Map<number, Set<number>>();
    for (const i of liveIds()) adj.set(i, new Set());
    for (const i of liveIds()) {
      for (const j of neighbours(i)) {
        adj.get(i)?.add(j);
        adj.get(j)?.add(i);
      }
    }
    return adj;
  };

  return {
    size: o.size,
    peerId: (i) => slot(i).peerId,
    userId: (i) => slot(i).userId,
    indexOf: (peerId) => byPeer.get(peerId),
    node: (i) => slot(i).node,
    store: (i) => slot(i).store,
    isUp: (i) => slot(i).node !== undefined,
    isRemoved: (i) => slot(i).removed,
    liveIds,
    boot: (i, bootstrap) => serial(i, () => doBoot(i, bootstrap)),
    crash: (i) => serial(i, () => doStop(i)),
    remove: (i) => {
      slot(i).removed = true;
      return serial(i, () => doStop(i));
    },
    neighbours,
    degrees: () => new Map([...adjacency()].map(([i, set]) => [i, set.size])),
    largestComponentFraction() {
      const adj = adjacency();
      if (adj.size === 0) return 0;
      const seen = new Set<number>();
      let best = 0;
      for (const start of adj.keys()) {
        if (seen.has(start)) continue;
        let size = 0;
        const stack = [start];
        seen.add(start);
        while (stack.length > 0) {
          const v = stack.pop() as number;
          size++;
          for (const w of adj.get(v) ?? []) {
            if (seen.has(w)) continue;
            seen.add(w);
            stack.push(w);
          }
        }
        best = Math.max(best, size);
      }
      return best / adj.size;
    },
    traffic,
    get boots() {
      return boots;
    },
    async close() {
      await Promise.all(slots.map((_, i) => serial(i, () => doStop(i)).catch(() => {})));
      rmSync(o.baseDir, { recursive: true, force: true });
    },
  };
}
