/**
 * The seam between the engine and a node model (issue 6): the engine owns time, the network, crashes
 * and the metrics; a `NodeBehaviour` owns what one node does: sim/node-model.ts (real peer table and
 * policy, gossip, direct delivery with the real outbox backoff), with sim/node-routed.ts in place of its
 * delivery for the 'routed' model (the real router, onion paths and mailbox holders of src/routing/).
 *
 * Crash semantics: `crash()` returns the node's durable store and the behaviour object is dropped; a
 * restart builds a new behaviour from that store. Volatile state (timers, caches) dies with the object;
 * the engine also ignores timers of a dead incarnation, so a model cannot leak them by mistake.
 */
import type { Clock } from '../../src/lib/deps.ts';
import type { NodeId, SendOutcome, SimMessage } from './network.ts';
import type { SimRandom } from './random.ts';
import type { EventId } from './scheduler.ts';

/** One application message the traffic generator hands to its sender. */
export interface AppMessage {
  readonly id: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly bytes: number;
}

/** What a node reports to the metrics (metrics.ts). */
export interface NodeReport {
  /** The application accepted message `id` (call once per copy that reaches the app: duplicates count). */
  delivered(id: number): void;
  /** A copy arrived that the node's deduplication dropped (not a duplicate at the app). */
  redundant(id: number): void;
  /** The sender gave message `id` up (TTL over). */
  expired(id: number): void;
  /** The node's peer table reached 8 entries. */
  knows8(): void;
}

export interface NodeContext<M extends SimMessage> {
  readonly id: NodeId;
  readonly clock: Clock;
  readonly random: SimRandom;
  /** Timer for this incarnation only: dropped when the node crashes. */
  after(ms: number, fn: () => void): EventId;
  cancel(id: EventId): void;
  send(to: NodeId, msg: M, sizeBytes: number): SendOutcome;
  /** Whether a connection to `to` can be made now (costs one 'dial' transmission). */
  dial(to: NodeId): boolean;
  /**
   * Whether `to` is up and on this side of any partition, free of charge: what a request learns at once
   * from an open connection or a refused dial (the routed model fails such a hop without a timeout).
   */
  reachable(to: NodeId): boolean;
  readonly report: NodeReport;
}

export interface NodeInspection {
  /** Honest nodes in the peer table (for degree, reachability and targeted removal). */
  readonly neighbours: readonly NodeId[];
  /** All entries of the peer table, Sybils included. */
  readonly tableSize: number;
  /** Messages waiting in the outbox. */
  readonly queued: number;
}

export interface NodeBehaviour<M extends SimMessage, S> {
  receive(from: NodeId, msg: M): void;
  /** Takes one application message to deliver (the node is up). */
  submit(msg: AppMessage): void;
  /** The node's peer table as the engine needs it (world.ts derives undirected degrees from `neighbours`). */
  inspect(): NodeInspection;
  /** Stops the node; returns what survives (its store). */
  crash(): S;
}

export interface BootInfo {
  /** True on the node's first start (false after a restart). */
  readonly first: boolean;
}

export type NodeFactory<M extends SimMessage, S> = (ctx: NodeContext<M>, store: S | undefined, boot: BootInfo) => NodeBehaviour<M, S>;
