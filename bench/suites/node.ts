/**
 * Node: two complete Compeer nodes over TCP on 127.0.0.1, each with its own sqlite store on disk
 * (WAL, synchronous=FULL, secrets sealed), against a raw libp2p request/response echo over one
 * reused stream measured in the same run — the floor any protocol on libp2p pays (issue 4):
 *   delivery latency: send() → sealed, encrypted, sent → decrypted and committed at the recipient →
 *     encrypted ack back → "delivered" committed at the sender; vs the echo round trip of 1 KiB;
 *   sustained throughput: 1 KiB messages sent back to back in waves of 1,000, at most two waves
 *     unacknowledged, all persisted and acknowledged before the clock stops; vs sequential echoes
 *     (the floor's throughput); each sample streams at least 5 s (SUSTAINED_MS).
 *
 * Each node has a thread of its own, as on two machines: the sender runs on the main thread, the
 * recipient in a worker thread (bench/suites/_node-peer.ts) — its own event loop, its own sqlite
 * connection and fsyncs, the OS free to put it on the other core. (Until 2026-11-25 both nodes shared
 * one thread, so every step of one waited for the other's: docs/perf-node.md.) The floor is laid out
 * the same way: the echo's server end runs in a worker thread (`measureEcho({ serverThread: 'worker' })`),
 * so each round trip pays the wake-ups of another thread as a delivery does — ~1.6–1.8× the p50 of an echo
 * with both ends on one thread, which the suite's last case reports for reference (docs/perf-node.md,
 * "Seventh pass"; the floor was the one-thread echo until 26 Nov).
 *
 *   npm run bench -- node
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { measureEcho } from '../../src/net/echo-bench.ts';
import type { CompeerNode } from '../../src/node/index.ts';
import { defineSuite, type Prepared, type Sample } from '../harness.ts';
import { benchNode, type PeerReply, type PeerRequest } from './_node-peer.ts';

const TEXT = 'x'.repeat(1024);
const FLOOR = 'raw libp2p echo, 1 KiB, server in a worker thread';

/** The raw echo of 1 KiB over one reused stream, its server end on `thread`. */
const echo = (budget: number, thread: 'same' | 'worker') =>
  measureEcho({ mode: 'raw-stream', bytes: 1024, count: Math.max(200, Math.round(budget * 2)), warmup: 100, serverThread: thread });
const WAVE = 1000;
/**
 * A throughput sample streams at least this long: with the harness's 1 s budget a sample was ~4 waves,
 * and its ramp-up and the final wait for up to 2 waves of acks (sender idle) weighed as much as the
 * steady state the target is about ("sustained").
 */
const SUSTAINED_MS = 5_000;

/** The recipient node in a worker thread: one request at a time, answered in order. */
function peerWorker(): { ask(req: PeerRequest): Promise<PeerReply>; terminate(): Promise<number> } {
  const worker = new Worker(new URL('./_node-peer.ts', import.meta.url));
  const waiting: ((r: PeerReply) => void)[] = [];
  worker.on('message', (r: PeerReply) => waiting.shift()?.(r));
  worker.on('error', (e) => {
    for (const w of waiting.splice(0)) w({ type: 'error', message: e.message });
  });
  return {
    async ask(req) {
      const r = await new Promise<PeerReply>((resolve) => {
        waiting.push(resolve);
        worker.postMessage(req);
      });
      if (r.type === 'error') throw new Error(`bench peer: ${r.message}`);
      return r;
    },
    terminate: () => worker.terminate(),
  };
}

/** Alice (this thread) and Bob (a worker), each other's contacts, with a session in both directions. */
async function pair(): Promise<{ alice: CompeerNode; bobName: string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'compeer-bench-node-'));
  const bob = peerWorker();
  const started = await bob.ask({ type: 'start', dir: join(dir, 'bob') });
  if (started.type !== 'started') throw new Error('bench peer: not started');
  const alice = await benchNode(join(dir, 'alice'), 'alice');
  const { name } = await alice.addContact(started.invite, 'bob');
  const bobName = name ?? 'bob';
  await alice.send(bobName, 'hello');
  await bob.ask({ type: 'greet', contact: alice.userId });
  await alice.messages(bobName, { waitMs: 10_000, count: 2 });
  return {
    alice,
    bobName,
    async close() {
      await alice.stop();
      await bob.ask({ type: 'stop' });
      await bob.terminate();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Tracks "delivered" events on a node, so a wait cannot miss an ack that beat send()'s return. */
function deliveries(node: CompeerNode): { until(ids: readonly string[]): Promise<void> } {
  const seen = new Set<string>();
  let wake: (() => void) | undefined;
  node.on((e) => {
    if (e.type === 'status' && e.status === 'delivered') {
      seen.add(e.id);
      wake?.();
    }
  });
  return {
    async until(ids) {
      for (;;) {
        if (ids.every((id) => seen.has(id))) {
          for (const id of ids) seen.delete(id);
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

async function latencies(alice: CompeerNode, to: string, budgetMs: number): Promise<number[]> {
  const track = deliveries(alice);
  const out: number[] = [];
  const end = performance.now() + budgetMs;
  while (performance.now() < end) {
    const t = performance.now();
    const { id } = await alice.send(to, TEXT);
    await track.until([id]);
    out.push((performance.now() - t) * 1000);
  }
  return out;
}

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

function latencyCase(q: number, label: string) {
  return {
    name: `delivery latency ${label} (send → stored → ack)`,
    unit: 'µs',
    better: 'lower' as const,
    baselineName: FLOOR,
    async prepare(): Promise<Prepared> {
      const p = await pair();
      const ours: Sample = async (budget) => quantile(await latencies(p.alice, p.bobName, budget), q);
      const baseline: Sample = async (budget) => {
        const s = await echo(budget, 'worker');
        return q === 0.5 ? s.p50Us : s.p99Us;
      };
      return { ours, baseline, close: () => p.close() };
    },
  };
}

export default defineSuite({
  description: 'Two Compeer nodes on TCP loopback with sqlite stores vs a raw libp2p echo (the floor)',
  cases: [
    latencyCase(0.5, 'p50'),
    latencyCase(0.99, 'p99'),
    {
      name: 'sustained 1 KiB messages, persisted and acked',
      unit: 'msgs/s',
      better: 'higher',
      baselineName: `${FLOOR}, sequential`,
      async prepare(): Promise<Prepared> {
        const p = await pair();
        let delivered = 0;
        let wake: (() => void) | undefined;
        p.alice.on((e) => {
          if (e.type === 'status' && e.status === 'delivered') {
            delivered++;
            wake?.();
          }
        });
        const ackedAtLeast = async (n: number): Promise<void> => {
          while (delivered < n) await new Promise<void>((resolve) => (wake = resolve));
        };
        const ours: Sample = async (budget) => {
          // Sustained: waves of 1,000 sends, a new wave as soon as at most one wave is unacked (so the
          // sender never waits for the last ack of a wave, as an application streaming would not); the
          // clock stops only when every message sent is delivered, so all counted work is done.
          const base = delivered;
          const span = Math.max(budget, SUSTAINED_MS);
          let n = 0;
          const t0 = performance.now();
          do {
            await ackedAtLeast(base + n - WAVE);
            const sends: Promise<unknown>[] = [];
            for (let i = 0; i < WAVE; i++) sends.push(p.alice.send(p.bobName, TEXT));
            await Promise.all(sends);
            n += WAVE;
          } while (performance.now() - t0 < span);
          await ackedAtLeast(base + n);
          return (n * 1000) / (performance.now() - t0);
        };
        const baseline: Sample = async (budget) => (await echo(budget, 'worker')).perSecond;
        return { ours, baseline, close: () => p.close() };
      },
    },
    {
      // Reference, not a target: what the second thread adds to the floor (the suite's floor until 26 Nov).
      name: 'raw libp2p echo p50, 1 KiB, both ends on one thread',
      unit: 'µs',
      better: 'lower',
      baselineName: FLOOR,
      prepare: (): Prepared => ({
        ours: async (budget) => (await echo(budget, 'same')).p50Us,
        baseline: async (budget) => (await echo(budget, 'worker')).p50Us,
      }),
    },
  ],
});

