/**
 * A CompeerApi over the local control API: what every CLI command but `start` uses. Finds the daemon
 * through DIR/daemon.json and DIR/api.token (or COMPEER_API + COMPEER_API_TOKEN, for an --ephemeral
 * node that writes no files), sends JSON with the bearer token, and turns error bodies back into
 * CompeerErrors with their codes. Events come over the /v1/events WebSocket.
 *
 * Trusts the daemon's result shapes (it is our own, authenticated process); does not know the node.
 */
import { WebSocket } from 'ws';
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import type {
  CompeerApi,
  CompeerEvent,
  ContactInfo,
  IdentityInfo,
  MessageInfo,
  MessagesQuery,
  MessageStatus,
  PeerInfo,
  SendOptions,
  StatusInfo,
  VerifyInfo,
} from '../node/types.ts';
import { isToken, readToken } from './auth.ts';
import { runningDaemon } from './daemon-file.ts';
import { errorFromBody } from './http-errors.ts';
import { EVENTS_PATH } from './routes.ts';

export interface ApiTarget {
  /** http://HOST:PORT */
  url: string;
  token: string;
}

export interface EventSubscription {
  close(): void;
  /** Resolves when the stream ends (closed by either side). */
  readonly closed: Promise<void>;
}

export interface ApiClient extends CompeerApi {
  readonly target: ApiTarget;
  /** Like on(), but resolves once the stream is open, so no event after this point is missed. */
  subscribe(listener: (event: CompeerEvent) => void): Promise<EventSubscription>;
}

/** COMPEER_API + COMPEER_API_TOKEN if set, else the daemon running on `dir`. */
export function resolveTarget(dir: string, env: Readonly<Record<string, string | undefined>>): ApiTarget {
  const url = env.COMPEER_API;
  if (url !== undefined && url !== '') {
    const token = env.COMPEER_API_TOKEN ?? '';
    if (!/^http:\/\/[^/]+$/.test(url)) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'COMPEER_API: expected http://HOST:PORT');
    if (!isToken(token)) throw new CompeerError(ErrorCodes.UNAUTHORIZED, 'COMPEER_API is set: COMPEER_API_TOKEN must hold the 64-hex-digit token');
    return { url, token };
  }
  const info = runningDaemon(dir);
  return { url: info.api, token: readToken(dir) };
}

const DEFAULT_TIMEOUT_MS = 60_000;

export function createApiClient(target: ApiTarget, opts: { timeoutMs?: number } = {}): ApiClient {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown, extraMs = 0): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${target.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs + extraMs),
      });
    } catch (err) {
      if (err instanceof Error && err.name === 'TimeoutError') throw new CompeerError(ErrorCodes.TIMEOUT, `the node at ${target.url} did not answer in time`);
      throw new CompeerError(ErrorCodes.NOT_RUNNING, `the node at ${target.url} does not answer; start one with \`compeer start\``, { cause: err });
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CompeerError(ErrorCodes.INTERNAL, `the API answered ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) throw errorFromBody(res.status, parsed);
    return parsed as T;
  }

  function subscribe(listener: (event: CompeerEvent) => void): Promise<EventSubscription> {
    const ws = new WebSocket(`${target.url.replace(/^http:/, 'ws:')}${EVENTS_PATH}`, {
      headers: { authorization: `Bearer ${target.token}` },
      maxPayload: 4 * 1024 * 1024,
    });
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let event: CompeerEvent;
      try {
        event = JSON.parse(data.toString()) as CompeerEvent;
      } catch {
        return;
      }
      listener(event);
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve({ close: () => ws.close(1000), closed }));
      ws.once('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        let raw = '';
        res.on('data', (c: Buffer) => (raw += c.toString()));
        res.on('end', () => {
          let body: unknown = null;
          try {
            body = JSON.parse(raw);
          } catch {
            // fall through: errorFromBody reports a missing body
          }
          reject(errorFromBody(status, body));
          ws.terminate();
        });
      });
      ws.once('error', (err) => reject(new CompeerError(ErrorCodes.NOT_RUNNING, `cannot open the event stream of ${target.url}`, { cause: err })));
    });
  }

  const q = (contact: string, query: MessagesQuery | undefined): string => {
    const p = new URLSearchParams({ contact });
    if (query?.waitMs !== undefined) p.set('waitMs', String(query.waitMs));
    if (query?.count !== undefined) p.set('count', String(query.count));
    return p.toString();
  };

  return {
    target,
    id: (opts?: { forContact?: string }) => call<IdentityInfo>('GET', opts?.forContact === undefined ? '/v1/id' : `/v1/id?${new URLSearchParams({ for: opts.forContact }).toString()}`),
    addContact: (invite, name) => call<{ userId: string; name: string | null }>('POST', '/v1/contacts', name === undefined ? { invite } : { invite, name }),
    contacts: () => call<ContactInfo[]>('GET', '/v1/contacts'),
    send: (contact, text, opts?: SendOptions) =>
      call<{ id: string; status: MessageStatus }>('POST', '/v1/messages', {
        contact,
        text,
        ...(opts?.ttlMs !== undefined && { ttlMs: opts.ttlMs }),
        ...(opts?.hops !== undefined && { hops: opts.hops }),
      }),
    messages: (contact, query) => call<MessageInfo[]>('GET', `/v1/messages?${q(contact, query)}`, undefined, query?.waitMs ?? 0),
    verify: (contact, confirm) => call<VerifyInfo>('POST', '/v1/verify', { contact, confirm }),
    peers: () => call<PeerInfo[]>('GET', '/v1/peers'),
    status: () => call<StatusInfo>('GET', '/v1/status'),
    subscribe,
    on(listener) {
      let sub: EventSubscription | undefined;
      let stopped = false;
      subscribe(listener).then(
        (s) => (stopped ? s.close() : (sub = s)),
        () => {},
      );
      return () => {
        stopped = true;
        sub?.close();
      };
    },
  };
}
