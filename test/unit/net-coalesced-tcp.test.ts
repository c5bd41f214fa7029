/**
 * src/net/coalesced-tcp.ts: a TCP connection's writes of one event-loop turn leave in one syscall (those
 * made while a received chunk is handled: once that handling's microtasks are done), with the same
 * bytes, and backpressure, graceful close and a socket closed mid-write behave as before.
 *
 * The transport runs for real (listener and dialer on 127.0.0.1); the upgrader it hands connections to
 * only records them, so the test drives the connection's send path itself, and the far end is a plain
 * net.Socket the test can stop reading or reset. Writes are counted at the socket's `_write`/`_writev`
 * (each is one write()/writev() syscall for a loopback socket that takes the bytes at once).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { Connection, MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface';
import { defaultLogger } from '@libp2p/logger';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { Uint8ArrayList } from 'uint8arraylist';
import { coalescedTcp, coalesceWrites } from '../../src/net/coalesced-tcp.ts';
import { startNode } from './net-helpers.ts';

/** An upgrader that only records the connections the transport hands it. */
function recordingUpgrader(): { upgrader: Upgrader; next(): Promise<MultiaddrConnection> } {
  const got: MultiaddrConnection[] = [];
  const waiting: Array<(c: MultiaddrConnection) => void> = [];
  const take = (c: MultiaddrConnection): void => {
    const w = waiting.shift();
    if (w) w(c);
    else got.push(c);
  };
  const upgrader = {
    upgradeInbound: async (c: MultiaddrConnection): Promise<void> => take(c),
    // tcp.dial returns what this returns; the test only needs the raw connection back.
    upgradeOutbound: async (c: MultiaddrConnection): Promise<Connection> => {
      take(c);
      return c as unknown as Connection;
    },
    createInboundAbortSignal: (signal: AbortSignal) => Object.assign(signal, { clear: () => {} }),
    getStreamMuxers: () => new Map(),
    getConnectionEncrypters: () => new Map(),
  } as Upgrader;
  return {
    upgrader,
    next: () => {
      const c = got.shift();
      return c !== undefined ? Promise.resolve(c) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

const makeTransport = (factory: typeof tcp): Transport => factory()({ logger: defaultLogger() });

interface Pair {
  /** Our end: the transport's connection. */
  conn: MultiaddrConnection;
  /** The far end: a plain socket. */
  far: Socket;
  close(): Promise<void>;
}

/** Our end and the far one; closing drops both, then the listening side (`stop`). */
function pairOf(conn: MultiaddrConnection, far: Socket, stop: () => Promise<void>): Pair {
  return {
    conn,
    far,
    close: async () => {
      far.destroy();
      conn.abort(new Error('test over'));
      await stop();
    },
  };
}

/** Our end accepted by the transport's listener; the far end a plain client socket. */
async function inbound(factory: typeof tcp = coalescedTcp): Promise<Pair> {
  const rec = recordingUpgrader();
  const listener = makeTransport(factory).createListener({ upgrader: rec.upgrader });
  await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0'));
  const port = Number(listener.getAddrs()[0]?.toString().split('/tcp/')[1]);
  const far = connect(port, '127.0.0.1');
  return pairOf(await rec.next(), far, () => listener.close());
}

/** Our end dialled by the transport; the far end accepted by a plain server. */
async function outbound(): Promise<Pair> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const rec = recordingUpgrader();
  const dialled = makeTransport(coalescedTcp).dial(multiaddr(`/ip4/127.0.0.1/tcp/${port}`), { upgrader: rec.upgrader, signal: AbortSignal.timeout(5_000) });
  const [far] = await accepted;
  await dialled;
  return pairOf(await rec.next(), far, async () => {
    server.close();
    await once(server, 'close');
  });
}

/** The socket under `conn` (the transport's connection keeps it as `socket`). */
function socketOf(conn: MultiaddrConnection): Socket {
  return (conn as unknown as { socket: Socket }).socket;
}

/** Counts the socket's writes to the kernel: each `_write` or `_writev` call is one syscall here. */
function countWrites(socket: Socket): { readonly count: number } {
  const s = socket as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>;
  const counter = { count: 0 };
  for (const k of ['_write', '_writev'] as const) {
    const real = s[k].bind(socket);
    s[k] = (...a: unknown[]) => {
      counter.count++;
      return real(...a);
    };
  }
  return counter;
}

/** What `far` receives next, once it has `n` bytes (reading stops again after). */
async function receive(far: Socket, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let have = 0;
  const { promise, resolve } = Promise.withResolvers<void>();
  const onData = (chunk: Buffer): void => {
    parts.push(chunk);
    have += chunk.length;
    if (have >= n) resolve();
  };
  far.on('data', onData);
  await promise;
  far.off('data', onData);
  return Buffer.concat(parts);
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What Noise hands the transport for two frames: a 2-byte length and its ciphertext, each. */
function twoFrames(): { lists: Uint8ArrayList[]; bytes: Buffer } {
  const a = [Uint8Array.of(0, 28), randomBytes(28)];
  const b = [Uint8Array.of(4, 32), randomBytes(1056)];
  return { lists: [new Uint8ArrayList(...a), new Uint8ArrayList(...b)], bytes: Buffer.concat([...a, ...b]) };
}

/**
 * Sends 64 KiB chunks (each as a 2-byte head and its body, as Noise hands them) until the socket is
 * full: a send() asked for a drain and, a turn later, Node still holds bytes the kernel would not take
 * (so only the peer reading can bring the drain). Bounded, so a bug cannot loop forever.
 */
async function fill(conn: MultiaddrConnection, onChunk: (c: Buffer) => void): Promise<{ bytes: number }> {
  const socket = socketOf(conn);
  let bytes = 0;
  for (let i = 0; i < 4096; i++) {
    const chunk = randomBytes(64 * 1024);
    onChunk(chunk);
    bytes += chunk.length;
    if (conn.send(new Uint8ArrayList(chunk.subarray(0, 2), chunk.subarray(2)))) continue;
    await turn();
    if (socket.writableLength > 0) return { bytes };
    await conn.onDrain();
  }
  assert.fail('the socket never filled');
}

/** Two Noise-like frames sent in one turn: they arrive whole and in order in `syscalls` writes. */
async function sendTwoFrames(p: Pair, syscalls: number): Promise<{ readonly count: number }> {
  const writes = countWrites(socketOf(p.conn));
  const { lists, bytes } = twoFrames();
  for (const l of lists) p.conn.send(l);
  const got = receive(p.far, bytes.length);
  await turn();
  assert.equal(writes.count, syscalls);
  assert.deepEqual(await got, bytes);
  return writes;
}

describe('coalesced TCP writes', () => {
  for (const [side, open] of [['accepted', inbound], ['dialled', outbound]] as const) {
    it(`sends what one turn writes in one syscall, same bytes in order (${side} connection)`, async () => {
      const p = await open();
      try {
        const writes = await sendTwoFrames(p, 1);
        // The next turn is a write of its own, not held back.
        p.conn.send(new Uint8ArrayList(Uint8Array.of(9)));
        const more = receive(p.far, 1);
        await turn();
        assert.equal(writes.count, 2);
        assert.deepEqual(await more, Buffer.of(9));
      } finally {
        await p.close();
      }
    });
  }

  it('what handling a received chunk writes at once and what its microtasks write leave together, after them', async () => {
    // yamux answers a data frame with a window update inside the 'data' handling; a request handler
    // without I/O answers a few promise hops later. One syscall for both (two with a plain nextTick).
    const p = await inbound();
    try {
      const writes = countWrites(socketOf(p.conn));
      const update = randomBytes(30);
      const response = randomBytes(500);
      let countAtResponse = -1;
      p.conn.addEventListener('message', () => {
        p.conn.send(new Uint8ArrayList(update.subarray(0, 2), update.subarray(2)));
        void (async () => {
          for (let i = 0; i < 5; i++) await Promise.resolve();
          countAtResponse = writes.count;
          p.conn.send(new Uint8ArrayList(response.subarray(0, 2), response.subarray(2)));
        })();
      });
      const got = receive(p.far, update.length + response.length);
      p.far.write(randomBytes(100));
      const all = await got;
      assert.equal(countAtResponse, 0, 'the window update left before the handling was done');
      assert.equal(writes.count, 1);
      assert.deepEqual(all, Buffer.concat([update, response]));
    } finally {
      await p.close();
    }
  });

  it('the plain transport (before) wrote each chunk with a syscall of its own', async () => {
    // The measure the change is held to: the same two frames through @libp2p/tcp as it is.
    const p = await inbound(tcp);
    try {
      await sendTwoFrames(p, 4);
    } finally {
      await p.close();
    }
  });

  it('keeps backpressure: a peer that stops reading makes send() ask for a drain, and every byte arrives after it reads again', async () => {
    const p = await inbound();
    try {
      p.far.pause();
      const sent = createHash('sha256');
      const filled = await fill(p.conn, (c) => sent.update(c));
      let total = filled.bytes;
      assert.equal(p.conn.writableNeedsDrain, true);
      const got = createHash('sha256');
      let have = 0;
      p.far.on('data', (c: Buffer) => {
        got.update(c);
        have += c.length;
      });
      p.far.resume();
      await p.conn.onDrain();
      assert.equal(p.conn.writableNeedsDrain, false);
      const tail = randomBytes(100);
      sent.update(tail);
      total += tail.length;
      assert.equal(p.conn.send(new Uint8ArrayList(tail)), true);
      while (have < total) await once(p.far, 'data');
      assert.equal(have, total);
      assert.equal(got.digest('hex'), sent.digest('hex'));
    } finally {
      await p.close();
    }
  });

  it('a graceful close sends what is still corked, then the FIN', async () => {
    const p = await inbound();
    const { lists, bytes } = twoFrames();
    for (const l of lists) p.conn.send(l);
    const closing = p.conn.close();
    const parts: Buffer[] = [];
    for await (const c of p.far as AsyncIterable<Buffer>) parts.push(c);
    await closing;
    assert.deepEqual(Buffer.concat(parts), bytes);
    assert.equal(p.conn.status, 'closed');
    await p.close();
  });

  it('a socket destroyed in the turn it was written to drops the bytes and closes the connection with the error, nothing thrown', async () => {
    const p = await inbound();
    const closed = once(p.conn, 'close') as Promise<[{ error?: Error }]>;
    p.conn.send(new Uint8ArrayList(randomBytes(1000)));
    socketOf(p.conn).destroy(new Error('gone'));
    await turn(); // the uncork runs on the destroyed socket
    const [evt] = await closed;
    assert.equal(evt.error?.message, 'gone');
    assert.equal(p.conn.status, 'aborted');
    assert.throws(() => p.conn.send(new Uint8ArrayList(Uint8Array.of(1))), { name: 'StreamStateError' });
    await p.close();
  });

  it('a peer that resets while we are writing closes the connection with an error, nothing thrown', async () => {
    const p = await inbound();
    const closed = once(p.conn, 'close') as Promise<[{ error?: Error }]>;
    p.far.pause();
    await fill(p.conn, () => {});
    // Our bytes are unread in both kernels and in Node's buffer; the peer resets; the write still
    // pending fails (EPIPE/ECONNRESET) and the connection must close with that error.
    p.far.resetAndDestroy();
    const [evt] = await closed;
    assert.ok(evt.error instanceof Error);
    assert.equal(p.conn.status, 'aborted');
    assert.throws(() => p.conn.send(new Uint8ArrayList(Uint8Array.of(1))), { name: 'StreamStateError' });
    await p.close();
  });

  it('two nodes with coalesceTcpWrites exchange 13 requests at once on a new connection over Noise and yamux, every byte intact', async () => {
    // The 13 streams' opening frames reach the listener in one segment, before libp2p has attached its
    // stream listener: yamux's default of 10 such early streams aborted the connection (node.ts
    // MAX_EARLY_STREAMS).
    const [a, b] = await Promise.all([startNode({ coalesceTcpWrites: true }), startNode({ coalesceTcpWrites: true })]);
    try {
      await b.handle('/test/echo/1', async (req) => Uint8Array.from(req).reverse(), { rateLimit: false, maxRequestBytes: 1 << 20, maxResponseBytes: 1 << 20 });
      // 1 byte, a Noise frame's worth and more (several frames in one turn), several requests at once.
      const sizes = [1, 1024, 65_519, 65_520, 200_000, ...Array.from({ length: 8 }, (_, i) => 3000 + i)];
      const reqs = sizes.map((n) => randomBytes(n));
      const res = await Promise.all(reqs.map((r) => a.request(b.peerId, b.addresses(), '/test/echo/1', r, { maxResponseBytes: 1 << 20 })));
      for (const [i, r] of res.entries()) assert.deepEqual(Buffer.from(r), Buffer.from(reqs[i] as Buffer).reverse());
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('leaves a connection that is not a TCP socket connection as it is', () => {
    const notTcp = { sendData: () => ({ sentBytes: 0, canSendMore: true }) } as unknown as MultiaddrConnection;
    assert.equal(coalesceWrites(notTcp), false);
  });
});
