/**
 * The virtual node (issue 6), built from the product's code where it exists today:
 * - peer table: src/store/peers.ts memoryPeerRepository under src/routing/peer-policy.ts createPeerPolicy
 *   (the same upsert, caps per /16, per gossip source and in total, eviction of strictly worse entries,
 *   EWMA scores and pruning that the node runs);
 * - announcement gossip: the pipeline of src/node/discovery/discovery.ts — per-origin token bucket
 *   (src/net/rate-limit.ts, discovery's default limits), newest-timestamp dedup, upsert with source
 *   `gossip:<origin>`, re-publish with hop TTL − 1 only when accepted, node-wide forward bucket; hop TTL
 *   and interval from src/protocol/wire/constants.ts. Signatures are NOT computed (speed): announcements
 *   carry no signature and an honest node cannot forge another's, so Sybils appear as distinct identities;
 * - outbox: src/routing/delivery-policy.ts retryDelay (1 s doubling to 5 min, ±20 %) until the TTL.
 * Modelled, not real: joining (3 bootstrap nodes, then a peer-sample exchange standing in for the DHT walk),
 * probing (a dial per probe, 2 per minute, as discovery's maintenance), the gossip mesh (up to `gossipFanout`
 * dialable peers from the 32 best-ranked), and — in the 'direct' model — delivery: direct to the recipient
 * with an ack. The 'routed' model (scenario `node.model`) hands submit and its own message kinds to a
 * `DeliveryPart` instead: node-routed.ts, the real router, onion paths and mailbox holders.
 */
import { DEFAULT_FORWARD_RATE_LIMIT, DEFAULT_SOURCE_RATE_LIMIT } from '../src/node/discovery/discovery.ts';
import { retryDelay } from '../src/routing/delivery-policy.ts';
import { createTokenBuckets, type TokenBuckets } from '../src/net/rate-limit.ts';
import { ANNOUNCEMENT_DEFAULT_HOP_TTL, ANNOUNCEMENT_INTERVAL_MS } from '../src/protocol/wire/constants.ts';
import { createPeerPolicy } from '../src/routing/peer-policy.ts';
import { type PeerRepository, type PeerSource } from '../src/store/peers.ts';
import { memoryPeerRepository } from '../src/store/peers-memory.ts';
import type { NodeId } from './engine/network.ts';
import type { AppMessage, NodeBehaviour, NodeContext, NodeFactory } from './engine/node.ts';
import type { EventId } from './engine/scheduler.ts';
import type { NodeConfig } from './scenario.ts';

export interface PeerInfo {
  readonly peerId: string;
  readonly addresses: readonly string[];
  readonly capabilities: readonly string[];
}

export type SimMsg =
  | { readonly kind: 'announce'; readonly peer: PeerInfo; readonly ts: number; readonly hopTtl: number }
  | { readonly kind: 'peers-request' }
  | { readonly kind: 'peers-response'; readonly peers: readonly PeerInfo[] }
  | { readonly kind: 'app'; readonly msg: AppMessage }
  | { readonly kind: 'ack'; readonly id: number }
  /** Routed model (node-routed.ts): one request/answer exchange of a real protocol's bytes. */
  | { readonly kind: 'onion' | 'mailbox'; readonly req: number; readonly body: Uint8Array }
  | { readonly kind: 'onion-answer' | 'mailbox-answer'; readonly req: number; readonly body: Uint8Array };

/** The delivery half of a node when it is not this file's direct delivery (node-routed.ts). */
export interface DeliveryPart {
  receive(from: NodeId, msg: Extract<SimMsg, { kind: 'onion' | 'mailbox' | 'onion-answer' | 'mailbox-answer' }>): void;
  submit(msg: AppMessage): void;
  queued(): number;
}

/** Builds one incarnation's delivery part; it sees the node's store (peer table) and keeps its own state. */
export type DeliveryFactory = (ctx: NodeContext<SimMsg>, store: NodeStore, boot: { readonly first: boolean }) => DeliveryPart;

export const SIZES = { announce: 220, request: 64, peer: 96, ack: 64, header: 80 } as const;
const MAINTENANCE_MS = 60_000;
const PROBES_PER_TICK = 2;
const MESH_FROM_BEST = 32;
const SAMPLE_SIZE = 16;
const JOIN_CONTACTS = 3;
const WALK_MAX_REQUESTS = 8;
const WALK_TARGET = 16;

export interface NodeStore {
  readonly peers: PeerRepository;
  /** Queued app messages by id: the outbox survives restarts. */
  readonly outbox: Map<number, { readonly msg: AppMessage; attempts: number }>;
  /** Ids the app has accepted (the message store's dedup). */
  readonly received: Set<number>;
}

export const peerIdOf = (id: NodeId): string => `n${id}`;
export function nodeIdOf(peerId: string): NodeId | undefined {
  if (!peerId.startsWith('n')) return undefined;
  const n = Number(peerId.slice(1));
  return Number.isInteger(n) ? (n as NodeId) : undefined;
}

/** Public-looking address in /16 number `slot` (never a private, loopback or CGNAT range). */
export function addressIn(slot: number, host: number): string {
  const a = 11 + (slot % 89); // 11..99: clear of 10/8, 100.64/10, 127/8, 172.16/12, 192.168/16
  const b = Math.floor(slot / 89) % 256;
  return `/ip4/${a}.${b}.${(host >> 8) & 0xff}.${host & 0xff}/tcp/4001`;
}

export interface ModelOptions {
  readonly config: NodeConfig;
  /** Peer info of every honest node (addresses fixed for the run). */
  readonly info: (id: NodeId) => PeerInfo;
  readonly bootstrap: readonly NodeId[];
  /** Ids at or above this are attacker gateways (their announcements count under source `gossip:x<id>`). */
  readonly honestCount: number;
  /** Replaces the direct delivery (app / ack) with another one (the routed model). */
  readonly delivery?: DeliveryFactory;
}

export function createNodeModel(o: ModelOptions): NodeFactory<SimMsg, NodeStore> {
  const policy = createPeerPolicy({ maxPeers: o.config.maxPeers });
  return (ctx, stored, boot) => buildNode(ctx, stored ?? { peers: memoryPeerRepository(policy), outbox: new Map(), received: new Set() }, boot.first, o);
}

function buildNode(ctx: NodeContext<SimMsg>, store: NodeStore, first: boolean, o: ModelOptions): NodeBehaviour<SimMsg, NodeStore> {
  const self = o.info(ctx.id);
  const now = ctx.clock;
  const timers = new Map<number, EventId>();
  const seen = new Map<string, number>();
  const sourceBuckets: TokenBuckets = createTokenBuckets(DEFAULT_SOURCE_RATE_LIMIT, now);
  const forwardBucket: TokenBuckets = createTokenBuckets(DEFAULT_FORWARD_RATE_LIMIT, now);
  let mesh: NodeId[] = [];
  const isBootstrap = o.bootstrap.includes(ctx.id);
  let knows8 = store.peers.count() >= 8;
  let walkRequests = 0;
  const asked = new Set<NodeId>();
  /** Ids of gossip-learned peers in the table (volatile: rebuilt from the table at each start). */
  const gossiped = new Set<string>(store.peers.list().filter((p) => p.source.startsWith('gossip:')).map((p) => p.peerId));

  const upsert = (p: PeerInfo, source: PeerSource): boolean => {
    if (p.peerId === self.peerId) return false;
    const r = store.peers.upsert({ peerId: p.peerId, addresses: p.addresses, capabilities: p.capabilities, source, seenAt: now() });
    if (r.outcome === 'added' && source.startsWith('gossip:')) gossiped.add(p.peerId);
    if (!knows8 && store.peers.count() >= 8) {
      knows8 = true;
      if (!isBootstrap) ctx.report.knows8();
    }
    return r.outcome !== 'refused';
  };

  const refreshMesh = (): void => {
    const best = store.peers.list(MESH_FROM_BEST).map((p) => nodeIdOf(p.peerId)).filter((x): x is NodeId => x !== undefined);
    mesh = ctx.random.sample(best, o.config.gossipFanout);
  };

  const announce = (): void => {
    if (mesh.length === 0) refreshMesh();
    const msg: SimMsg = { kind: 'announce', peer: self, ts: now(), hopTtl: ANNOUNCEMENT_DEFAULT_HOP_TTL };
    for (const to of mesh) ctx.send(to, msg, SIZES.announce);
  };

  const ask = (to: NodeId): void => {
    if (asked.has(to) || walkRequests >= WALK_MAX_REQUESTS) return;
    asked.add(to);
    walkRequests++;
    ctx.send(to, { kind: 'peers-request' }, SIZES.request);
  };

  const maintenance = (): void => {
    store.peers.prune(now());
    // Probe gossip-learned peers, as discovery's maintenance does (ids kept here to avoid copying the table).
    for (const peerId of ctx.random.sample([...gossiped], PROBES_PER_TICK)) {
      if (store.peers.get(peerId)?.source.startsWith('gossip:') !== true) {
        gossiped.delete(peerId);
        continue;
      }
      const target = nodeIdOf(peerId);
      store.peers.recordOutcome(peerId, target !== undefined && ctx.dial(target), now());
    }
    refreshMesh();
  };

  // Outbox: one timer per queued message, at the next retry or the TTL, whichever comes first.
  const arm = (id: number, delayMs: number): void => {
    const entry = store.outbox.get(id);
    if (entry === undefined) return;
    const old = timers.get(id);
    if (old !== undefined) ctx.cancel(old);
    const due = Math.min(now() + delayMs, entry.msg.expiresAt);
    timers.set(id, ctx.after(Math.max(0, due - now()), () => attempt(id)));
  };
  const attempt = (id: number): void => {
    timers.delete(id);
    const entry = store.outbox.get(id);
    if (entry === undefined) return;
    if (now() >= entry.msg.expiresAt) {
      store.outbox.delete(id);
      ctx.report.expired(id);
      return;
    }
    if (ctx.dial(entry.msg.to)) ctx.send(entry.msg.to, { kind: 'app', msg: entry.msg }, SIZES.header + entry.msg.bytes);
    arm(id, retryDelay(entry.attempts, ctx.random.next()));
    entry.attempts++;
  };
  const retryFor = (peer: NodeId): void => {
    for (const [id, e] of store.outbox) if (e.msg.to === peer) arm(id, 0);
  };

  const every = (ms: number, fn: () => void): void => {
    ctx.after(ms, () => {
      fn();
      every(ms, fn);
    });
  };

  // Start: on the first boot contact bootstrap nodes; always announce, keep maintenance and re-announcing.
  if (first) {
    const contacts = o.bootstrap.filter((b) => b !== ctx.id);
    const pick = isBootstrap ? contacts : ctx.random.sample(contacts, JOIN_CONTACTS);
    for (const b of pick) upsert(o.info(b), 'bootstrap');
    if (!isBootstrap) for (const b of pick) ask(b);
  }
  const routed = o.delivery?.(ctx, store, { first });
  if (routed === undefined) for (const id of store.outbox.keys()) arm(id, retryDelay(0, ctx.random.next()));
  ctx.after(ctx.random.next() * 1_000, announce);
  ctx.after(ctx.random.next() * ANNOUNCEMENT_INTERVAL_MS, () => {
    announce();
    every(ANNOUNCEMENT_INTERVAL_MS, announce);
  });
  ctx.after(ctx.random.next() * MAINTENANCE_MS, () => {
    maintenance();
    every(MAINTENANCE_MS, maintenance);
  });

  const onAnnounce = (from: NodeId | string, m: Extract<SimMsg, { kind: 'announce' }>): void => {
    const origin = typeof from === 'string' ? from : peerIdOf(from);
    if (!sourceBuckets.take(origin)) return;
    if (m.peer.peerId === self.peerId || (seen.get(m.peer.peerId) ?? -1) >= m.ts) return;
    seen.set(m.peer.peerId, m.ts);
    if (!upsert(m.peer, `gossip:${origin}`)) return;
    if (m.hopTtl <= 1 || !forwardBucket.take('forward')) return;
    const fwd: SimMsg = { ...m, hopTtl: m.hopTtl - 1 };
    for (const to of mesh) if (to !== from) ctx.send(to, fwd, SIZES.announce);
  };

  return {
    receive(from, msg) {
      switch (msg.kind) {
        case 'announce':
          onAnnounce(from < o.honestCount ? from : `x${from}`, msg);
          return;
        case 'peers-request': {
          upsert(o.info(from), 'direct');
          const sample = ctx.random.sample(store.peers.list(MESH_FROM_BEST), SAMPLE_SIZE).map((p) => ({ peerId: p.peerId, addresses: p.addresses, capabilities: p.capabilities }));
          ctx.send(from, { kind: 'peers-response', peers: sample }, SIZES.header + SIZES.peer * sample.length);
          return;
        }
        case 'peers-response': {
          for (const p of msg.peers) upsert(p, 'dht');
          if (store.peers.count() < WALK_TARGET) {
            for (const p of ctx.random.sample(msg.peers, 2)) {
              const next = nodeIdOf(p.peerId);
              if (next !== undefined && next !== ctx.id) ask(next);
            }
          }
          if (mesh.length < o.config.gossipFanout) refreshMesh();
          return;
        }
        case 'app': {
          if (store.received.has(msg.msg.id)) ctx.report.redundant(msg.msg.id);
          else {
            store.received.add(msg.msg.id);
            ctx.report.delivered(msg.msg.id);
          }
          ctx.send(from, { kind: 'ack', id: msg.msg.id }, SIZES.ack);
          if (o.config.retryOnContact) retryFor(from);
          return;
        }
        case 'onion':
        case 'mailbox':
        case 'onion-answer':
        case 'mailbox-answer':
          routed?.receive(from, msg);
          return;
        case 'ack': {
          if (store.outbox.delete(msg.id)) {
            const t = timers.get(msg.id);
            if (t !== undefined) ctx.cancel(t);
            timers.delete(msg.id);
          }
          if (o.config.retryOnContact) retryFor(from);
          return;
        }
      }
    },
    submit(msg) {
      if (routed !== undefined) return routed.submit(msg);
      store.outbox.set(msg.id, { msg, attempts: 0 });
      attempt(msg.id);
    },
    inspect() {
      const neighbours: NodeId[] = [];
      for (const p of store.peers.list()) {
        const id = nodeIdOf(p.peerId);
        if (id !== undefined) neighbours.push(id);
      }
      return { neighbours, tableSize: store.peers.count(), queued: routed?.queued() ?? store.outbox.size };
    },
    crash() {
      return store;
    },
  };
}

/** An announcement of a made-up identity, as an attacker gateway sends it (issue 6 Sybil flood). */
export function sybilAnnouncement(peerId: string, address: string, ts: number): SimMsg {
  return { kind: 'announce', peer: { peerId, addresses: [address], capabilities: [] }, ts, hopTtl: ANNOUNCEMENT_DEFAULT_HOP_TTL };
}
