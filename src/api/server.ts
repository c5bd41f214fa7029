/**
 * The local control API: node:http + a WebSocket (`ws`) for events, on loopback, in front of a
 * CompeerApi. Routes are in routes.ts, request validation in validate.ts, auth in auth.ts.
 *
 * Request pipeline (HTTP): 1. Host/Origin check (DNS rebinding, CSRF) 2. per-connection rate limit
 * 3. bearer token 4. route + method 5. JSON content type and a capped body 6. validation 7. the API
 * call 8. JSON result, or `{error:{code,message}}` with the status of http-errors.ts.
 * WebSocket /v1/events: the same checks 1–3 on the upgrade, then one CompeerEvent JSON per text frame;
 * a client that does not keep up (too much buffered) is closed rather than buffered without bound.
 *
 * Knows HTTP and limits; does not know what the node does with a call. Logs carry routes, statuses and
 * error codes only: never bodies, tokens or message text.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { CompeerApi } from '../node/types.ts';
import { checkBearer, checkHostAndOrigin, type OriginPolicy } from './auth.ts';
import { errorResponse } from './http-errors.ts';
import { EVENTS_PATH, isMethod, ROUTES } from './routes.ts';

export interface ApiLimits {
  maxBodyBytes: number;
  /** Token bucket per TCP connection: burst size and refill per second. */
  rateBurst: number;
  ratePerSecond: number;
  maxConnections: number;
  maxEventClients: number;
  /** A WebSocket client with more than this many bytes unsent is closed. */
  maxEventBufferBytes: number;
}

const LOG_BURST = 20;

export const API_LIMITS: ApiLimits = {
  maxBodyBytes: 128 * 1024,
  rateBurst: 100,
  ratePerSecond: 50,
  maxConnections: 64,
  maxEventClients: 16,
  maxEventBufferBytes: 1024 * 1024,
};

export interface ApiServerOptions {
  api: CompeerApi;
  token: string;
  /** Default 127.0.0.1 and 0 (a random free port). */
  host?: string;
  port?: number;
  /** Required to bind anything but a loopback address. */
  allowNonLoopback?: boolean;
  logger: Logger;
  limits?: Partial<ApiLimits>;
  now?: () => number;
}

export interface ApiServer {
  /** http://HOST:PORT */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** `HOST:PORT` (IPv6 in brackets) → parts; INVALID_ARGUMENT otherwise. */
export function parseApiAddress(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(s);
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  if (m === null || host === undefined || port > 65535) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `--api: expected HOST:PORT (e.g. 127.0.0.1:0), got "${s.slice(0, 64)}"`);
  }
  return { host, port };
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

function sendJson(res: ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(text);
}

/** A raw HTTP error on a socket that asked to upgrade (no ServerResponse exists there). */
function refuseUpgrade(socket: Duplex, err: unknown): void {
  const { status, body } = errorResponse(err);
  const text = JSON.stringify(body);
  socket.end(`HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      reject(new CompeerError(ErrorCodes.LIMIT_EXCEEDED, `body: at most ${max} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new CompeerError(ErrorCodes.LIMIT_EXCEEDED, `body: at most ${max} bytes`));
        req.pause();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)));
      } catch {
        reject(new CompeerError(ErrorCodes.INVALID_ENCODING, 'body: not valid UTF-8'));
      }
    });
    req.on('error', () => reject(new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'body: the request was aborted')));
  });
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const limits: ApiLimits = { ...API_LIMITS, ...opts.limits };
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && opts.allowNonLoopback !== true) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `the API binds to loopback only (got ${host.slice(0, 64)}); anything else must be allowed explicitly`);
  }
  const log = opts.logger.child({ component: 'api' });
  const now = opts.now ?? (() => performance.now());
  const buckets = new WeakMap<Socket, { tokens: number; at: number }>();
  let policy: OriginPolicy = { port: 0 };

  const takeToken = (socket: Socket): boolean => {
    const t = now();
    const b = buckets.get(socket) ?? { tokens: limits.rateBurst, at: t };
    b.tokens = Math.min(limits.rateBurst, b.tokens + ((t - b.at) / 1000) * limits.ratePerSecond);
    b.at = t;
    buckets.set(socket, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };

  // Refusals are logged (auth failures at warn: someone local is probing), at most LOG_BURST per
  // minute so a flood cannot flood the log too; the next line says how many were left out.
  let logWindow = { start: now(), count: 0, dropped: 0 };
  const refused = (where: { method: string | undefined; route: string; status: number }, code: string): void => {
    const t = now();
    if (t - logWindow.start > 60_000) logWindow = { start: t, count: 0, dropped: logWindow.dropped };
    if (logWindow.count >= LOG_BURST) {
      logWindow.dropped++;
      return;
    }
    logWindow.count++;
    const fields = { ...where, code, ...(logWindow.dropped > 0 ? { notLogged: logWindow.dropped } : {}) };
    logWindow.dropped = 0;
    if (code === ErrorCodes.UNAUTHORIZED) log.warn('api request refused', fields);
    else log.info('api request refused', fields);
  };

  /** Steps 1–3, shared by HTTP requests and WebSocket upgrades. */
  const admit = (req: IncomingMessage): void => {
    checkHostAndOrigin(req.headers, policy);
    if (!takeToken(req.socket)) throw new CompeerError(ErrorCodes.RATE_LIMITED, 'too many requests on this connection');
    if (!checkBearer(req.headers.authorization, opts.token)) throw new CompeerError(ErrorCodes.UNAUTHORIZED, 'missing or wrong bearer token');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = ROUTES.get(url.pathname);
    try {
      admit(req);
      if (route === undefined) throw new CompeerError(ErrorCodes.NOT_FOUND, `no route ${url.pathname.slice(0, 64)}`);
      const handler = isMethod(req.method) ? route[req.method] : undefined;
      if (handler === undefined) {
        sendJson(res, 405, { error: { code: ErrorCodes.INVALID_ARGUMENT, message: `method ${String(req.method).slice(0, 16)} not allowed here` } });
        return;
      }
      let body = '';
      if (req.method === 'POST') {
        if (!/^application\/json(;\s*charset=utf-8)?$/i.test(req.headers['content-type'] ?? '')) {
          sendJson(res, 415, { error: { code: ErrorCodes.INVALID_ARGUMENT, message: 'content-type must be application/json' } });
          return;
        }
        body = await readBody(req, limits.maxBodyBytes);
      }
      const result = await handler(opts.api, { query: url.searchParams, body });
      sendJson(res, 200, result);
      log.debug('api request', { method: req.method, route: url.pathname, status: 200 });
    } catch (err) {
      const { status, body } = errorResponse(err);
      const where = { method: req.method, route: route === undefined ? '?' : url.pathname, status };
      if (status >= 500) log.warn('api request failed', { ...where, error: err instanceof Error ? err : String(err) });
      else refused(where, body.error.code);
      // After a refused body the rest of it may still be arriving: close rather than read it.
      if (!res.headersSent) sendJson(res, status, body, status === 413 || status === 401);
      else res.destroy();
    }
  };

  const server: Server = createServer({ maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => void handle(req, res));
  server.maxConnections = limits.maxConnections;
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024, clientTracking: true });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      admit(req);
      if (new URL(req.url ?? '/', 'http://localhost').pathname !== EVENTS_PATH) throw new CompeerError(ErrorCodes.NOT_FOUND, 'no such WebSocket');
      if (wss.clients.size >= limits.maxEventClients) throw new CompeerError(ErrorCodes.RATE_LIMITED, 'too many event subscribers');
    } catch (err) {
      refused({ method: 'UPGRADE', route: EVENTS_PATH, status: errorResponse(err).status }, errorResponse(err).body.error.code);
      refuseUpgrade(socket, err);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      log.debug('events subscriber connected', { subscribers: wss.clients.size });
      const off = opts.api.on((event) => {
        if (ws.readyState !== ws.OPEN) return;
        if (ws.bufferedAmount > limits.maxEventBufferBytes) {
          ws.close(1013, 'too slow');
          return;
        }
        ws.send(JSON.stringify(event));
      });
      ws.on('close', off);
      ws.on('error', () => ws.terminate());
      // The stream is one-way; anything a client sends is ignored (and capped by maxPayload).
      ws.on('message', () => {});
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new CompeerError(ErrorCodes.INVALID_ARGUMENT, `cannot listen on ${host}:${opts.port ?? 0}: ${err.message}`)));
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  server.on('error', (err) => log.warn('api server error', { error: err }));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  policy = isLoopbackHost(host) ? { port } : { port, extraHost: host };
  const urlHost = host.includes(':') ? `[${host}]` : host;
  log.debug('api listening', { host, port });

  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      // Upgraded sockets are not the HTTP server's to close: say goodbye, then cut them.
      for (const ws of wss.clients) ws.close(1001, 'node stopping');
      await new Promise((r) => setTimeout(r, wss.clients.size > 0 ? 100 : 0));
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await closed;
    },
  };
}
