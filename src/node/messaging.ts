/**
 * Messages between contacts over `/compeer/msg/1` (docs/node.md "Message flow").
 *
 * Outbound (`enqueue`, then `flush`): 1. in ONE store transaction: encode the app message, advance the
 * session (sessionEncrypt), save the session, seal the envelope, put it in the outbox — so the ratchet
 * state is on disk before the ciphertext leaves the node 2. request to the contact's known peers, oldest
 * entry first, one at a time per contact (a `hello` must arrive before anything else) 3. the response is a
 * sealed envelope with an `ack`: in one transaction the session advances, acked entries leave the
 * outbox, messages become `delivered` 4. events after the commit. A peer that could not be reached gets
 * the same bytes again later (no ratchet step wasted); a peer that answered without acking (it lost the
 * message, or its ack was lost) gets a fresh encryption of the same app message (same id: the receiver
 * deduplicates).
 *
 * Inbound (`handle`): 1. openEnvelope → authenticated sender 2. in ONE transaction: the contact's session
 * decrypts it, or acceptSession starts a new one — accepted only for a `hello` naming one of our unused
 * invites (the invite is used up) or for a known contact re-initiating 3. deduplicate by id, store,
 * apply addresses/acks 4. encrypt the ack on the same session 5. commit, then events. Any failure: an
 * empty response (no oracle) and a log line; nothing is changed.
 * This module knows nothing of how contacts are added or bundles fetched (compeer.ts, bundles.ts).
 */
import { concatBytes, equalBytes, fromHex, toHex } from '../lib/bytes.ts';
import type { Clock, Rng } from '../lib/deps.ts';
import { ErrorCodes, ProtocolError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { encodePublicIdentity, sameIdentity, userIdOf, type PublicIdentity } from '../protocol/identity.ts';
import { decodeKnownIdentity } from '../protocol/identity-cache.ts';
import { acceptSession, type AcceptedSession } from '../protocol/session.ts';
import { decodeSessionSet, emptySessionSet, encodeSessionSet, setDecrypt, setEncrypt, type SessionSet } from '../protocol/session-set.ts';
import { openEnvelope, sealEnvelope, SEALED_MAX_LENGTH } from '../protocol/sealed/envelope.ts';
import {
  APP_ACK_MAX_IDS,
  APP_BATCH_MAX,
  APP_MESSAGE_MAX_BYTES,
  appMessageIds,
  batchEncodedSize,
  decodeAppMessage,
  encodeAppMessage,
  type AppMessage,
  type BatchableMessage,
} from '../protocol/wire/app-message.ts';
import { decodeMsgBatch } from '../protocol/wire/msg-batch.ts';
import type { ContactRecord } from '../store/contacts.ts';
import type { OutboxItem } from '../store/outbox.ts';
import type { NetNode } from '../net/index.ts';
import type { CompeerEvent } from './types.ts';
import type { NodeStore } from './node-store.ts';
import { byPeer } from './bundles.ts';
import { retryDelay } from './outbox-policy.ts';
import { consumeInvite } from './invites.ts';

export const MSG_PROTOCOL = '/compeer/msg/1';
const CTL_PREFIX = 'node.ctl/';
const MAX_CONTACT_ADDRESSES = 16;

export interface MessagingDeps {
  readonly store: NodeStore;
  readonly net: NetNode;
  readonly rng: Rng;
  readonly clock: Clock;
  readonly log: Logger;
  readonly emit: (events: readonly CompeerEvent[]) => void;
  /** Our current addresses, sent to contacts inside the session. */
  readonly ownAddresses: () => string[];
  readonly requestTimeoutMs: number;
}

/** An outbox entry that has not been encrypted yet (or whose last encryption reached the peer unacked). */
const NO_WIRE = new Uint8Array(0);
const CACHE_TAG = 0xca;

/** The envelope last sent for a batch, kept on the batch's first entry: tag | count | ids (16 each) | envelope. */
function encodeCache(ids: readonly string[], envelope: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(CACHE_TAG, ids.length), ...ids.map(fromHex), envelope);
}

function decodeCache(wire: Uint8Array): { ids: string[]; envelope: Uint8Array } | undefined {
  if (wire.length < 2 || wire[0] !== CACHE_TAG) return undefined;
  const count = wire[1] as number;
  const start = 2 + 16 * count;
  if (count === 0 || wire.length <= start) return undefined;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(toHex(wire.subarray(2 + 16 * i, 18 + 16 * i)));
  return { ids, envelope: wire.subarray(start) };
}

export function newMessageId(rng: Rng): Uint8Array {
  return rng.bytes(16);
}

export function contactInfo(c: ContactRecord): { userId: string; name: string | null; verified: boolean; keyChanged: boolean } {
  return { userId: c.userId, name: c.name, verified: c.verified, keyChanged: c.keyChanged };
}

export interface Messaging {
  /** The `/compeer/msg/1` handler: never throws; an empty response for anything it refuses. */
  handle(req: Uint8Array, from: string): Promise<Uint8Array>;
  /** Inside a transaction: queues `app` for a contact (encrypted when it is sent; waits while there is no session). */
  enqueue(contact: string, app: BatchableMessage, expiresAt: number, createdAt?: number): void;
  /** Sends the contact's due outbox entries, oldest first (one flush per contact at a time). */
  flush(contact: string, force?: boolean): Promise<void>;
  /** Retries whatever is due; expires what is too old. */
  tick(): Promise<void>;
  /** Maps a current user ID (after a key change) to the contact's record key. */
  contactKeyFor(userId: string): string;
  noteAlias(currentUserId: string, contactKey: string): void;
}

export function createMessaging(d: MessagingDeps): Messaging {
  const { store, net, rng, clock, log } = d;
  const own = store.identity;
  const aliases = new Map<string, string>();
  const lastPeer = new Map<string, string>(); // contact → peer ID it last reached us from
  const flushing = new Set<string>();
  const again = new Set<string>();
  for (const c of store.contacts.list()) {
    const current = userIdOf(decodeKnownIdentity(c.publicKey));
    if (current !== c.userId) aliases.set(current, c.userId);
  }
  const contactKeyFor = (uid: string): string => aliases.get(uid) ?? uid;

  const loadSet = (key: string): SessionSet | undefined => {
    const raw = store.sessions.get(key);
    return raw === undefined ? undefined : decodeSessionSet(raw);
  };

  const enqueue = (contact: string, app: BatchableMessage, expiresAt: number, createdAt?: number): void => {
    if (!store.contacts.get(contact)) throw new ProtocolError(ErrorCodes.NO_SESSION, 'no such contact');
    const id = toHex(app.id);
    const now = clock();
    store.outbox.enqueue({ messageId: id, contact, wire: NO_WIRE, attempts: 0, nextAttemptAt: now, expiresAt, state: 'queued', createdAt: createdAt ?? now });
    if (app.type !== 'text') store.meta.set(CTL_PREFIX + id, encodeAppMessage(app));
  };

  /** Encrypts on the active session, saves the set, returns the envelope (inside the caller's transaction). */
  const seal = (contact: string, set: SessionSet, app: AppMessage, now: number): Uint8Array => {
    const content = setEncrypt(set, encodeAppMessage(app), rng);
    store.sessions.put(contact, encodeSessionSet(set), now);
    const remote = set.active?.remoteIdentity;
    if (!remote) throw new ProtocolError(ErrorCodes.NO_SESSION, 'no active session');
    return sealEnvelope(own, remote, content, rng);
  };

  /** The app message of an outbox entry, encoded, for an encryption. */
  const plaintextOf = (item: OutboxItem): BatchableMessage | undefined => {
    const ctl = store.meta.get(CTL_PREFIX + item.messageId);
    if (ctl) {
      const m = decodeAppMessage(ctl);
      return m.type === 'ack' || m.type === 'batch' ? undefined : m;
    }
    const m = store.messages.get(item.contact, 'out', item.messageId);
    return m ? { type: 'text', id: fromHex(m.id), sentAt: m.sentAt, text: m.text } : undefined;
  };

  /** Applies acked ids (inside a transaction); returns the events to emit. */
  const applyAcks = (contact: string, ids: readonly Uint8Array[], events: CompeerEvent[]): Set<string> => {
    const done = new Set<string>();
    for (const raw of ids) {
      const id = toHex(raw);
      if (store.outbox.remove(contact, id)) done.add(id);
      store.meta.delete(CTL_PREFIX + id);
      const m = store.messages.get(contact, 'out', id);
      if (m && m.status !== 'delivered') {
        store.messages.setStatus(contact, 'out', id, 'delivered');
        events.push({ type: 'status', id, contact, status: 'delivered' });
        done.add(id);
      }
    }
    return done;
  };

  /** Takes a new identity for a hello (inside the transaction); returns the contact key. */
  const acceptHello = (sender: PublicIdentity, app: Extract<AppMessage, { type: 'hello' }>, now: number, events: CompeerEvent[]): string => {
    consumeInvite(store.meta, app.inviteSecret, now);
    const senderUid = userIdOf(sender);
    const byName = app.name === null ? undefined : store.contacts.list().find((c) => c.name === app.name);
    if (byName && !equalBytes(byName.publicKey, encodePublicIdentity(sender))) {
      // The same person under a new identity: keep the contact and its history, flag the change.
      store.contacts.changeIdentity(byName.userId, encodePublicIdentity(sender), now);
      aliases.set(senderUid, byName.userId);
      log.warn('contact identity changed', { contact: byName.userId });
      const updated = store.contacts.get(byName.userId);
      if (updated) events.push({ type: 'contact', contact: contactInfo(updated) });
      return byName.userId;
    }
    store.contacts.add({ userId: senderUid, name: byName ? null : app.name, publicKey: encodePublicIdentity(sender), createdAt: now });
    const added = store.contacts.get(senderUid);
    if (added) events.push({ type: 'contact', contact: contactInfo(added) });
    return senderUid;
  };

  /** One opened envelope, inside its own (nested) transaction; returns the contact key and the id to ack. */
  const receiveOne = (sender: PublicIdentity, content: Uint8Array, now: number, events: CompeerEvent[], queued: string[]): { key: string; ids: Uint8Array[] } => {
    const senderUid = userIdOf(sender);
    let key = contactKeyFor(senderUid);
    let contact = store.contacts.get(key);
    if (contact && !equalBytes(contact.publicKey, encodePublicIdentity(sender))) contact = undefined;
    let set = contact ? (loadSet(key) ?? emptySessionSet()) : undefined;
    const accept = (): AcceptedSession => {
      const accepted = acceptSession(own, store.prekeys, store.replay, content, now);
      if (!sameIdentity(accepted.session.remoteIdentity, sender)) {
        throw new ProtocolError(ErrorCodes.UNTRUSTED_IDENTITY, 'session initiator is not the envelope sender');
      }
      return accepted;
    };
    let plaintext: Uint8Array;
    let fresh: boolean;
    if (set) {
      const r = setDecrypt(set, content, now, accept);
      plaintext = r.plaintext;
      fresh = r.newSession;
    } else {
      const accepted = accept();
      set = { active: accepted.session, archived: [] };
      plaintext = accepted.plaintext;
      fresh = true;
    }
    const app = decodeAppMessage(plaintext);
    const parts: readonly AppMessage[] = app.type === 'batch' ? app.messages : [app];
    if (fresh && !contact) {
      const first = parts[0];
      if (first?.type !== 'hello') throw new ProtocolError(ErrorCodes.UNTRUSTED_IDENTITY, 'first message from a stranger is not a hello');
      key = acceptHello(sender, first, now, events);
      contact = store.contacts.get(key);
      store.sessions.put(key, encodeSessionSet(set), now);
      enqueue(key, { type: 'addresses', id: newMessageId(rng), addresses: d.ownAddresses().slice(0, 8) }, now + 7 * 24 * 3600_000);
      queued.push(key);
    } else {
      store.sessions.put(key, encodeSessionSet(set), now);
    }
    if (!contact) throw new ProtocolError(ErrorCodes.NO_SESSION, 'no contact for this session');
    for (const part of parts) {
      switch (part.type) {
        case 'text': {
          const id = toHex(part.id);
          const record = { id, contact: key, direction: 'in' as const, text: part.text, status: 'delivered' as const, sentAt: part.sentAt, receivedAt: now, expiresAt: null };
          if (store.messages.add(record)) events.push({ type: 'message', message: { ...record } });
          break;
        }
        case 'ack':
          applyAcks(key, part.ids, events);
          break;
        case 'addresses':
          store.contacts.setAddresses(key, part.addresses.slice(0, MAX_CONTACT_ADDRESSES));
          break;
        case 'hello':
        case 'batch':
          break; // a repeated hello on an existing session; batches do not nest (the codec refuses it)
      }
    }
    return { key, ids: appMessageIds(app) };
  };

  const handle = async (req: Uint8Array, from: string): Promise<Uint8Array> => {
    const events: CompeerEvent[] = [];
    const queued: string[] = [];
    let contactKey: string | undefined;
    let reply: Uint8Array;
    try {
      // Open every envelope first (CPU only); all must come from one sender.
      const opened = decodeMsgBatch(req).map((env) => openEnvelope(own, env));
      const first = opened[0];
      if (!first) throw new ProtocolError(ErrorCodes.MALFORMED_MESSAGE, 'empty request');
      const now = clock();
      reply = store.transaction(() => {
        const acked: Uint8Array[] = [];
        for (const o of opened) {
          if (!sameIdentity(o.sender, first.sender)) {
            log.warn('message refused', { peer: from, error: 'batch mixes senders' });
            continue;
          }
          const mine: CompeerEvent[] = [];
          try {
            const r = store.transaction(() => receiveOne(o.sender, o.content, now, mine, queued));
            contactKey = r.key;
            acked.push(...r.ids);
            events.push(...mine);
          } catch (e) {
            log.warn('message refused', { peer: from, error: e instanceof Error ? e : String(e) });
          }
        }
        const set = contactKey === undefined ? undefined : loadSet(contactKey);
        if (contactKey === undefined || !set?.active || acked.length === 0) return new Uint8Array(0);
        return seal(contactKey, set, { type: 'ack', ids: acked.slice(0, APP_ACK_MAX_IDS) }, now);
      });
      if (contactKey !== undefined) lastPeer.set(contactKey, from);
    } catch (e) {
      log.warn('message refused', { peer: from, error: e instanceof Error ? e : String(e) });
      return new Uint8Array(0);
    }
    d.emit(events);
    for (const k of queued) void flush(k);
    return reply;
  };

  /** Handles a response to one of our requests; returns the ids it acked. */
  const onResponse = (contact: string, res: Uint8Array): Set<string> => {
    const events: CompeerEvent[] = [];
    let done = new Set<string>();
    if (res.length === 0) return done;
    try {
      const { sender, content } = openEnvelope(own, res);
      const c = store.contacts.get(contact);
      if (!c || !equalBytes(c.publicKey, encodePublicIdentity(sender))) throw new ProtocolError(ErrorCodes.UNTRUSTED_IDENTITY, 'ack from another identity');
      const now = clock();
      done = store.transaction(() => {
        const set = loadSet(contact);
        if (!set) throw new ProtocolError(ErrorCodes.NO_SESSION, 'ack without a session');
        const noNewSession = (): never => {
          throw new ProtocolError(ErrorCodes.UNEXPECTED_MESSAGE, 'a response does not start a session');
        };
        const app = decodeAppMessage(setDecrypt(set, content, now, noNewSession).plaintext);
        if (app.type !== 'ack') throw new ProtocolError(ErrorCodes.UNEXPECTED_MESSAGE, 'response is not an ack');
        store.sessions.put(contact, encodeSessionSet(set), now);
        return applyAcks(contact, app.ids, events);
      });
    } catch (e) {
      log.warn('ack refused', { contact, error: e instanceof Error ? e : String(e) });
    }
    d.emit(events);
    return done;
  };

  /**
   * The envelope for `items`: the one cached on the first item when it covers exactly these (a retry
   * after the peer could not be reached: the same bytes, no ratchet step wasted), else a fresh
   * encryption of their app messages — one session message and one envelope for the whole batch —
   * with the session saved and the envelope cached in the same transaction, before it leaves.
   */
  const envelopeFor = (contact: string, items: readonly OutboxItem[], apps: readonly BatchableMessage[], now: number): Uint8Array => {
    const first = items[0] as OutboxItem;
    const cached = decodeCache(first.wire);
    if (cached && cached.ids.length === items.length && cached.ids.every((id, i) => id === items[i]?.messageId)) return cached.envelope;
    return store.transaction(() => {
      const set = loadSet(contact);
      if (!set?.active) throw new ProtocolError(ErrorCodes.NO_SESSION, 'no session with this contact');
      const app: AppMessage = apps.length === 1 ? (apps[0] as BatchableMessage) : { type: 'batch', messages: apps };
      const envelope = seal(contact, set, app, now);
      store.outbox.update(first.messageId, { wire: encodeCache(items.map((i) => i.messageId), envelope) });
      return envelope;
    });
  };

  /** One request carrying `items` (in order); resolves to the ids acked. Unacked ones are rescheduled. */
  const attempt = async (contact: string, items: readonly OutboxItem[], apps: readonly BatchableMessage[]): Promise<Set<string>> => {
    const c = store.contacts.get(contact);
    let acked = new Set<string>();
    if (!c || items.length === 0) return acked;
    const peers = byPeer(c.addresses);
    const hint = lastPeer.get(contact);
    if (hint !== undefined) {
      const known = peers.get(hint);
      peers.delete(hint);
      peers.set(hint, known ?? []);
    }
    // The peer that last reached us first: it is the likeliest to be up.
    const order = [...peers].reverse();
    let reached = false;
    let request: Uint8Array | undefined;
    try {
      request = envelopeFor(contact, items, apps, clock());
    } catch (e) {
      log.warn('could not encrypt for the contact', { contact, error: e instanceof Error ? e : String(e) });
    }
    for (const [peer, addrs] of request ? order : []) {
      let res: Uint8Array;
      try {
        res = await net.request(peer, addrs, MSG_PROTOCOL, request as Uint8Array, { timeoutMs: d.requestTimeoutMs, maxResponseBytes: SEALED_MAX_LENGTH });
      } catch (e) {
        log.debug('delivery attempt failed', { contact, peer, error: e instanceof Error ? e : String(e) });
        continue;
      }
      reached = true;
      acked = onResponse(contact, res);
      if (acked.size > 0) break;
    }
    if (items.every((i) => acked.has(i.messageId))) return acked;
    const now = clock();
    const events: CompeerEvent[] = [];
    store.transaction(() => {
      const first = items[0] as OutboxItem;
      // Reached but not (fully) acked: the next attempt is a fresh encryption (the receiver deduplicates by id).
      if (reached && store.outbox.get(first.messageId)) store.outbox.update(first.messageId, { wire: NO_WIRE });
      for (const item of items) {
        if (acked.has(item.messageId)) continue;
        const current = store.outbox.get(item.messageId);
        if (!current) continue;
        if (reached) {
          const m = store.messages.get(contact, 'out', item.messageId);
          if (m && m.status === 'queued') {
            store.messages.setStatus(contact, 'out', item.messageId, 'sent');
            events.push({ type: 'status', id: item.messageId, contact, status: 'sent' });
          }
        }
        store.outbox.update(item.messageId, {
          attempts: current.attempts + 1,
          nextAttemptAt: now + retryDelay(current.attempts, (rng.bytes(1)[0] as number) / 256),
          state: reached ? 'sent' : 'queued',
        });
      }
    });
    d.emit(events);
    return acked;
  };

  /**
   * The next due entries of a contact, oldest first: those of a cached envelope when the first entry has
   * one still complete, else as many as fit one batch. Entries whose plaintext is gone are dropped.
   */
  const nextBatch = (contact: string, now: number, force: boolean): { items: OutboxItem[]; apps: BatchableMessage[] } => {
    const items: OutboxItem[] = [];
    const apps: BatchableMessage[] = [];
    const sizes: number[] = [];
    const all = store.outbox.forContact(contact);
    const cached = all[0] ? decodeCache(all[0].wire) : undefined;
    const want = cached ? new Set(cached.ids) : undefined;
    for (const item of all) {
      if (!force && item.nextAttemptAt > now) break; // keep the order: nothing overtakes an earlier entry
      if (want && !want.has(item.messageId)) continue;
      const app = plaintextOf(item);
      if (!app) {
        log.warn('outbox entry without a message dropped', { contact });
        store.transaction(() => store.outbox.remove(contact, item.messageId));
        continue;
      }
      const size = encodeAppMessage(app).length;
      if (items.length > 0 && (items.length >= APP_BATCH_MAX || batchEncodedSize([...sizes, size]) > APP_MESSAGE_MAX_BYTES)) break;
      items.push(item);
      apps.push(app);
      sizes.push(size);
    }
    return { items, apps };
  };

  const flush = async (contact: string, force = false): Promise<void> => {
    if (flushing.has(contact)) {
      again.add(contact);
      return;
    }
    flushing.add(contact);
    try {
      do {
        again.delete(contact);
        for (;;) {
          const { items, apps } = nextBatch(contact, clock(), force);
          if (items.length === 0) break;
          const acked = await attempt(contact, items, apps);
          force = false;
          if (!items.every((i) => acked.has(i.messageId))) break;
        }
      } while (again.has(contact));
    } catch (e) {
      log.warn('flush failed', { contact, error: e instanceof Error ? e : String(e) });
    } finally {
      flushing.delete(contact);
    }
  };

  const tick = async (): Promise<void> => {
    const now = clock();
    const events: CompeerEvent[] = [];
    store.transaction(() => {
      for (const item of store.outbox.removeExpired(now)) store.meta.delete(CTL_PREFIX + item.messageId);
      for (const m of store.messages.expire(now)) events.push({ type: 'status', id: m.id, contact: m.contact, status: m.status });
    });
    d.emit(events);
    const contacts = new Set(store.outbox.due(now, 256).map((i) => i.contact));
    await Promise.all([...contacts].map((c) => flush(c)));
  };

  return { handle, enqueue, flush, tick, contactKeyFor, noteAlias: (u, k) => void aliases.set(u, k) };
}
