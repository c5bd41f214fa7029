/**
 * The message half of the node's API (CompeerApi `send` and `messages`, types.ts): argument checks, the
 * message record and its app message, the send through the group commit (send-queue.ts) — a contact
 * without a session gets one set up first (first-contact.ts), outside the queue — and reading a
 * contact's history, optionally waiting for it to reach a count. compeer.ts wires it; this module opens
 * no connection and starts no timer.
 */
import { toHex } from '../lib/bytes.ts';
import type { Clock, Rng } from '../lib/deps.ts';
import { CompeerError, ErrorCodes, LimitError, ProtocolError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { APP_TEXT_MAX_BYTES } from '../protocol/wire/app-message.ts';
import { DEFAULT_TTL_MS, MAX_HOPS, MAX_TTL_MS } from '../routing/delivery-policy.ts';
import type { ContactRecord } from '../store/contacts.ts';
import type { MessageRecord } from '../store/messages.ts';
import type { EventHub } from './events.ts';
import type { FirstContact } from './first-contact.ts';
import type { NodeStore } from './node-store.ts';
import type { QueuedSend, SendParts } from './send-queue.ts';
import { newTextMessageId } from './session-io.ts';
import type { CompeerApi, CompeerEvent, MessageInfo } from './types.ts';

export interface MessageApiDeps {
  readonly store: NodeStore;
  readonly rng: Rng;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events: EventHub;
  readonly first: Pick<FirstContact, 'startSession'>;
  /** The send queue (send-queue.ts): resolves once the message is committed. */
  readonly commitSend: (send: QueuedSend) => Promise<void>;
  /** A contact by name or user ID prefix (INVALID_ARGUMENT / NOT_FOUND as CompeerApi says). */
  readonly resolve: (query: string) => ContactRecord;
  /** Refuse to send to a contact whose key changed until it is verified again. */
  readonly refuseChanged: boolean;
}

export function messageInfo(m: MessageRecord): MessageInfo {
  return { id: m.id, contact: m.contact, direction: m.direction, text: m.text, status: m.status, sentAt: m.sentAt, receivedAt: m.receivedAt };
}

/** A send to a contact without a session: set one up first (outside the send queue), then queue it. */
class SessionFirst extends Error {
  readonly contact: ContactRecord;
  constructor(contact: ContactRecord) {
    super('no session yet');
    this.contact = contact;
  }
}

export function createMessageApi(d: MessageApiDeps): Pick<CompeerApi, 'send' | 'messages'> {
  const { store, rng, clock, log, commitSend, resolve } = d;
  const trusted = (c: ContactRecord): ContactRecord => {
    if (c.keyChanged && d.refuseChanged) throw new ProtocolError(ErrorCodes.UNTRUSTED_IDENTITY, 'the contact key changed: verify it first');
    return c;
  };
  return {
    async send(contact, text, sendOpts) {
      if (typeof text !== 'string') throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'text: a string');
      if (Buffer.byteLength(text, 'utf8') > APP_TEXT_MAX_BYTES) throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `text: at most ${APP_TEXT_MAX_BYTES} bytes`);
      const ttl = sendOpts?.ttlMs ?? DEFAULT_TTL_MS;
      if (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl > MAX_TTL_MS) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'ttlMs: 1 ms to 30 days');
      const hops = sendOpts?.hops;
      if (hops !== undefined && (!Number.isSafeInteger(hops) || hops < 0 || hops > MAX_HOPS)) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `hops: 0 to ${MAX_HOPS}`);
      const idBytes = newTextMessageId(rng, clock());
      const id = toHex(idBytes);
      const parts = (c: ContactRecord): SendParts => {
        const now = clock();
        const record: MessageRecord = { id, contact: c.userId, direction: 'out', text, status: 'queued', sentAt: now, receivedAt: null, expiresAt: now + ttl };
        return { record, app: { type: 'text', id: idBytes, sentAt: now, text } };
      };
      const extra = hops !== undefined ? { hops } : {};
      try {
        // The contact and its session are looked up inside the send queue's transaction: a read
        // outside one takes and drops the database locks itself (~8 µs, docs/perf-node.md fourth pass).
        await commitSend({
          build: () => {
            const c = trusted(resolve(contact));
            if (!store.sessions.has(c.userId)) throw new SessionFirst(c);
            return parts(c);
          },
          ...extra,
        });
      } catch (e) {
        if (!(e instanceof SessionFirst)) throw e;
        try {
          await d.first.startSession(e.contact);
        } catch (err) {
          // Queued all the same: it goes out behind the hello once the session exists (retried every 30 s).
          log.warn('session setup deferred', { contact: e.contact.userId, error: err instanceof Error ? err : String(err) });
        }
        await commitSend({ build: () => parts(trusted(resolve(contact))), ...extra });
      }
      return { id, status: 'queued' };
    },

    async messages(contact, query) {
      const c = resolve(contact);
      const count = query?.count ?? 0;
      const wait = query?.waitMs ?? 0;
      if (!Number.isSafeInteger(count) || count < 0 || !Number.isFinite(wait) || wait < 0) {
        throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'messages: count and waitMs are non-negative numbers');
      }
      const waitMs = Math.min(wait, 3600_000);
      const list = (): MessageInfo[] => store.messages.list(c.userId).map(messageInfo);
      const out = list();
      if (out.length >= count || waitMs === 0) return out;
      const mine = (e: CompeerEvent): boolean => (e.type === 'message' ? e.message.contact : e.type === 'status' ? e.contact : undefined) === c.userId;
      await d.events.until((e) => mine(e) && store.messages.count(c.userId) >= count, waitMs);
      return list();
    },
  };
}
