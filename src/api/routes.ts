/**
 * The control API's routes: each maps a method and path to one CompeerApi call, with its request
 * validated by validate.ts. Results are the DTOs of src/node/types.ts, sent as JSON as they are.
 *
 *   GET  /v1/id                                  → IdentityInfo
 *   POST /v1/contacts  {invite, name?}           → {userId, name}
 *   GET  /v1/contacts                            → ContactInfo[]
 *   POST /v1/messages  {contact, text, ttlMs?, hops?} → {id, status}
 *   GET  /v1/messages?contact=&waitMs=&count=    → MessageInfo[]
 *   POST /v1/verify    {contact, confirm?}       → VerifyInfo
 *   GET  /v1/peers                               → PeerInfo[]
 *   GET  /v1/status                              → StatusInfo
 *   WS   /v1/events                              → CompeerEvent per text frame (see server.ts)
 *
 * Knows the paths and the API calls; does not know HTTP plumbing, auth or limits (server.ts does).
 */
import type { CompeerApi } from '../node/types.ts';
import { expectNoQuery, parseAddContact, parseIdQuery, parseMessagesQuery, parseSend, parseVerify } from './validate.ts';

export const API_PREFIX = '/v1';
export const EVENTS_PATH = '/v1/events';

export interface RouteInput {
  query: URLSearchParams;
  /** The request body as text ('' for GET). */
  body: string;
}

export type RouteHandler = (api: CompeerApi, input: RouteInput) => Promise<unknown>;

type Method = 'GET' | 'POST';

export const ROUTES: ReadonlyMap<string, Partial<Record<Method, RouteHandler>>> = new Map<string, Partial<Record<Method, RouteHandler>>>([
  ['/v1/id', { GET: (api, { query }) => api.id(parseIdQuery(query)) }],
  [
    '/v1/contacts',
    {
      GET: (api, { query }) => (expectNoQuery(query), api.contacts()),
      POST: (api, { query, body }) => {
        expectNoQuery(query);
        const r = parseAddContact(body);
        return api.addContact(r.invite, r.name);
      },
    },
  ],
  [
    '/v1/messages',
    {
      GET: (api, { query }) => {
        const r = parseMessagesQuery(query);
        const q: { waitMs?: number; count?: number } = {};
        if (r.waitMs !== undefined) q.waitMs = r.waitMs;
        if (r.count !== undefined) q.count = r.count;
        return api.messages(r.contact, q);
      },
      POST: (api, { query, body }) => {
        expectNoQuery(query);
        const r = parseSend(body);
        return api.send(r.contact, r.text, { ...(r.ttlMs !== undefined && { ttlMs: r.ttlMs }), ...(r.hops !== undefined && { hops: r.hops }) });
      },
    },
  ],
  [
    '/v1/verify',
    {
      POST: (api, { query, body }) => {
        expectNoQuery(query);
        const r = parseVerify(body);
        return api.verify(r.contact, r.confirm);
      },
    },
  ],
  ['/v1/peers', { GET: (api, { query }) => (expectNoQuery(query), api.peers()) }],
  ['/v1/status', { GET: (api, { query }) => (expectNoQuery(query), api.status()) }],
]);

export function isMethod(m: string | undefined): m is Method {
  return m === 'GET' || m === 'POST';
}
