/**
 * The connection trim's two rules (src/net/node.ts keeps connections at `connections.max` inside
 * libp2p's max + inboundReserve): which connections go first, and the cool-down of the peers it cut.
 *
 * Order: the peers libp2p's services value least (the sum of their peer-store tags — libp2p's own
 * pruner ranks by it: kad-dht tags its 20 closest peers KEEP_ALIVE, gossipsub its mesh, and
 * NetNode.keepPeers our contacts' nodes, highest), then connections without open streams, then the
 * oldest. A kept peer is never cooled down.
 *
 * Cool-down: a peer that holds *us* KEEP_ALIVE redials the moment we cut it; we cut someone else, who
 * may do the same. In an idle 40-node cluster at 24 connections that loop opened ~1 connection per node
 * per second (a Noise handshake and an identify each way: 2 % of a core per node instead of 0.4 %). So
 * a peer we cut is refused inbound for TRIM_COOLDOWN_MS while we are still full: its redials fail, and
 * after its retries (libp2p's reconnect queue: 5, ~30 s) it drops its KEEP_ALIVE tag on us.
 */
import type { Clock } from '../lib/deps.ts';

export const TRIM_COOLDOWN_MS = 60_000;
const COOLDOWN_MAX_PEERS = 1_024;

export interface TrimCandidate {
  /** Sum of the peer's peer-store tag values. */
  readonly value: number;
  readonly busy: boolean;
  readonly openedAt: number;
}

/** The `excess` connections to close, in the order above. */
export function trimVictims<T extends TrimCandidate>(all: readonly T[], excess: number): T[] {
  if (excess <= 0) return [];
  return [...all].sort((a, b) => a.value - b.value || Number(a.busy) - Number(b.busy) || a.openedAt - b.openedAt).slice(0, excess);
}

export interface TrimCooldown {
  /** Peers just cut. */
  cut(peers: Iterable<string>): void;
  /** Whether an inbound connection from `peer` is refused now; `full`: we hold connections.max or more. */
  refuses(peer: string, full: boolean): boolean;
}

export function createTrimCooldown(clock: Clock, ms = TRIM_COOLDOWN_MS, maxPeers = COOLDOWN_MAX_PEERS): TrimCooldown {
  const until = new Map<string, number>(); // insertion order ≈ oldest cut first
  return {
    cut(peers) {
      const end = clock() + ms;
      for (const p of peers) {
        until.delete(p);
        until.set(p, end);
      }
      for (const k of until.keys()) {
        if (until.size <= maxPeers) break;
        until.delete(k);
      }
    },
    refuses(peer, full) {
      const end = until.get(peer);
      if (end === undefined) return false;
      if (end <= clock()) {
        until.delete(peer);
        return false;
      }
      return full;
    },
  };
}
