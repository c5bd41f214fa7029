/**
 * The fault controller: turns a scenario's fault list (sim/scenario.ts) into scheduled events on the
 * world — churn (exponential on/off sessions), a two-way partition and its heal, removal of the
 * best-connected nodes (undirected degree in the live peer tables, world.degrees()), relay failures per
 * simulated minute, and a Sybil flood of announcements from attacker gateways. It logs what it did, with
 * the simulated time, for the results file. It knows nothing of message contents: the model supplies the
 * Sybil announcement and says which nodes are relays.
 */
import type { Fault } from '../scenario.ts';
import type { NodeId, SimMessage } from './network.ts';
import type { SimRandom } from './random.ts';
import type { World } from './world.ts';

export interface FaultEvent {
  readonly atMs: number;
  readonly type: Fault['type'] | 'heal' | 'restart';
  readonly detail: string;
}

export interface FaultHooks<M extends SimMessage> {
  isRelay(id: NodeId): boolean;
  /** The announcement of Sybil `index` (made-up identity) sitting in attacker /16 number `prefix`. */
  sybilAnnouncement(index: number, prefix: number, at: number): M;
  readonly announceBytes: number;
  /** Called right after a partition heals (the routed model flushes its outboxes, as the product does). */
  onHeal?(): void;
}

export interface FaultController {
  readonly log: FaultEvent[];
  /** Fraction of live nodes in the largest component right after each targeted removal. */
  readonly reachableAfterRemoval: number[];
  /** Ids of attacker gateways (outside the honest range). */
  readonly injectors: NodeId[];
}

const MINUTE = 60_000;
const SYBIL_TARGETS = 3;

export function installFaults<M extends SimMessage, S>(world: World<M, S>, random: SimRandom, faults: readonly Fault[], hooks: FaultHooks<M>): FaultController {
  const { sched } = world;
  const ctl: FaultController = { log: [], reachableAfterRemoval: [], injectors: [] };
  const note = (type: FaultEvent['type'], detail: string): void => void ctl.log.push({ atMs: sched.now(), type, detail });
  const honest = Array.from({ length: world.size }, (_, i) => i as NodeId);
  let nextInjector = world.size;

  faults.forEach((f, i) => {
    const r = random.fork(`fault/${i}`);
    switch (f.type) {
      case 'churn': {
        const churners = r.sample(honest, Math.round(f.fraction * honest.length));
        const on = (id: NodeId): void => {
          sched.after(r.exp(f.meanOnMs), () => {
            if (world.isRemoved(id)) return;
            world.crash(id);
            sched.after(r.exp(f.meanOffMs), () => {
              world.boot(id);
              on(id);
            }, 'churn');
          }, 'churn');
        };
        sched.schedule(f.startMs, () => {
          note('churn', `${churners.length} nodes in on/off sessions (mean on ${f.meanOnMs} ms, off ${f.meanOffMs} ms)`);
          for (const id of churners) on(id);
        }, 'fault');
        return;
      }
      case 'partition': {
        sched.schedule(f.atMs, () => {
          const side = r.sample(honest, Math.round(f.fraction * honest.length));
          world.net.partition([side]);
          note('partition', `${side.length} nodes cut off from ${honest.length - side.length}`);
        }, 'fault');
        sched.schedule(f.healAtMs, () => {
          world.net.heal();
          world.metrics.heal(sched.now());
          hooks.onHeal?.();
          note('heal', 'partition healed');
        }, 'fault');
        return;
      }
      case 'targeted-removal': {
        sched.schedule(f.atMs, () => {
          const degrees = world.degrees();
          const ranked = [...degrees.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
          const k = Math.round(f.fraction * ranked.length);
          const victims = ranked.slice(0, k);
          for (const [id] of victims) world.remove(id);
          const reach = world.largestComponentFraction();
          ctl.reachableAfterRemoval.push(reach);
          note('targeted-removal', `removed ${k} best-connected nodes (degree ${victims.at(-1)?.[1] ?? 0}..${victims[0]?.[1] ?? 0}); largest component ${(reach * 100).toFixed(1)} % of survivors`);
        }, 'fault');
        return;
      }
      case 'relay-failures': {
        const tick = (): void => {
          const relays = world.liveIds().filter((id) => hooks.isRelay(id));
          const victims = r.sample(relays, Math.round(f.fractionPerMinute * relays.length));
          for (const id of victims) {
            world.crash(id);
            if (f.restartAfterMs !== null) sched.after(f.restartAfterMs, () => world.boot(id), 'restart');
          }
          note('relay-failures', `crashed ${victims.length} of ${relays.length} live relays`);
          sched.after(MINUTE, tick, 'fault');
        };
        sched.schedule(f.startMs, tick, 'fault');
        return;
      }
      case 'sybil-flood': {
        const injectors = Array.from({ length: f.injectors }, () => nextInjector++ as NodeId);
        ctl.injectors.push(...injectors);
        for (const id of injectors) world.net.register(id, () => {});
        const total = f.sybilsPerHonest * world.size;
        const prefixBase = 20_000 + r.int(10_000);
        sched.schedule(f.atMs, () => {
          note('sybil-flood', `${total} Sybil identities from ${f.injectors} gateways in ${f.prefixes} /16s over ${f.spreadMs} ms`);
          for (let k = 0; k < total; k++) {
            sched.after(r.next() * f.spreadMs, () => {
              const from = injectors[k % injectors.length] as NodeId;
              const msg = hooks.sybilAnnouncement(k, prefixBase + (k % f.prefixes), sched.now());
              const live = world.liveIds();
              for (let t = 0; t < SYBIL_TARGETS && live.length > 0; t++) world.net.send(from, r.pick(live), msg, hooks.announceBytes);
            }, 'sybil');
          }
        }, 'fault');
        return;
      }
    }
  });
  return ctl;
}
