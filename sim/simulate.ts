/**
 * One virtual-mode run of a scenario: builds the scheduler, network, world and the node model
 * (sim/node-model.ts; for `node.model` 'routed' with sim/node-routed.ts's delivery, whose real router
 * awaits its hops — the run then steps with runUntilAsync), starts the nodes (bootstrap set at 0, the rest over the start window), drives
 * the traffic (Poisson per node, to a fixed set of contacts), installs the faults, runs to the end of
 * the drain, and gathers the results with their target checks.
 * Output is a plain JSON-able object (results file, --json, the SVG plot).
 */
import { MAILBOX_REPLICAS } from '../src/routing/delivery-policy.ts';
import { installFaults, type FaultEvent } from './engine/faults.ts';
import { createMetrics, percentiles, summarizeHonestShares, summarizeSizes, type IntervalPoint, type MessageSummary, type Percentiles } from './engine/metrics.ts';
import { createNetwork, type NodeId } from './engine/network.ts';
import { seededRandom } from './engine/random.ts';
import { createScheduler } from './engine/scheduler.ts';
import { createWorld } from './engine/world.ts';
import { addressIn, createNodeModel, peerIdOf, SIZES, sybilAnnouncement, type NodeStore, type PeerInfo, type SimMsg } from './node-model.ts';
import { createRoutedModel, type RoutedModel, type RoutingStats } from './node-routed.ts';
import type { NodeModelKind, Scenario } from './scenario.ts';
import type { FullReport } from './full/simulate-full.ts';

export interface TargetCheck {
  readonly name: string;
  readonly target: number;
  readonly value: number | null;
  readonly met: boolean;
}

export interface RunResult {
  readonly scenario: string;
  readonly mode: 'virtual' | 'full';
  /** 'product': full mode runs the complete node, no model. */
  readonly model: NodeModelKind | 'product';
  readonly seed: string;
  readonly nodes: number;
  readonly simulatedMs: number;
  readonly wallTimeMs: number;
  readonly events: number;
  readonly messages: MessageSummary;
  /** Where the messages still pending at the end of the drain stand (null in full mode). */
  readonly pendingAtEnd?: PendingReport;
  readonly transmissions: number;
  readonly bytes: number;
  /** Transmissions (every kind, dials included) per delivered message. */
  readonly overhead: number | null;
  readonly transmissionsByKind: Readonly<Record<string, number>>;
  readonly newNodes: number;
  readonly honestTable: { readonly min: number | null; readonly mean: number | null; readonly nodesBelow80: number };
  /** Peer table sizes of the live nodes at the end (Sybil entries included). */
  readonly tableSize: { readonly min: number; readonly mean: number; readonly max: number };
  readonly survivorsReachable: { readonly afterRemoval: readonly number[]; readonly atEnd: number };
  readonly memoryPerNodeBytes: number;
  readonly faults: readonly FaultEvent[];
  readonly series: readonly IntervalPoint[];
  /** Routed model only: what the router, holders and fetches did, and the mailbox loss model. */
  readonly routing: RoutingReport | null;
  readonly targets: readonly TargetCheck[];
  /** Full mode only (sim/full/). */
  readonly full?: FullReport;
}

/**
 * The pending messages at the end, by what stands between them and their recipient. A recipient offline
 * at the end cannot receive whatever the protocol does ("pending for an offline recipient"); one that
 * was up for a while after the message was created and still has not got it is what to look into.
 */
export interface PendingReport {
  readonly total: number;
  /** Pending for an offline recipient: it is down at the end of the drain. */
  readonly recipientOffline: number;
  /** Of those, recipients that were not up at all between the message's creation and the end. */
  readonly recipientNeverUpSince: number;
  /** Recipient up at the end, sender down. */
  readonly senderOffline: number;
  /** Both ends up at the end. */
  readonly bothUp: number;
  /** Routed model: state in the sender's outbox — held (left in mailboxes), queued (retrying), absent. */
  readonly outbox: { readonly held: number; readonly queued: number; readonly absent: number } | null;
  /** Time each pending message's recipient was up between its creation and the end. */
  readonly recipientUpSinceCreatedMs: Percentiles;
}

export interface RoutingReport extends RoutingStats {
  /** Issue 6: the loss if each of r holders were up with p = 0.7 and nobody retried, 0.3^r, against the run. */
  readonly mailboxModel: {
    readonly replicas: number;
    readonly holderUp: number;
    readonly modelLoss: number;
    /** held × modelLoss: messages the model loses. */
    readonly modelLostOfHeld: number;
    /** Held messages the run did not deliver (expired, or still pending at the end). */
    readonly runLostOfHeld: number;
  };
}

export interface RunOptions {
  /** Called with the simulated time every `progressEveryMs` of simulated time. */
  readonly onProgress?: (simulatedMs: number) => void;
  readonly progressEveryMs?: number;
}

const MINUTE = 60_000;

export async function runScenario(s: Scenario, opts: RunOptions = {}): Promise<RunResult> {
  // Loaded only for full mode: it brings libp2p and the whole node.
  if (s.mode === 'full') return (await import('./full/simulate-full.ts')).runFullScenario(s, opts);
  const wallStart = performance.now();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;

  const random = seededRandom(s.seed);
  const sched = createScheduler();
  const net = createNetwork<SimMsg>(sched, random.fork('net'), s.network);
  const metrics = createMetrics(s.metricsIntervalMs);

  const setup = random.fork('setup');
  const ids = Array.from({ length: s.nodes }, (_, i) => i as NodeId);
  const infos: PeerInfo[] = ids.map((id) => ({
    peerId: peerIdOf(id),
    addresses: [addressIn(setup.int(20_000), setup.int(65_536))],
    capabilities: setup.chance(s.node.relayFraction) ? ['relay'] : [],
  }));
  const bootstrap = ids.slice(0, s.node.bootstrapNodes);
  const contacts = ids.map((id) => setup.sample(ids.filter((x) => x !== id), s.traffic.contactsPerNode));
  const senders = ids.map((): NodeId[] => []);
  contacts.forEach((cs, from) => cs.forEach((to) => senders[to]?.push(from as NodeId)));
  const routed: RoutedModel | undefined =
    s.node.model === 'routed'
      ? createRoutedModel({ seed: s.seed, nodes: s.nodes, info: (id) => infos[id] as PeerInfo, sendersOf: (id) => senders[id] ?? [], isRemoved: (id) => world.isRemoved(id), keyRng: setup.fork('onion-keys').asRng() })
      : undefined;
  const factory = createNodeModel({ config: s.node, info: (id) => infos[id] as PeerInfo, bootstrap, honestCount: s.nodes, ...(routed && { delivery: routed.delivery }) });
  const world = createWorld<SimMsg, NodeStore>({ sched, net, metrics, random: random.fork('nodes'), size: s.nodes, factory });

  for (const id of ids) {
    const at = bootstrap.includes(id) ? 0 : 1 + setup.next() * s.node.startWindowMs;
    sched.schedule(at, () => world.boot(id), 'boot');
  }

  // Traffic: a Poisson process per node; an offline sender writes nothing, a removed contact is skipped.
  const traffic = random.fork('traffic');
  const rate = s.traffic.messagesPerNodePerMinute / MINUTE;
  let nextMessage = 0;
  const tick = (id: NodeId): void => {
    sched.after(traffic.exp(1 / rate), () => {
      if (sched.now() > s.durationMs) return;
      const node = world.node(id);
      const to = traffic.pick(contacts[id] ?? []);
      if (node !== undefined && !world.isRemoved(to)) {
        const msg = { id: nextMessage++, from: id, to, createdAt: sched.now(), expiresAt: sched.now() + s.traffic.ttlMs, bytes: s.traffic.messageBytes };
        metrics.created(msg.id, id, to, msg.createdAt);
        node.submit(msg);
      }
      tick(id);
    }, 'traffic');
  };
  if (rate > 0) sched.schedule(s.traffic.startMs, () => ids.forEach(tick), 'traffic');

  const faults = installFaults(world, random.fork('faults'), s.faults, {
    isRelay: (id) => (infos[id]?.capabilities ?? []).includes('relay'),
    sybilAnnouncement: (k, prefix, at) => sybilAnnouncement(`s${k}`, addressIn(prefix, k & 0xffff), at),
    announceBytes: SIZES.announce,
    ...(routed && { onHeal: () => routed.healed() }),
  });

  const end = s.durationMs + s.traffic.drainMs;
  const step = opts.progressEveryMs ?? end;
  for (let t = Math.min(step, end); ; t = Math.min(t + step, end)) {
    if (routed === undefined) sched.runUntil(t);
    else await sched.runUntilAsync(t, routed.settle);
    opts.onProgress?.(t);
    if (t >= end) break;
  }

  const heapAfter = process.memoryUsage().heapUsed;
  const honestShares: number[] = [];
  const sizes: number[] = [];
  for (const id of world.liveIds()) {
    const n = world.node(id)?.inspect();
    if (n !== undefined) sizes.push(n.tableSize);
    if (n !== undefined && n.tableSize > 0) honestShares.push(n.neighbours.length / n.tableSize);
  }
  const atEnd = world.largestComponentFraction();
  const messages = metrics.summary();
  const pendingAtEnd = pendingReport(world, metrics.pending(), end, routed);
  const newNodes = s.nodes - bootstrap.length;
  const result = {
    scenario: s.name,
    mode: 'virtual' as const,
    model: s.node.model,
    seed: s.seed,
    nodes: s.nodes,
    simulatedMs: end,
    wallTimeMs: Math.round(performance.now() - wallStart),
    events: sched.executed(),
    messages,
    pendingAtEnd,
    transmissions: net.stats.transmissions,
    bytes: net.stats.bytes,
    overhead: messages.delivered > 0 ? net.stats.transmissions / messages.delivered : null,
    transmissionsByKind: Object.fromEntries([...net.stats.byKind.entries()].sort()),
    newNodes,
    honestTable: summarizeHonestShares(honestShares),
    tableSize: summarizeSizes(sizes),
    survivorsReachable: { afterRemoval: faults.reachableAfterRemoval, atEnd },
    memoryPerNodeBytes: Math.max(0, Math.round((heapAfter - heapBefore) / s.nodes)),
    faults: faults.log,
    series: metrics.series(end),
    routing: routed === undefined ? null : routingReport(routed.stats),
  };
  return { ...result, targets: checkTargets(s, result) };
}

function pendingReport(
  world: { isUp(id: NodeId): boolean; upTimeWithin(id: NodeId, from: number, to: number): number },
  pending: readonly { readonly id: number; readonly from: number; readonly to: number; readonly createdAt: number }[],
  end: number,
  routed: RoutedModel | undefined,
): PendingReport {
  let recipientOffline = 0;
  let recipientNeverUpSince = 0;
  let senderOffline = 0;
  const outbox = { held: 0, queued: 0, absent: 0 };
  const upSince: number[] = [];
  for (const m of pending) {
    const up = world.upTimeWithin(m.to as NodeId, m.createdAt, end);
    upSince.push(up);
    if (!world.isUp(m.to as NodeId)) {
      recipientOffline++;
      if (up === 0) recipientNeverUpSince++;
    } else if (!world.isUp(m.from as NodeId)) senderOffline++;
    if (routed !== undefined) outbox[routed.outboxState(m.from as NodeId, m.id)]++;
  }
  return {
    total: pending.length,
    recipientOffline,
    recipientNeverUpSince,
    senderOffline,
    bothUp: pending.length - recipientOffline - senderOffline,
    outbox: routed === undefined ? null : outbox,
    recipientUpSinceCreatedMs: percentiles(upSince),
  };
}

const HOLDER_UP = 0.7;

function routingReport(st: RoutingStats): RoutingReport {
  const modelLoss = (1 - HOLDER_UP) ** MAILBOX_REPLICAS;
  return {
    ...st,
    mailboxModel: { replicas: MAILBOX_REPLICAS, holderUp: HOLDER_UP, modelLoss, modelLostOfHeld: Math.round(st.held * modelLoss * 10) / 10, runLostOfHeld: st.held - st.heldDelivered },
  };
}

export function checkTargets(s: Scenario, r: Omit<RunResult, 'targets'>): TargetCheck[] {
  const t = s.targets;
  const out: TargetCheck[] = [
    { name: 'delivery ratio ≥', target: t.deliveryRatio, value: r.messages.deliveryRatio, met: r.messages.deliveryRatio >= t.deliveryRatio },
    { name: 'duplicates ≤', target: t.duplicates, value: r.messages.duplicates, met: r.messages.duplicates <= t.duplicates },
  ];
  if (t.knows8PeersMs !== null) {
    const k = r.messages.knows8PeersMs;
    out.push({ name: 'new node knows 8 peers, max ms ≤', target: t.knows8PeersMs, value: k.max, met: k.count === r.newNodes && k.max !== null && k.max <= t.knows8PeersMs });
  }
  if (t.healFlushMs !== null) {
    const heals = r.messages.healFlushMs;
    const worst = heals.some((h) => h.flushMs === null) ? null : Math.max(0, ...heals.map((h) => h.flushMs ?? 0));
    out.push({ name: 'heal to flushed queues, ms ≤', target: t.healFlushMs, value: worst, met: heals.length > 0 && worst !== null && worst <= t.healFlushMs });
  }
  if (t.honestTableFraction !== null) {
    out.push({ name: 'honest share of every peer table ≥', target: t.honestTableFraction, value: r.honestTable.min, met: r.honestTable.min !== null && r.honestTable.min >= t.honestTableFraction });
  }
  if (t.survivorsReachable !== null) {
    const worst = Math.min(r.survivorsReachable.atEnd, ...r.survivorsReachable.afterRemoval);
    out.push({ name: 'survivors in one component ≥', target: t.survivorsReachable, value: worst, met: worst >= t.survivorsReachable });
  }
  if (t.wallTimeMs !== null) out.push({ name: 'wall time ms ≤', target: t.wallTimeMs, value: r.wallTimeMs, met: r.wallTimeMs <= t.wallTimeMs });
  return out;
}
