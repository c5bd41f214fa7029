/**
 * libp2p's TCP transport, with what a connection hands its socket in one turn of the event loop sent in
 * one syscall.
 *
 * Why: @libp2p/tcp writes every chunk Noise and yamux give it with a `socket.write` of its own — a
 * Noise frame is its 2-byte length and its ciphertext, a yamux window update is another frame — and
 * each is a `write()` syscall and a TCP segment; on loopback each can wake the reader's thread. A
 * request/response round trip made 8 writes (docs/perf-node.md, "Seventh pass").
 *
 * How: the connection's send path (the MultiaddrConnection's `sendData`) corks the socket on its first
 * call in a turn and uncorks it on `process.nextTick`, so Node hands everything written in between to
 * the kernel as one `writev`. Writes made while the connection handles bytes it received — yamux
 * answers every data frame with a window update, synchronously — wait until the microtasks of that
 * handling are done (a microtask, then a tick): a response the handling writes at once (a request
 * handler with no I/O of its own) leaves in the same syscall, and the window update's syscall no
 * longer comes before the handling itself. The bytes on the wire are the same, in the same order.
 * Nothing else changes: `socket.write`'s return value still tells libp2p when to wait for 'drain' (it
 * counts what is buffered, corked or not), `end()` uncorks before the FIN, and a destroyed socket drops
 * what it held as it did its unsent tail before.
 *
 * Opt-in (NetNodeOptions.coalesceTcpWrites, default off): the syscalls go, but the sequential delivery
 * latency measured worse — 0.2–0.8 ms in three quiet pairs, more with the stores on a busy shared disk
 * (docs/networking.md, "TCP writes"). A node that turns it on needs its peers to tolerate bursts of stream openings in one
 * segment (node.ts MAX_EARLY_STREAMS).
 *
 * The wrap is done where libp2p hands a new connection to its upgrader (dial and listener alike), by
 * handing the TCP transport an upgrader that wraps first; node_modules is not patched. A connection
 * that is not a TCP socket connection is passed on untouched.
 */
import { Socket } from 'node:net';
import {
  serviceCapabilities,
  transportSymbol,
  type ClearableSignal,
  type Connection,
  type ConnectionEncrypter,
  type CreateListenerOptions,
  type DialTransportOptions,
  type Listener,
  type MultiaddrConnection,
  type StreamMuxerFactory,
  type Transport,
  type Upgrader,
} from '@libp2p/interface';
import { tcp, type TCPComponents, type TCPOptions } from '@libp2p/tcp';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { Uint8ArrayList } from 'uint8arraylist';

interface SendResult {
  sentBytes: number;
  canSendMore: boolean;
}

/** The part of @libp2p/tcp's connection class we rely on: its socket and its send path. */
interface SocketConnection {
  readonly socket: Socket;
  sendData(data: Uint8ArrayList): SendResult;
}

function socketConnection(conn: MultiaddrConnection): SocketConnection | undefined {
  const c = conn as Partial<SocketConnection>;
  return c.socket instanceof Socket && typeof c.sendData === 'function' ? (c as SocketConnection) : undefined;
}

const wrapped = new WeakSet<object>();

/**
 * Makes `conn`'s writes of one turn one syscall. Returns false (and changes nothing) for a connection
 * that is not a TCP socket connection. Idempotent.
 */
export function coalesceWrites(conn: MultiaddrConnection): boolean {
  const c = socketConnection(conn);
  if (c === undefined) return false;
  if (wrapped.has(c)) return true;
  wrapped.add(c);
  const socket = c.socket;
  const send = c.sendData.bind(c);
  // True while libp2p handles a received chunk synchronously (ours runs first; the reset is a microtask,
  // so it comes after that handling, whatever it throws).
  let receiving = false;
  const received = (): void => {
    receiving = false;
  };
  socket.prependListener('data', () => {
    receiving = true;
    queueMicrotask(received);
  });
  let corked = false;
  const uncork = (): void => {
    corked = false;
    // On a socket destroyed meanwhile this is a no-op: Node dropped what it held.
    socket.uncork();
  };
  // Queued from a microtask, a tick runs once the microtask queue is empty: after the handling's.
  const uncorkAfterMicrotasks = (): void => {
    process.nextTick(uncork);
  };
  c.sendData = (data: Uint8ArrayList): SendResult => {
    if (!corked) {
      corked = true;
      socket.cork();
      if (receiving) queueMicrotask(uncorkAfterMicrotasks);
      else process.nextTick(uncork);
    }
    return send(data);
  };
  return true;
}

const upgraders = new WeakMap<Upgrader, Upgrader>();

/** An upgrader that makes each new connection's writes coalesce before upgrading it with `inner`. */
function coalescingUpgrader(inner: Upgrader): Upgrader {
  const known = upgraders.get(inner);
  if (known !== undefined) return known;
  const outer: Upgrader = {
    upgradeOutbound(maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeOutbound']>[1]): Promise<Connection> {
      coalesceWrites(maConn);
      return inner.upgradeOutbound(maConn, opts);
    },
    upgradeInbound(maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeInbound']>[1]): Promise<void> {
      coalesceWrites(maConn);
      return inner.upgradeInbound(maConn, opts);
    },
    createInboundAbortSignal: (signal: AbortSignal): ClearableSignal => inner.createInboundAbortSignal(signal),
    getStreamMuxers: (): Map<string, StreamMuxerFactory> => inner.getStreamMuxers(),
    getConnectionEncrypters: (): Map<string, ConnectionEncrypter> => inner.getConnectionEncrypters(),
  };
  upgraders.set(inner, outer);
  return outer;
}

class CoalescedTcp implements Transport {
  readonly [transportSymbol] = true as const;
  readonly [serviceCapabilities]: string[];
  readonly listenFilter: Transport['listenFilter'];
  readonly dialFilter: Transport['dialFilter'];
  readonly #inner: Transport;

  constructor(inner: Transport) {
    this.#inner = inner;
    this[serviceCapabilities] = [...((inner as Partial<Record<typeof serviceCapabilities, string[]>>)[serviceCapabilities] ?? ['@libp2p/transport'])];
    this.listenFilter = (addrs) => inner.listenFilter(addrs);
    this.dialFilter = (addrs) => inner.dialFilter(addrs);
  }

  get [Symbol.toStringTag](): string {
    return this.#inner[Symbol.toStringTag];
  }

  dial(ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
    return this.#inner.dial(ma, { ...options, upgrader: coalescingUpgrader(options.upgrader) });
  }

  createListener(options: CreateListenerOptions): Listener {
    return this.#inner.createListener({ ...options, upgrader: coalescingUpgrader(options.upgrader) });
  }
}

/** `tcp(init)` whose connections send what one turn writes in one syscall (see the file comment). */
export function coalescedTcp(init?: TCPOptions): (components: TCPComponents) => Transport {
  const make = tcp(init);
  return (components) => new CoalescedTcp(make(components));
}
