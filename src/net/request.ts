/**
 * Request/response over libp2p 3 streams: one length-prefixed request frame, one length-prefixed response
 * frame per exchange (framed-stream.ts), on streams that are kept open and reused for the next exchange.
 *
 * Why reuse: opening a stream costs a yamux SYN and a multistream-select round trip, and measured here
 * (2 cores, loopback, libp2p 3) a fresh stream per request is ~8x slower than a reused one; see
 * docs/networking.md. Reuse is strictly sequential per stream — no request IDs, no interleaving.
 *
 * Requester: 1. take an idle stream to the peer for the protocol, or open one (existing connection, else
 *            the given addresses, else peer store / DHT) 2. send the request 3. read the response within
 *            the deadline 4. put the stream back in the pool (or reset it on any failure). A stream the
 *            responder closed while idle is detected and the request retried once on a fresh stream.
 * Responder: per stream, a loop: 1. wait for a request frame (idle timeout; a stalled partial frame is a
 *            slow peer and gets a reset, an idle stream is closed gracefully) 2. take a token from the
 *            peer's bucket (none left: reset) 3. run the handler 4. send the response — steps 3-4 within
 *            the per-request deadline. Any failure resets the stream and logs a typed error; nothing
 *            here throws into libp2p or crashes the node.
 *
 * This module knows nothing of what the bytes mean.
 */
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { Clock } from '../lib/deps.ts';
import { CompeerError, ErrorCodes, LimitError, NetworkError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { abortError, framed, type ByteBudget, type FramedStream } from './framed-stream.ts';
import { frameHeader } from './framing.ts';
import { createTokenBuckets, validateRateLimit, type RateLimit } from './rate-limit.ts';
import type { HandleOptions, MultiaddrString, PeerIdString, RequestHandler, RequestOptions, Transport } from './types.ts';

export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024;
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 100, burst: 200 };
/** The responder closes a stream that carried no request for this long (HandleOptions.idleTimeoutMs). */
export const SERVER_IDLE_MS = 30_000;
/** The requester drops pooled streams sooner than the responder would, so races with its close are rare. */
export const CLIENT_IDLE_MS = 15_000;
/** Idle streams kept per (peer, protocol): as many as may be active, so a steady concurrent load reuses them. */
export const MAX_IDLE_PER_PEER = 32;
/** Streams in use per (peer, protocol); libp2p's default inbound limit per protocol and connection is 32. */
export const MAX_ACTIVE_PER_PEER = 32;
const P2P_CODE = 0x01a5; // multicodec "p2p"
/** Parsed (peer, addresses) pairs kept by a request layer: a node's contacts and relays, a few times over. */
const PARSED_MAX = 1024;

/** Maps anything thrown by libp2p to a typed error, by phase. */
function toTypedError(err: unknown, signal: AbortSignal, phase: 'open' | 'exchange'): CompeerError {
  if (err instanceof CompeerError) return err;
  if (signal.aborted) return abortError(signal);
  const name = err instanceof Error ? err.name : '';
  if (name === 'UnsupportedProtocolError') {
    return new NetworkError(ErrorCodes.UNSUPPORTED_VERSION, 'the peer does not support the protocol', { cause: err });
  }
  if (name === 'TooManyOutboundProtocolStreamsError') {
    return new LimitError(ErrorCodes.LIMIT_EXCEEDED, 'too many concurrent requests to the peer', { cause: err });
  }
  if (phase === 'open') return new NetworkError(ErrorCodes.UNREACHABLE, 'could not open a stream to the peer', { cause: err });
  return new NetworkError(ErrorCodes.STREAM_FAILED, 'stream failed', { cause: err });
}

export function parsePeerId(peer: string): PeerId {
  try {
    return peerIdFromString(peer);
  } catch (cause) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'malformed peer ID', { cause });
  }
}

export function parseMultiaddr(addr: string): Multiaddr {
  try {
    return multiaddr(addr);
  } catch (cause) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'malformed multiaddr', { cause });
  }
}

/** `addr` ending in /p2p/<peer>: appended when missing, refused when it names another peer. */
export function addressFor(addr: MultiaddrString, peer: PeerId): Multiaddr {
  const ma = parseMultiaddr(addr);
  const last = ma.getComponents().at(-1);
  if (last?.code === P2P_CODE) {
    if (last.value !== peer.toString()) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'address names a different peer');
    return ma;
  }
  return ma.encapsulate(`/p2p/${peer.toString()}`);
}

export interface RequestLayerDeps {
  readonly libp2p: Libp2p;
  readonly log: Logger;
  readonly clock: Clock;
  readonly maxFrameBytes: number;
  /** Inbound request bytes held at once across all streams and protocols (default 32 MiB). */
  readonly maxBufferedBytes?: number;
}

export const DEFAULT_MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

export interface RequestLayer extends Transport {
  /** Closes pooled streams and clears their timers (the node is stopping). */
  close(): void;
}

interface Pool {
  idle: Array<{ fs: FramedStream; timer: ReturnType<typeof setTimeout> }>;
  active: number;
}

export function createRequestLayer(deps: RequestLayerDeps): RequestLayer {
  const { libp2p, log, clock, maxFrameBytes } = deps;
  const pools = new Map<string, Pool>();
  // Requests only: a stalling responder to one of our requests must not starve the peers we serve.
  const budget: ByteBudget = { max: deps.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES, used: 0 };
  const warnings = createTokenBuckets({ perSecond: 0.1, burst: 1 }, clock, 1024);

  // A peer ID and its addresses, parsed once: parsing an Ed25519 peer ID decompresses its key (a
  // BigInt square root), ~0.2 ms — on every request, the delivery path's largest cost before the write
  // (docs/perf-node.md, fifth pass). Same checks, same errors (a failed parse is not kept); bounded.
  const parsedTargets = new Map<string, { pid: PeerId; targets: Multiaddr[] }>();
  const parsed = (peer: PeerIdString, addrs: readonly MultiaddrString[]): { pid: PeerId; targets: Multiaddr[] } => {
    const key = addrs.length === 0 ? peer : `${peer} ${addrs.join(' ')}`;
    let p = parsedTargets.get(key);
    if (p === undefined) {
      const pid = parsePeerId(peer);
      p = { pid, targets: addrs.map((a) => addressFor(a, pid)) };
      if (parsedTargets.size >= PARSED_MAX) parsedTargets.clear();
      parsedTargets.set(key, p);
    }
    return p;
  };

  // ---- responder -------------------------------------------------------------------------------------

  const handle = async (protocol: string, handler: RequestHandler, opts: HandleOptions = {}): Promise<void> => {
    const maxRequestBytes = opts.maxRequestBytes ?? maxFrameBytes;
    const maxResponseBytes = opts.maxResponseBytes ?? maxFrameBytes;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const idleMs = opts.idleTimeoutMs ?? SERVER_IDLE_MS;
    const limit = opts.rateLimit ?? DEFAULT_RATE_LIMIT;
    if (limit !== false) validateRateLimit(limit, 'rateLimit');
    const buckets = limit === false ? undefined : createTokenBuckets(limit, clock);
    const plog = log.child({ protocol });

    const refuse = (fs: FramedStream, from: string, err: CompeerError, phase: string): void => {
      // One warning per peer and error code per 10 s; the rest at debug, so a flood cannot flood the log.
      const level = warnings.take(`${from} ${err.code}`) ? 'warn' : 'debug';
      plog[level]('request refused', { peer: from, phase, err });
      fs.abort(err);
    };

    const serve = async (fs: FramedStream, from: string): Promise<void> => {
      for (;;) {
        // 1. Wait for the next request.
        const idle = new AbortController();
        const idleTimer = setTimeout(() => idle.abort(new NetworkError(ErrorCodes.TIMEOUT, 'no complete request within the idle timeout')), idleMs);
        let req: Uint8Array;
        try {
          req = await fs.next(idle.signal);
        } catch (e) {
          const err = toTypedError(e, idle.signal, 'exchange');
          if (err.code === ErrorCodes.TIMEOUT && !fs.partial) {
            await fs.close(); // idle: a normal end
          } else if (err.code === ErrorCodes.STREAM_FAILED && !fs.partial && fs.stream.status === 'open') {
            await fs.close(); // the requester closed between requests: close our side too
          } else if (err.code === ErrorCodes.STREAM_FAILED) {
            plog.debug('request stream failed', { peer: from, err });
            fs.abort(err);
          } else {
            refuse(fs, from, err, 'read'); // oversized, malformed, or stalled mid-frame
          }
          return;
        } finally {
          clearTimeout(idleTimer);
        }
        // 2. Rate limit, per request.
        if (buckets !== undefined && !buckets.take(from)) {
          refuse(fs, from, new LimitError(ErrorCodes.RATE_LIMITED, 'request rate limit exceeded'), 'rate');
          return;
        }
        // 3-4. Handle and answer within the deadline.
        const ac = new AbortController();
        const timer = setTimeout(() => ac.abort(new NetworkError(ErrorCodes.TIMEOUT, `request not served within ${timeoutMs} ms`)), timeoutMs);
        let res: Uint8Array;
        try {
          res = await raceAbort(handler(req, from, { signal: ac.signal }), ac.signal);
          if (!(res instanceof Uint8Array)) throw new CompeerError(ErrorCodes.INTERNAL, 'handler returned no bytes');
        } catch (e) {
          if (ac.signal.aborted) refuse(fs, from, abortError(ac.signal), 'handler');
          else {
            // The handler refused the request (or has a bug): the cause is logged, the peer sees a reset.
            plog.warn('request handler failed', { peer: from, err: e instanceof Error ? e : String(e) });
            fs.abort(e instanceof Error ? e : new CompeerError(ErrorCodes.INTERNAL, 'handler failed'));
          }
          return;
        } finally {
          clearTimeout(timer);
        }
        try {
          fs.send(res, maxResponseBytes);
        } catch (e) {
          // The stream failed while the handler ran: the requester broke the protocol (logged as such),
          // went away, or the handler's answer is over the limit.
          const err = fs.failure ?? toTypedError(e, ac.signal, 'exchange');
          if (err.code === ErrorCodes.STREAM_FAILED) plog.debug('request stream failed', { peer: from, err });
          else refuse(fs, from, err, fs.failure !== undefined ? 'read' : 'write');
          fs.abort(err);
          return;
        }
      }
    };

    const onStream = (stream: Stream, connection: Connection): void => {
      const from = connection.remotePeer.toString();
      const fs = framed(stream, maxRequestBytes, budget);
      serve(fs, from).catch((err: unknown) => {
        plog.error('request loop failed', { peer: from, err: err instanceof Error ? err : String(err) });
        fs.abort(err instanceof Error ? err : new Error('request loop failed'));
      });
    };

    await libp2p.handle(protocol, onStream, {
      force: true,
      // Relayed (circuit-relay-v2) connections carry our protocols too: payloads are end-to-end encrypted
      // above us, and the relay's data and time limits bound what a relayed peer can cost.
      runOnLimitedConnection: true,
      ...(opts.maxInboundStreams !== undefined ? { maxInboundStreams: opts.maxInboundStreams } : {}),
    });
  };

  // ---- requester -------------------------------------------------------------------------------------

  const poolFor = (key: string): Pool => {
    let p = pools.get(key);
    if (p === undefined) {
      p = { idle: [], active: 0 };
      pools.set(key, p);
    }
    return p;
  };

  const takeIdle = (pool: Pool): FramedStream | undefined => {
    for (;;) {
      const entry = pool.idle.pop();
      if (entry === undefined) return undefined;
      clearTimeout(entry.timer);
      if (entry.fs.reusable) return entry.fs;
      // Closed by the responder while idle, or sent us something unasked: finish it off.
      if (entry.fs.failure?.code === ErrorCodes.STREAM_FAILED && entry.fs.stream.status === 'open') void entry.fs.close();
      else entry.fs.abort(new NetworkError(ErrorCodes.STREAM_FAILED, 'stale pooled stream'));
    }
  };

  const release = (key: string, pool: Pool, fs: FramedStream): void => {
    pool.active--;
    if (!fs.reusable || pool.idle.length >= MAX_IDLE_PER_PEER) {
      void fs.close();
    } else {
      const timer = setTimeout(() => {
        const i = pool.idle.findIndex((e) => e.fs === fs);
        if (i >= 0) pool.idle.splice(i, 1);
        void fs.close();
        if (pool.idle.length === 0 && pool.active === 0) pools.delete(key);
      }, CLIENT_IDLE_MS);
      timer.unref();
      pool.idle.push({ fs, timer });
    }
    if (pool.idle.length === 0 && pool.active === 0) pools.delete(key);
  };

  const open = async (pid: PeerId, targets: Multiaddr[], protocol: string, maxResponseBytes: number, signal: AbortSignal): Promise<FramedStream> => {
    try {
      const connected = libp2p.getConnections(pid).some((c) => c.status === 'open');
      const stream = await libp2p.dialProtocol(connected || targets.length === 0 ? pid : targets, protocol, { signal, runOnLimitedConnection: true });
      return framed(stream, maxResponseBytes);
    } catch (e) {
      throw toTypedError(e, signal, 'open');
    }
  };

  const exchange = async (fs: FramedStream, bytes: Uint8Array, signal: AbortSignal): Promise<Uint8Array> => {
    try {
      fs.send(bytes, maxFrameBytes);
      return await fs.next(signal);
    } catch (e) {
      const err = toTypedError(e, signal, 'exchange');
      fs.abort(err);
      throw err;
    }
  };

  const request = async (
    peer: PeerIdString,
    addrs: readonly MultiaddrString[],
    protocol: string,
    bytes: Uint8Array,
    opts: RequestOptions = {},
  ): Promise<Uint8Array> => {
    const { pid, targets } = parsed(peer, addrs);
    frameHeader(bytes.length, maxFrameBytes); // an oversized request fails before any dial
    const maxResponseBytes = opts.maxResponseBytes ?? maxFrameBytes;
    // Pooled streams were opened with some response limit; streams for a different limit are not pooled.
    const key = `${peer} ${protocol} ${maxResponseBytes}`;
    const pool = poolFor(key);
    if (pool.active >= MAX_ACTIVE_PER_PEER) {
      throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, 'too many concurrent requests to the peer');
    }
    pool.active++;
    // A timer cleared when the exchange ends, not AbortSignal.timeout: that one fires anyway once the
    // deadline passes — a DOMException and an abort event per finished request (docs/perf-node.md).
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new NetworkError(ErrorCodes.TIMEOUT, `no response within ${timeoutMs} ms`)), timeoutMs);
    const signal = opts.signal === undefined ? deadline.signal : AbortSignal.any([deadline.signal, opts.signal]);
    let fs: FramedStream | undefined;
    try {
      fs = takeIdle(pool);
      if (fs !== undefined) {
        try {
          const res = await exchange(fs, bytes, signal);
          release(key, pool, fs);
          return res;
        } catch (err) {
          // The responder closed this idle stream as we reused it: it never saw the request. Retry once.
          if (!fs.endedBetweenFrames || signal.aborted) throw err;
          log.debug('pooled stream was closed by the peer; retrying on a new stream', { protocol });
        }
      }
      fs = await open(pid, [...targets], protocol, maxResponseBytes, signal);
      const res = await exchange(fs, bytes, signal);
      release(key, pool, fs);
      return res;
    } catch (err) {
      pool.active--;
      if (pool.idle.length === 0 && pool.active === 0) pools.delete(key);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };

  const unhandle = async (protocol: string): Promise<void> => {
    await libp2p.unhandle(protocol);
  };

  const close = (): void => {
    for (const pool of pools.values()) {
      for (const { fs, timer } of pool.idle) {
        clearTimeout(timer);
        fs.abort(new NetworkError(ErrorCodes.STREAM_FAILED, 'node stopping'));
      }
    }
    pools.clear();
  };

  return { handle, request, unhandle, close };
}

/** Rejects with the signal's reason as soon as it aborts, without waiting for `p`. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new CompeerError(ErrorCodes.INTERNAL, 'handler rejected with a non-error'));
      },
    );
  });
}
