/**
 * One full-mode run of a scenario (issue 6): N complete Compeer nodes in this process over
 * @libp2p/memory (sim/full/cluster.ts), scenario time = real time (sim/full/timeline.ts).
 *
 * Setup, on its own clock (its length depends on the machine, so it is kept out of scenario time):
 *   0                  the bootstrap nodes boot (they dial each other);
 *   0 .. startWindowMs the others boot at uniform times, dialling the bootstrap nodes;
 *   all booted         introductions: node i adds each of its `contactsPerNode` contacts from that
 *                      contact's invite (`addContact(invite)`, the session starts from the invite's
 *                      bundle); the contact learns i at i's first message, as in the product.
 * The scenario, from 0 when the introductions are done:
 *   traffic.startMs .. durationMs  a Poisson process per node sends `node.send(contact, text)` to a
 *                      random contact; the text carries the run's message number. An offline sender
 *                      writes nothing; a removed contact is skipped;
 *   faults             sim/full/faults.ts, at their scenario times;
 *   durationMs + drainMs  the end (or earlier, once every message is delivered): every node stops, the
 *                      stores are deleted.
 * Time to know 8 peers is measured on the setup clock from each node's boot (it runs on into the
 * scenario).
 *
 * Delivered = the recipient's node emitted the `message` event (its store committed the message);
 * latency = that moment − the moment `send` was called. Memory per node = (heap after the nodes booted
 * and were introduced − heap before) / N, both after a full GC.
 * The result has the virtual mode's shape (sim/simulate.ts RunResult) plus `full`.
 */
import { tmpdir } from 'node:os';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { silentLogger, type Logger } from '../../src/lib/log.ts';
import { APP_TEXT_MAX_BYTES } from '../../src/protocol/wire/app-message.ts';
import type { CompeerOptions } from '../../src/node/compeer.ts';
import type { CompeerEvent } from '../../src/node/types.ts';
import { createMetrics, summarizeHonestShares, summarizeSizes } from '../engine/metrics.ts';
import { seededRandom } from '../engine/random.ts';
import type { Scenario } from '../scenario.ts';
import { checkTargets, type RunOptions, type RunResult } from '../simulate.ts';
import { createCluster, SIM_MAX_CONNECTIONS, type Cluster } from './cluster.ts';
import { createFateRecorder, summarizeFates, type Fate, type FateSummary } from './fate.ts';
import { checkFullFaults, createFullFaults, type FullFaults } from './faults.ts';
import { createTimeline } from './timeline.ts';

export interface FullReport {
  /** @libp2p/memory latency per buffer (scenario network.latency.baseMs). */
  readonly latencyMs: number;
  /** Setup clock: ms when the last initial boot completed, and when the introductions ended (scenario 0). */
  readonly bootedAtMs: number;
  readonly introducedAtMs: number;
  readonly introductions: { readonly ok: number; readonly failed: number };
  /** Node starts, restarts included. */
  readonly boots: number;
  readonly heapPerNodeBytes: number;
  readonly rssPerNodeBytes: number;
  /** Of the delivered messages, those whose sender saw the end-to-end ack ('delivered' status). */
  readonly acked: number;
  /** Sends the node refused (e.g. it crashed during the call); not counted as created. */
  readonly sendErrors: number;
  readonly cutConnections: number;
  readonly refusedByGater: number;
  /** Timeline steps (boots, crashes, fault steps) that threw. */
  readonly stepFailures: number;
  /** Steps (sends, fault steps) still running SETTLE_BOUND_MS after the end: not waited for. */
  readonly stuckSteps: number;
  /** Undelivered messages' status at their sender at the end (null: the sender is down), per status. */
  readonly undeliveredBySenderStatus: Readonly<Record<string, number>>;
  /** Where each undelivered message stopped (sim/full/fate.ts). */
  readonly undelivered: FateSummary;
  /**
   * Event-loop delay over the scenario (ms; perf_hooks, 20 ms resolution): every node shares this one
   * loop, so it is how late each node's timers and answers run — next to the 5 s request and 10 s hop
   * deadlines it says whether a missed deadline is the load's.
   */
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /**
   * Connections per live node at the end; `atCap`: nodes holding `cap` (connections.max) or more —
   * src/net keeps libp2p's own limit a reserve above it, so they still accept inbound connections.
   */
  readonly connections: { readonly cap: number; readonly min: number; readonly median: number; readonly max: number; readonly atCap: number };
}

export interface FullRunOptions extends RunOptions {
  readonly logger?: Logger;
  /** Extra createCompeer options (tests); product defaults otherwise. */
  readonly node?: Partial<Omit<CompeerOptions, 'store' | 'net' | 'discovery' | 'logger'>>;
  /** Setup progress (boots, introductions), for the command's progress lines. */
  readonly onSetup?: (what: string) => void;
  /** Connections per node (default SIM_MAX_CONNECTIONS: sim/full/cluster.ts). */
  readonly maxConnections?: number;
  /**
   * End the drain as soon as every message created is delivered (default true): the drain is a bound,
   * long enough for the product's slowest retry (a held message is re-sent after HELD_RETRY_MS, 2 min
   * ± 20 %), and idle time after the last delivery measures nothing. false: the full drain.
   */
  readonly endWhenDrained?: boolean;
  /** Called once the nodes are up and introduced, before traffic (tests drive their own faults). */
  readonly onReady?: (ctx: { cluster: Cluster; faults: FullFaults }) => void | Promise<void>;
}

const MINUTE = 60_000;
const TEXT_PREFIX = 'sim:';
const KNOWS = 8;
const POLL_MS = 250;
const INTRO_CONCURRENCY = 8;
/** How long the end waits for steps still running (a send in flight) before it reports them as stuck. */
const SETTLE_BOUND_MS = 30_000;
/** addContact's own steps have deadlines; this one only keeps a stuck step from holding the setup. */
const INTRO_DEADLINE_MS = 120_000;

function gcFunction(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) return existing;
  // Exposes V8's gc for this measurement only (npm run sim does not pass --expose-gc).
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * Where the stores go: tmpfs when there is one. Every committed transaction fsyncs; on a disk that is
 * most of a node's CPU-idle wall time (100 stores, one process), on tmpfs it costs nothing, and a
 * crashed node still finds its files. COMPEER_SIM_DIR overrides.
 */
export function storeRoot(): string {
  const env = process.env.COMPEER_SIM_DIR;
  if (env !== undefined && env !== '') return env;
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

/** One undelivered message's fate: the sender's view of it, both ends' sessions, the last events logged. */
async function fateOf(cluster: Cluster, fateLog: ReturnType<typeof createFateRecorder>, n: number, from: number, to: number, id: string): Promise<Fate> {
  const sender = cluster.node(from);
  const store = cluster.store(from);
  const recipient = cluster.store(to);
  const toUser = cluster.userId(to) ?? '';
  const fromUser = cluster.userId(from) ?? '';
  const status = sender === undefined ? 'sender down' : ((await sender.messages(toUser)).find((m) => m.id === id)?.status ?? 'unknown');
  const entry = store?.outbox.get(id);
  const head = store?.outbox.forContact(toUser, 1)[0];
  const now = Date.now();
  const last = fateLog.last(from, toUser);
  const lastPath = fateLog.lastPath(from);
  return {
    n,
    from,
    to,
    status,
    ...(entry && { outbox: { state: entry.state, attempts: entry.attempts, dueInMs: Math.round(entry.nextAttemptAt - now) } }),
    ...(entry && head && head.messageId !== id && { behind: { state: head.state, attempts: head.attempts, dueInMs: Math.round(head.nextAttemptAt - now) } }),
    senderSession: store?.sessions.has(toUser) ?? false,
    recipientKnowsSender: recipient?.contacts.get(fromUser) !== undefined,
    ...(last && { lastEvent: last.what, lastEventAgoMs: Math.round(performance.now() - last.at) }),
    ...(lastPath && { lastPathEvent: lastPath.what }),
  };
}

export async function runFullScenario(s: Scenario, opts: FullRunOptions = {}): Promise<RunResult> {
  checkFullFaults(s.faults);
  const fateLog = createFateRecorder();
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  const log = fateLog.wrap(opts.logger ?? silentLogger);
  const wallStart = performance.now();
  const gc = gcFunction();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const rssBefore = process.memoryUsage().rss;

  const random = seededRandom(s.seed);
  const setup = random.fork('setup');
  const metrics = createMetrics(s.metricsIntervalMs);
  const ids = Array.from({ length: s.nodes }, (_, i) => i);
  const relays = ids.map(() => setup.chance(s.node.relayFraction));
  const bootstrap = ids.slice(0, s.node.bootstrapNodes);
  const contacts = ids.map((id) => setup.sample(ids.filter((x) => x !== id), s.traffic.contactsPerNode));
  const bootAt = ids.map((id) => (bootstrap.includes(id) ? 0 : 1 + setup.next() * s.node.startWindowMs));

  const setupClock = createTimeline(log);
  let timeline = setupClock;
  // Product message id → run message number, for the sender's 'delivered' status events.
  const sent = new Map<string, number>();
  const productId = new Map<number, { readonly from: number; readonly id: string }>();
  const acked = new Set<number>();
  const delivered = new Set<number>();
  let events = 0;
  const onEvent = (i: number, e: CompeerEvent): void => {
    events++;
    if (e.type === 'message' && e.message.direction === 'in' && e.message.text.startsWith(TEXT_PREFIX)) {
      const n = Number.parseInt(e.message.text.slice(TEXT_PREFIX.length), 10);
      if (Number.isSafeInteger(n) && target.get(n) === i) {
        metrics.delivered(n, timeline.now());
        delivered.add(n);
      }
    } else if (e.type === 'status' && e.status === 'delivered') {
      const n = sent.get(e.id);
      if (n !== undefined) acked.add(n);
    }
  };
  const target = new Map<number, number>();
  const createdAt = new Map<number, number>();

  let faults: FullFaults | undefined;
  const cluster = createCluster({
    size: s.nodes,
    baseDir: mkdtempSync(join(storeRoot(), `compeer-sim-${s.name}-`)),
    latencyMs: s.network.latency.baseMs,
    maxPeers: s.node.maxPeers,
    relay: (i) => relays[i] === true,
    allow: (i, peer) => faults?.allow(i, peer) ?? true,
    onEvent,
    logger: log,
    ...(opts.node && { node: opts.node }),
    ...(opts.maxConnections !== undefined && { maxConnections: opts.maxConnections }),
  });

  try {
    // Time to know 8 peers: the peer table of each new node, polled.
    const knows = new Set<number>();
    const poll = setInterval(() => {
      for (const i of cluster.liveIds()) {
        if (knows.has(i) || bootstrap.includes(i)) continue;
        const n = cluster.store(i)?.peers?.count() ?? 0;
        if (n >= KNOWS) {
          knows.add(i);
          metrics.knows8(i, setupClock.now());
        }
      }
    }, POLL_MS);

    try {
      await Promise.all(bootstrap.map((i) => cluster.boot(i, bootstrap)));
      await Promise.all(
        ids
          .filter((i) => !bootstrap.includes(i))
          .map(
            (i) =>
              new Promise<void>((resolve, reject) =>
                setupClock.at(bootAt[i] ?? 0, () => {
                  metrics.joined(i, setupClock.now());
                  return cluster.boot(i, bootstrap).then(resolve, reject);
                }),
              ),
          ),
      );
      const bootedAtMs = setupClock.now();
      opts.onSetup?.(`${s.nodes} nodes booted in ${Math.round(bootedAtMs)} ms`);

      const intro = { ok: 0, failed: 0 };
      const pairs = ids.flatMap((i) => (contacts[i] ?? []).map((j) => [i, j] as const));
      await pool(pairs, INTRO_CONCURRENCY, async ([i, j]) => {
        const a = cluster.node(i);
        const b = cluster.node(j);
        try {
          if (a === undefined || b === undefined) throw new Error('node not up');
          let timer: NodeJS.Timeout | undefined;
          const deadline = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`introduction not done within ${INTRO_DEADLINE_MS} ms`)), INTRO_DEADLINE_MS);
          });
          await Promise.race([b.id().then((id) => a.addContact(id.invite, `n${j}`)), deadline]).finally(() => clearTimeout(timer));
          intro.ok++;
          if ((intro.ok + intro.failed) % 25 === 0) opts.onSetup?.(`${intro.ok + intro.failed} of ${pairs.length} introductions`);
        } catch (e) {
          intro.failed++;
          log.warn('sim introduction failed', { from: i, to: j, error: e instanceof Error ? e : String(e) });
        }
      });
      const introducedAtMs = setupClock.now();
      gc();
      const heapPerNodeBytes = Math.max(0, Math.round((process.memoryUsage().heapUsed - heapBefore) / s.nodes));
      const rssPerNodeBytes = Math.max(0, Math.round((process.memoryUsage().rss - rssBefore) / s.nodes));
      timeline = createTimeline(log);
      loopDelay.enable();
      faults = createFullFaults({ cluster, timeline, metrics, random: random.fork('faults'), faults: s.faults, isRelay: (i) => relays[i] === true, bootstrap });
      await opts.onReady?.({ cluster, faults });

      // Traffic: Poisson per node from the later of traffic.startMs and the end of the introductions.
      const traffic = random.fork('traffic');
      const rate = s.traffic.messagesPerNodePerMinute / MINUTE;
      const textBytes = Math.min(s.traffic.messageBytes, APP_TEXT_MAX_BYTES);
      let nextMessage = 0;
      let sendErrors = 0;
      /**
       * Sends started and not yet returned: a message counts as created when `send` returns, so the
       * run is drained only when none is in flight (a send that took longer than the 2 s after
       * durationMs was recorded after the drain check and left undelivered: a trace run, 26 Nov).
       */
      let sending = 0;
      const tick = (i: number): void => {
        timeline.after(traffic.exp(1 / rate), async () => {
          if (timeline.now() > s.durationMs) return;
          tick(i);
          const to = traffic.pick(contacts[i] ?? []);
          const node = cluster.node(i);
          const userId = cluster.userId(to);
          if (node === undefined || cluster.isRemoved(to) || userId === undefined) return;
          const n = nextMessage++;
          const head = `${TEXT_PREFIX}${n}:`;
          const at = timeline.now();
          target.set(n, to);
          sending++;
          try {
            const r = await node.send(userId, head.padEnd(textBytes, '.'), { ttlMs: s.traffic.ttlMs });
            metrics.created(n, i, to, at);
            createdAt.set(n, at);
            sent.set(r.id, n);
            productId.set(n, { from: i, id: r.id });
          } catch (e) {
            target.delete(n);
            sendErrors++;
            log.info('sim send refused', { from: i, error: e instanceof Error ? e : String(e) });
          } finally {
            sending--;
          }
        });
      };
      if (rate > 0) timeline.at(s.traffic.startMs, () => ids.forEach(tick));

      let end = s.durationMs + s.traffic.drainMs;
      const step = opts.progressEveryMs ?? end;
      for (let t = Math.min(step, end); ; t = Math.min(t + step, end)) {
        if (opts.endWhenDrained ?? true) {
          await timeline.until(Math.min(end, s.durationMs + 2_000)); // sends in flight at durationMs are recorded
          const drained = (): boolean => sending === 0 && delivered.size >= createdAt.size;
          while (timeline.now() < t && !drained()) await new Promise((r) => setTimeout(r, POLL_MS));
          if (drained()) {
            end = Math.min(end, Math.ceil(timeline.now()));
            break;
          }
        }
        await timeline.until(t);
        opts.onProgress?.(t);
        if (t >= end) break;
      }
      timeline.stop();
      loopDelay.disable();
      // Steps still running after the bound are reported, not waited for (sim/full/timeline.ts).
      const stuckSteps = (await timeline.settle(SETTLE_BOUND_MS)) + (await setupClock.settle(SETTLE_BOUND_MS));
      if (stuckSteps > 0) log.warn('sim steps still running at the end', { steps: stuckSteps });
      for (const [n, at] of createdAt) if (timeline.now() > at + s.traffic.ttlMs) metrics.expired(n);

      const sizes: number[] = [];
      const honestShares: number[] = [];
      for (const i of cluster.liveIds()) {
        const table = cluster.store(i)?.peers?.list(s.node.maxPeers) ?? [];
        sizes.push(table.length);
        if (table.length > 0) honestShares.push(table.filter((p) => cluster.indexOf(p.peerId) !== undefined).length / table.length);
      }
      const messages = metrics.summary();
      const fates: Fate[] = [];
      for (const [n, at] of createdAt) {
        if (delivered.has(n)) continue;
        const p = productId.get(n);
        const to = target.get(n);
        if (p === undefined || to === undefined) continue;
        fates.push(await fateOf(cluster, fateLog, n, p.from, to, p.id));
        log.info('sim undelivered', { n, at, from: p.from, to });
      }
      const undelivered = summarizeFates(fates);
      const degrees = [...cluster.liveIds()].map((i) => cluster.node(i)?.net.connections().length ?? 0).sort((a, b) => a - b);
      const cap = opts.maxConnections ?? SIM_MAX_CONNECTIONS;
      const connections = {
        cap,
        min: degrees[0] ?? 0,
        median: degrees[Math.floor(degrees.length / 2)] ?? 0,
        max: degrees.at(-1) ?? 0,
        atCap: degrees.filter((d) => d >= cap).length,
      };
      const byKind = [...cluster.traffic.entries()].sort((a, b) => a[0].localeCompare(b[0]));
      const transmissions = byKind.reduce((a, [, t]) => a + t.count, 0);
      const newNodes = s.nodes - bootstrap.length;
      const result = {
        scenario: s.name,
        mode: 'full' as const,
        model: 'product' as const,
        seed: s.seed,
        nodes: s.nodes,
        simulatedMs: end,
        wallTimeMs: Math.round(performance.now() - wallStart),
        events,
        messages,
        transmissions,
        bytes: byKind.reduce((a, [, t]) => a + t.bytes, 0),
        overhead: messages.delivered > 0 ? transmissions / messages.delivered : null,
        transmissionsByKind: Object.fromEntries(byKind.map(([k, t]) => [k, t.count])),
        newNodes,
        honestTable: summarizeHonestShares(honestShares),
        tableSize: summarizeSizes(sizes),
        survivorsReachable: { afterRemoval: faults.reachableAfterRemoval, atEnd: cluster.largestComponentFraction() },
        memoryPerNodeBytes: heapPerNodeBytes,
        faults: faults.log,
        series: metrics.series(end),
        routing: null,
        full: {
          latencyMs: s.network.latency.baseMs,
          bootedAtMs: Math.round(bootedAtMs),
          introducedAtMs: Math.round(introducedAtMs),
          introductions: intro,
          boots: cluster.boots,
          heapPerNodeBytes,
          rssPerNodeBytes,
          acked: acked.size,
          sendErrors,
          cutConnections: faults.cutConnections,
          refusedByGater: faults.refused,
          stepFailures: timeline.failures + setupClock.failures,
          stuckSteps,
          undeliveredBySenderStatus: undelivered.bySenderStatus,
          undelivered,
          connections,
          eventLoopDelayMs: { p50: Math.round(loopDelay.percentile(50) / 1e6), p99: Math.round(loopDelay.percentile(99) / 1e6), max: Math.round(loopDelay.max / 1e6) },
        },
      };
      return { ...result, targets: checkTargets(s, result) };
    } finally {
      clearInterval(poll);
    }
  } finally {
    setupClock.stop();
    timeline.stop();
    await cluster.close();
  }
}
