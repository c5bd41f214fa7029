/**
 * Echo measurements between two nodes over TCP on 127.0.0.1 — ours (`NetNode.request`) and the raw
 * libp2p floors it is compared with. Lives in src/net/ because the floors need libp2p itself, which no
 * other folder may import; bench/ suites call `measureEcho`.
 *
 * Modes: 'api' — our request/response (framed, pooled streams, limits, rate limit off);
 * 'raw-stream' — one libp2p stream kept open, a length-prefixed echo per round trip (the floor for
 * reused streams); 'raw-per-request' — a fresh libp2p stream per round trip (what a stream-per-request
 * protocol would cost). Sequential: one request in flight. Measures; asserts nothing. The raw modes'
 * server end runs on this thread (`serverThread: 'same'`, the node suite's floor) or in a worker thread
 * of its own ('worker': as the suite's recipient node runs; this file is then the worker's entry).
 *
 * Run alone: `node src/net/echo-bench.ts [count] [bytes]`.
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Libp2p, Stream } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { createLibp2p } from 'libp2p';
import { multiaddr } from '@multiformats/multiaddr';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { isMainThread, parentPort, threadId, Worker, workerData } from 'node:worker_threads';
import { coalescedTcp } from './coalesced-tcp.ts';
import { framed } from './framed-stream.ts';
import { createNetNode } from './node.ts';

export type EchoMode = 'api' | 'raw-stream' | 'raw-per-request';
/** Where the raw echo's server end runs: on this thread beside the client (the suite's floor), or in a worker. */
export type EchoServerThread = 'same' | 'worker';

export interface EchoStats {
  readonly mode: EchoMode;
  readonly bytes: number;
  readonly count: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** Sequential round trips per second over the measured run. */
  readonly perSecond: number;
  /** The thread the server end ran on (worker_threads `threadId`; 0 is the main thread). */
  readonly serverThreadId: number;
}

const PROTOCOL = '/compeer/bench-echo/1';
const MAX = 1024 * 1024;

/** Raw libp2p on the TCP transport our nodes use (`coalesce`: NetNodeOptions.coalesceTcpWrites). */
async function rawNode(coalesce: boolean): Promise<Libp2p> {
  return createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [coalesce ? coalescedTcp() : tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] });
}

interface Timed {
  samples: number[];
  ms: number;
  serverThreadId: number;
}

async function timed(count: number, warmup: number, once: () => Promise<void>): Promise<{ samples: number[]; ms: number }> {
  for (let i = 0; i < warmup; i++) await once();
  const samples: number[] = new Array<number>(count);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await once();
    samples[i] = performance.now() - t;
  }
  return { samples, ms: performance.now() - t0 };
}

/** The echo's server end: answers each frame with itself, on every stream. */
async function echoServer(coalesce: boolean): Promise<{ addr: string; threadId: number; stop(): Promise<void> }> {
  const server = await rawNode(coalesce);
  await server.handle(PROTOCOL, (stream: Stream) => {
    const fs = framed(stream, MAX);
    void (async () => {
      for (;;) {
        const req = await fs.next(AbortSignal.timeout(60_000)).catch(() => undefined);
        if (req === undefined) return void fs.close();
        fs.send(req, MAX);
      }
    })();
  });
  const addr = server.getMultiaddrs()[0];
  if (addr === undefined) throw new Error('no listen address');
  return {
    addr: addr.toString(),
    threadId,
    async stop() {
      await server.stop();
    },
  };
}

/**
 * The server end in a worker thread of its own (this file is the worker's entry), as the node suite's
 * recipient is: each end then has its own event loop, and a write on one wakes the other's thread.
 */
async function echoServerInWorker(coalesce: boolean): Promise<{ addr: string; threadId: number; stop(): Promise<void> }> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { echoServer: true, coalesce } });
  try {
    const [msg] = (await once(worker, 'message')) as [{ addr?: string; error?: string }];
    if (msg.addr === undefined) throw new Error(`echo server worker: ${msg.error ?? 'no address'}`);
    return {
      addr: msg.addr,
      threadId: worker.threadId,
      async stop() {
        worker.postMessage('stop');
        await once(worker, 'exit');
      },
    };
  } catch (e) {
    await worker.terminate();
    throw e;
  }
}

async function rawEcho(mode: 'raw-stream' | 'raw-per-request', payload: Uint8Array, count: number, warmup: number, serverThread: EchoServerThread, coalesce: boolean): Promise<Timed> {
  const [server, client] = await Promise.all([serverThread === 'worker' ? echoServerInWorker(coalesce) : echoServer(coalesce), rawNode(coalesce)]);
  try {
    const addr = multiaddr(server.addr);
    await client.dial(addr);
    const open = async (): Promise<ReturnType<typeof framed>> => framed(await client.dialProtocol(addr, PROTOCOL), MAX);
    if (mode === 'raw-stream') {
      const fs = await open();
      return { ...(await timed(count, warmup, async () => {
        fs.send(payload, MAX);
        await fs.next(AbortSignal.timeout(10_000));
      })), serverThreadId: server.threadId };
    }
    const t = await timed(count, warmup, async () => {
      const fs = await open();
      fs.send(payload, MAX);
      await fs.next(AbortSignal.timeout(10_000));
      await fs.close();
    });
    return { ...t, serverThreadId: server.threadId };
  } finally {
    await Promise.all([server.stop(), client.stop()]);
  }
}

async function apiEcho(payload: Uint8Array, count: number, warmup: number, coalesce: boolean): Promise<Timed> {
  const mk = () => createNetNode({ nodeKey: randomBytes(32), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, allowPrivateAddresses: true, coalesceTcpWrites: coalesce });
  const [server, client] = await Promise.all([mk(), mk()]);
  await Promise.all([server.start(), client.start()]);
  try {
    await server.handle(PROTOCOL, async (req) => req, { rateLimit: false, maxRequestBytes: MAX, maxResponseBytes: MAX });
    const addrs = server.addresses();
    const t = await timed(count, warmup, async () => {
      await client.request(server.peerId, addrs, PROTOCOL, payload, { maxResponseBytes: MAX });
    });
    return { ...t, serverThreadId: threadId };
  } finally {
    await Promise.all([server.stop(), client.stop()]);
  }
}

export async function measureEcho(opts: {
  mode: EchoMode;
  bytes?: number;
  count?: number;
  warmup?: number;
  serverThread?: EchoServerThread;
  /** Both ends' TCP writes coalesced per turn, as NetNodeOptions.coalesceTcpWrites (default false, as the nodes). */
  coalesceWrites?: boolean;
}): Promise<EchoStats> {
  const coalesce = opts.coalesceWrites === true;
  const bytes = opts.bytes ?? 32;
  const count = opts.count ?? 2_000;
  const warmup = opts.warmup ?? Math.min(500, count);
  const payload = randomBytes(bytes);
  const { samples, ms, serverThreadId } = opts.mode === 'api' ? await apiEcho(payload, count, warmup, coalesce) : await rawEcho(opts.mode, payload, count, warmup, opts.serverThread ?? 'same', coalesce);
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (q: number): number => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN) * 1000);
  return { mode: opts.mode, bytes, count, p50Us: at(0.5), p99Us: at(0.99), perSecond: Math.round((count / ms) * 1000), serverThreadId };
}

const echoWorker = workerData as { echoServer?: boolean; coalesce?: boolean } | undefined;
if (!isMainThread && parentPort !== null && echoWorker?.echoServer === true) {
  const port = parentPort;
  try {
    const server = await echoServer(echoWorker.coalesce === true);
    port.once('message', () => void server.stop().then(() => port.close()));
    port.postMessage({ addr: server.addr });
  } catch (e) {
    port.postMessage({ error: e instanceof Error ? e.message : String(e) });
    port.close();
  }
}

if (import.meta.main && isMainThread) {
  const count = Number(process.argv[2] ?? 3000);
  const bytes = Number(process.argv[3] ?? 32);
  for (const mode of ['raw-stream', 'api', 'raw-per-request'] as const) {
    const s = await measureEcho({ mode, bytes, count: mode === 'raw-per-request' ? Math.min(count, 500) : count });
    process.stdout.write(`${JSON.stringify(s)}\n`);
  }
}
