/**
 * Full mode's fault controller: the scenario's faults (sim/scenario.ts) on real nodes in real time.
 *
 *   partition        — at atMs a random `fraction` of the nodes is one side: from then on every node's
 *                      connection gater refuses dials and connections across the cut, and the
 *                      connections already open across it are hung up; at healAtMs the gater allows
 *                      everything again (nothing is re-dialled for the nodes: they reconnect as the
 *                      product does, by its outbox retries, bootstrap and discovery probes);
 *   churn            — a fraction of the nodes alternates exponential on/off sessions; off = crash
 *                      (sim/full/cluster.ts), on = restart on the same store;
 *   relay-failures   — every minute from startMs, `fractionPerMinute` of the live relay-capable nodes
 *                      crash; each restarts on its store after restartAfterMs (null: never);
 *   targeted-removal — at atMs the `fraction` best-connected live nodes (undirected degree in the live
 *                      connection graph) leave for good; messages from or to them become void.
 *
 * A Sybil flood needs forged announcements from attacker gateways that are not Compeer nodes: full mode
 * refuses it (the virtual mode runs it).
 */
import { CompeerError, ErrorCodes } from '../../src/lib/errors.ts';
import type { FaultEvent } from '../engine/faults.ts';
import type { Metrics } from '../engine/metrics.ts';
import type { SimRandom } from '../engine/random.ts';
import type { Fault } from '../scenario.ts';
import type { Cluster } from './cluster.ts';
import type { Timeline } from './timeline.ts';

const MINUTE = 60_000;

export interface FullFaults {
  readonly log: FaultEvent[];
  readonly reachableAfterRemoval: number[];
  /** The connection gater's rule: may node i dial or accept `peer` now? */
  allow(i: number, peer: string): boolean;
  /** Cuts the nodes in `side` off from the others now (tests drive it directly). */
  partition(side: readonly number[]): Promise<void>;
  heal(): void;
  /** Connections that were open across a cut and were hung up. */
  readonly cutConnections: number;
  /** Dials or connections the gater refused. */
  readonly refused: number;
}

export interface FaultDeps {
  readonly cluster: Cluster;
  readonly timeline: Timeline;
  readonly metrics: Metrics;
  readonly random: SimRandom;
  readonly faults: readonly Fault[];
  readonly isRelay: (i: number) => boolean;
  /** The bootstrap nodes a restarted node dials. */
  readonly bootstrap: readonly number[];
}

export function checkFullFaults(faults: readonly Fault[]): void {
  for (const f of faults) {
    if (f.type === 'sybil-flood') throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, "full mode cannot run 'sybil-flood' (forged announcements from non-Compeer gateways): run it in virtual mode");
  }
}

export function createFullFaults(d: FaultDeps): FullFaults {
  const { cluster, timeline, metrics } = d;
  let side: Set<number> | null = null;
  let cutConnections = 0;
  let refused = 0;
  const log: FaultEvent[] = [];
  const note = (type: FaultEvent['type'], detail: string): void => void log.push({ atMs: Math.round(timeline.now()), type, detail });
  const all = Array.from({ length: cluster.size }, (_, i) => i);

  const ctl: FullFaults = {
    log,
    reachableAfterRemoval: [],
    allow(i, peer) {
      if (side === null) return true;
      const j = cluster.indexOf(peer);
      if (j === undefined || side.has(i) === side.has(j)) return true;
      refused++;
      return false;
    },
    async partition(nodes) {
      const cut = new Set(nodes);
      side = cut;
      const hangUps: Promise<void>[] = [];
      for (const i of cluster.liveIds()) {
        const node = cluster.node(i);
        if (node === undefined) continue;
        for (const j of cluster.neighbours(i)) {
          const peer = cluster.peerId(j);
          if (peer === undefined || cut.has(i) === cut.has(j)) continue;
          // Both ends hang up: a memory connection closed at one end can stay open at the other.
          if (i < j) cutConnections++;
          hangUps.push(node.net.hangUp(peer).catch(() => {}));
        }
      }
      await Promise.all(hangUps);
    },
    heal() {
      side = null;
    },
    get cutConnections() {
      return cutConnections;
    },
    get refused() {
      return refused;
    },
  };

  const restart = (i: number): Promise<void> => cluster.boot(i, d.bootstrap);

  d.faults.forEach((f, k) => {
    const r = d.random.fork(`fault/${k}`);
    switch (f.type) {
      case 'partition':
        timeline.at(f.atMs, async () => {
          const nodes = r.sample(all, Math.round(f.fraction * all.length));
          await ctl.partition(nodes);
          note('partition', `${nodes.length} nodes cut off from ${all.length - nodes.length} (${cutConnections} connections hung up)`);
        });
        timeline.at(f.healAtMs, () => {
          ctl.heal();
          metrics.heal(timeline.now());
          note('heal', `partition healed (${refused} dials or connections refused while cut)`);
        });
        break;
      case 'churn': {
        const churners = r.sample(all, Math.round(f.fraction * all.length));
        const on = (i: number): void =>
          timeline.after(r.exp(f.meanOnMs), async () => {
            if (cluster.isRemoved(i)) return;
            await cluster.crash(i);
            timeline.after(r.exp(f.meanOffMs), async () => {
              await restart(i);
              on(i);
            });
          });
        timeline.at(f.startMs, () => {
          note('churn', `${churners.length} nodes in on/off sessions (mean on ${f.meanOnMs} ms, off ${f.meanOffMs} ms)`);
          for (const i of churners) on(i);
        });
        break;
      }
      case 'relay-failures': {
        const tick = async (): Promise<void> => {
          timeline.after(MINUTE, tick);
          const relays = cluster.liveIds().filter(d.isRelay);
          const victims = r.sample(relays, Math.round(f.fractionPerMinute * relays.length));
          note('relay-failures', `crashed ${victims.length} of ${relays.length} live relays`);
          await Promise.all(victims.map((i) => cluster.crash(i)));
          if (f.restartAfterMs !== null) {
            for (const i of victims) {
              timeline.after(f.restartAfterMs, async () => {
                await restart(i);
                note('restart', `node ${i} restarted on its store`);
              });
            }
          }
        };
        timeline.at(f.startMs, tick);
        break;
      }
      case 'targeted-removal':
        timeline.at(f.atMs, async () => {
          const ranked = [...cluster.degrees().entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
          const k = Math.round(f.fraction * ranked.length);
          const victims = ranked.slice(0, k);
          await Promise.all(victims.map(([i]) => cluster.remove(i)));
          for (const [i] of victims) metrics.voidNode(i);
          const reach = cluster.largestComponentFraction();
          ctl.reachableAfterRemoval.push(reach);
          note('targeted-removal', `removed ${k} best-connected nodes (degree ${victims.at(-1)?.[1] ?? 0}..${victims[0]?.[1] ?? 0}); largest component ${(reach * 100).toFixed(1)} % of survivors`);
        });
        break;
      case 'sybil-flood':
        break; // refused by checkFullFaults before the run
    }
  });
  return ctl;
}
