/**
 * The connection trim's two rules (src/net/connection-trim.ts keeps connections at `connections.max` inside
 * libp2p's max + inboundReserve): which connections go first, and the cool-down of the peers it cut.
 *
 * Order: the peers libp2p's services value least (the sum of their peer-store tags — libp2p's own
 * pruner ranks by it: kad-dht tags its 20 closest peers KEEP_ALIVE, gossipsub its mesh, and
 * NetNode.keepPeers our contacts' nodes, highest), then connections without open streams, then the
 * oldest. A kept peer is never cooled down.
 *
 * In use (not cut, and over max by as many): a connection opened less than TRIM_GRACE_MS ago, or to a
 * peer we exchanged a Compeer request with in the last TRIM_ACTIVE_MS. Why: by tag value alone, a node
 * whose connections were all kad-close or gossip-mesh peers (value 51–200) cut every new connection at
 * once — a sender's direct request, a relay's last hop, its own mailbox fetch (value 0, or 1 for a
 * kad-dht routing-table peer) — and then cooled the cut peer down: node 75 of full-baseline-100 sat at
 * its 24 connections with every request to it and from it failing for the whole 17-min drain (26 Nov).
 * Kept peers — the ones our own libp2p redials the moment they drop (KEEP_ALIVE: kad-dht's 20 closest)
 * and our contacts' nodes (NetNode.keepPeers) — go after every other idle connection; connection-trim.ts drops our
 * KEEP_ALIVE tag on a peer before it cuts it (as libp2p's reconnect queue does when its redials fail),
 * else our own redial — itself new, so in use — would make the trim cut the next (a loop). Over max with
 * only connections in use, the node waits (inside libp2p's max + reserve) until the grace is over and
 * trims again; over libp2p's limit less one inbound slot (`mustFree`) it cuts connections in use too.
 *
 * Work in flight: a connection carrying a Compeer request not answered yet (ours, or one we serve — a
 * relay's forward waits for the next hop's answer) is in use whatever its age, and a forced cut takes the
 * connections without any first, then those with the fewest: the cap still holds when every connection
 * is busy. Why: a sender's own forced cut (27 open, all in use by the 30 s rule) took its path's first
 * relay with the packet on it, and the failure showed only at the request's deadline, 5.6 s later
 * (full-partition, 26 Nov).
 * Among connections without work in flight, a forced cut takes those in use by past requests (the 30 s
 * rule) before those still in their grace: a new connection was dialled for something — its request
 * comes within the grace — while a request 20 s ago is done. By value and streams alone the new one went
 * first (no tags for a stranger, and no pooled stream yet while the old ones all keep one): after a heal
 * a recipient at libp2p's limit cut a sender's redial the moment it connected, twice, and then refused it
 * by the cool-down — 28 → 2, a first contact, 22.9 s after the heal (full-partition under load, 26 Nov,
 * heal6); 23 of 64 forced cuts in the 20 s after the heal of another run took a connection under 5 s old.
 *
 * Cool-down: a peer that holds *us* KEEP_ALIVE redials the moment we cut it; we cut someone else, who
 * may do the same. In an idle 40-node cluster at 24 connections that loop opened ~1 connection per node
 * per second (a Noise handshake and an identify each way: 2 % of a core per node instead of 0.4 %). So
 * while we are still full, a peer we cut gets in once more and is refused after that, until
 * TRIM_COOLDOWN_MS have passed since its latest cut (past the reconnect queue's last retry: at once, then
 * 1, 2, 4, 8 and 16 s later), so a redialer's retries fail and it drops its KEEP_ALIVE tag on us. The
 * one admission is for a peer that comes back with a purpose — a relay forwarding a packet for us, a
 * new contact fetching our bundle, a redial after a heal: its requests then keep the connection in use.
 * Refusing every cut peer for 60 s refused those too (a first contact blocked 42 s, 26 Nov), and so did
 * telling a redialer by how soon it came back (a relay's forward 1.7 s after its cut: refused 42 s).
 */
import type { Clock } from '../lib/deps.ts';

/** How long after its latest cut a peer that already came back once is refused (above). */
export const TRIM_COOLDOWN_MS = 60_000;
/** A new connection's first request has this long to arrive (the request deadline, src/net/request.ts). */
export const TRIM_GRACE_MS = 5_000;
/** A peer we sent a Compeer request to or served one from is in use this long after (a mailbox drain's rounds, a path's hops). */
export const TRIM_ACTIVE_MS = 30_000;
const COOLDOWN_MAX_PEERS = 1_024;

export interface TrimCandidate {
  /** Sum of the peer's peer-store tag values. */
  readonly value: number;
  readonly busy: boolean;
  readonly openedAt: number;
  /** In use by us (above): new, or a Compeer request with the peer lately. */
  readonly inUse: boolean;
  /** Our libp2p redials it (KEEP_ALIVE) or it is a contact's node. */
  readonly kept: boolean;
  /** Compeer requests with the peer not answered yet, either way (ours pending, or one we serve: a relayed packet). */
  readonly inFlight: number;
  /** Opened less than TRIM_GRACE_MS ago: its first request may not have come yet (undefined: no). */
  readonly fresh?: boolean;
}

const order = (a: TrimCandidate, b: TrimCandidate): number => a.value - b.value || Number(a.busy) - Number(b.busy) || a.openedAt - b.openedAt;
// Forced cuts: connections with no work in flight first, then the fewest requests lost; among equals, those
// in use by past requests before those still in their grace (below).
const forcedOrder = (a: TrimCandidate, b: TrimCandidate): number => a.inFlight - b.inFlight || Number(a.fresh === true) - Number(b.fresh === true) || order(a, b);
const spare = (c: TrimCandidate): boolean => c.inUse || c.inFlight > 0;

/**
 * The connections to close, in the order above: `excess` is how many we hold over connections.max,
 * `mustFree` how many over libp2p's limit less one inbound slot.
 */
export function trimVictims<T extends TrimCandidate>(all: readonly T[], excess: number, mustFree = 0): T[] {
  if (excess <= 0 && mustFree <= 0) return [];
  const idle = all.filter((c) => !spare(c) && !c.kept).sort(order);
  const kept = all.filter((c) => !spare(c) && c.kept).sort(order);
  const victims = [...idle, ...kept].slice(0, excess);
  const forced = mustFree - victims.length;
  if (forced > 0) victims.push(...all.filter(spare).sort(forcedOrder).slice(0, forced));
  return victims;
}

/** Whether a connection is in use (above); `lastActive`: our last Compeer request with the peer. */
export function inUse(now: number, openedAt: number, lastActive: number | undefined): boolean {
  return now - openedAt < TRIM_GRACE_MS || (lastActive !== undefined && now - lastActive < TRIM_ACTIVE_MS);
}

export interface TrimCooldown {
  /** Peers just cut. */
  cut(peers: Iterable<string>): void;
  /** Whether an inbound connection from `peer` is refused now; `full`: we hold connections.max or more. */
  refuses(peer: string, full: boolean): boolean;
  /** Whether `peer` was cut in the last `ms` (within the cool-down window; older cuts are forgotten). */
  cutWithin(peer: string, ms: number): boolean;
}

export function createTrimCooldown(clock: Clock, maxPeers = COOLDOWN_MAX_PEERS): TrimCooldown {
  // insertion order ≈ oldest cut first
  const cuts = new Map<string, { at: number; admitted: boolean }>();
  return {
    cut(peers) {
      const at = clock();
      for (const p of peers) {
        const prev = cuts.get(p);
        // Cut again inside the window: its one admission stays used (a loop gets one per window).
        const admitted = prev !== undefined && prev.admitted && at - prev.at < TRIM_COOLDOWN_MS;
        cuts.delete(p);
        cuts.set(p, { at, admitted });
      }
      for (const k of cuts.keys()) {
        if (cuts.size <= maxPeers) break;
        cuts.delete(k);
      }
    },
    refuses(peer, full) {
      const c = cuts.get(peer);
      if (c === undefined) return false;
      if (clock() - c.at >= TRIM_COOLDOWN_MS) {
        cuts.delete(peer);
        return false;
      }
      if (!full) return false;
      if (!c.admitted) {
        c.admitted = true;
        return false;
      }
      return true;
    },
    cutWithin(peer, ms) {
      const c = cuts.get(peer);
      return c !== undefined && clock() - c.at < ms;
    },
  };
}
