/**
 * Messages between contacts (docs/node.md "Message flow", docs/delivery.md).
 *
 * Outbound: `enqueue` (inside the caller's transaction), then outbound.ts sends on the chosen route.
 * Inbound — direct (`handle`, a `/compeer/msg/1` request) or routed (`receiveRouted`, an envelope that
 * came through an onion path or out of a mailbox): 1. openEnvelope → authenticated sender 2. in ONE
 * transaction: the contact's session decrypts it, or acceptSession starts a new one — accepted only for
 * a `hello` naming one of our unused invites (the invite is used up) or for a known contact re-initiating
 * 3. deduplicate by id, store, apply addresses/inbox/acks 4. encrypt the ack on the same session
 * 5. commit, then events. The same bytes again (their ratchet key is used up) are acked again from the
 * ids remembered when they decrypted (decrypted-memory.ts), nothing else done. The ack goes back in the response (direct) or as a message of its own on a
 * path (routed). Any failure: an empty response (no oracle) and a log line; nothing is changed.
 * This module knows nothing of how contacts are added or bundles fetched (compeer.ts, bundles.ts).
 */
import { equalBytes, toHex } from '../lib/bytes.ts';
import { errorOf } from '../lib/log.ts';
import { ErrorCodes, ProtocolError } from '../lib/errors.ts';
import { encodePublicIdentity, sameIdentity, userIdOf, type PublicIdentity } from '../protocol/identity.ts';
import { decodeKnownIdentity } from '../protocol/identity-cache.ts';
import { acceptSession, type AcceptedSession } from '../protocol/session.ts';
import { emptySessionSet, encodeSessionSet, setDecrypt, type SessionSet } from '../protocol/session-set.ts';
import { openEnvelope, type OpenedEnvelope } from '../protocol/sealed/envelope.ts';
import { APP_ACK_MAX_IDS, appMessageIds, decodeAppMessage, type AppMessage, type BatchableMessage } from '../protocol/wire/app-message.ts';
import { decodeMsgBatch } from '../protocol/wire/msg-batch.ts';
import { DEFAULT_TTL_MS } from '../routing/delivery-policy.ts';
import type { X25519PublicKey } from '../crypto/x25519.ts';
import type { CompeerEvent } from './types.ts';
import { consumeInvite } from './invites.ts';
import { applyInbox, inboxKeyChanged, markInboxKeySent, ourSecretFor } from './inbox.ts';
import { createOutbound, type OutboundDeps } from './outbound.ts';
import type { SasCoordinator } from './sas.ts';
import { contactInfo, createSessionIo, newMessageId } from './session-io.ts';
import { createDecryptedMemory } from './decrypted-memory.ts';
import { createAckRoute } from './ack-route.ts';

export { contactInfo, newMessageId } from './session-io.ts';
export { MSG_PROTOCOL } from './outbound.ts';

const MAX_CONTACT_ADDRESSES = 16;
const LAST_ADDRESSES = 'node.last-addresses';
/** A SAS message is useful only while both people compare: an hour. */
export const SAS_TTL_MS = 3600_000;

/** What outbound delivery needs (outbound.ts), and what inbound adds to it. */
export interface MessagingDeps extends Omit<OutboundDeps, 'io' | 'lastPeer'> {
  /** Our current addresses, sent to contacts inside the session. */
  readonly ownAddresses: () => string[];
  /** Our node's current onion key (contacts build the last layer of a path to us with it). */
  readonly onionKey: () => X25519PublicKey;
  /** SAS verifications in progress (sas.ts). */
  readonly sas?: SasCoordinator;
}

export interface Messaging {
  /** The `/compeer/msg/1` handler: never throws; an empty response for anything it refuses. */
  handle(req: Uint8Array, from: string): Promise<Uint8Array>;
  /** An envelope that came through a path or out of a mailbox: never throws. */
  receiveRouted(envelope: Uint8Array): Promise<void>;
  /** Inside a transaction: queues `app` for a contact (encrypted when it is sent; waits while there is no session). */
  enqueue(contact: string, app: BatchableMessage, expiresAt: number, createdAt?: number, hops?: number): void;
  /** Inside a transaction: queues our `inbox` (onion key, the contact's mailbox secret) for a contact. */
  enqueueInbox(contact: string): void;
  /** Queues `inbox` for every contact with a session when our onion key changed since we last told them. */
  announceInbox(): void;
  /** Queues our addresses for every contact with a session when they differ from what we told them last. */
  announceAddresses(addresses: readonly string[]): void;
  /** Sends the contact's due outbox entries, oldest first (one flush per contact at a time). */
  flush(contact: string, force?: boolean): Promise<void>;
  /**
   * Inside a transaction: encrypts the contact's next batch now when nothing of its is in flight, or
   * the batches ahead while some are (outbound.ts); returns what to run once the transaction committed.
   */
  prepare(contact: string): (() => void) | undefined;
  /** Retries whatever is due; expires what is too old. */
  tick(): Promise<void>;
  /** Whether an outbox entry for `contact` waits that the user sent on paths only (`send --hops N`, N > 0). */
  strictWaiting(contact: string): boolean;
  /** Maps a current user ID (after a key change) to the contact's record key. */
  contactKeyFor(userId: string): string;
  noteAlias(currentUserId: string, contactKey: string): void;
}

interface Processed {
  /** The contact key the envelopes came from (undefined when none was accepted). */
  readonly contact: string | undefined;
  /** The ack, sealed on the session (undefined when nothing asks for one). */
  readonly ack: Uint8Array | undefined;
  readonly events: CompeerEvent[];
  /** Contacts whose outbox got new entries, or whose held mail became due (flush them). */
  readonly queued: string[];
}

export function createMessaging(d: MessagingDeps): Messaging {
  const { store, net, rng, clock, log } = d;
  const own = store.identity;
  const io = createSessionIo(store, rng, clock);
  const aliases = new Map<string, string>();
  const lastPeer = new Map<string, string>(); // contact → peer ID it last reached us from
  for (const c of store.contacts.list()) {
    const current = userIdOf(decodeKnownIdentity(c.publicKey));
    if (current !== c.userId) aliases.set(current, c.userId);
  }
  const contactKeyFor = (uid: string): string => aliases.get(uid) ?? uid;
  const outbound = createOutbound({ ...d, io, lastPeer });
  /** Session messages that decrypted lately, so a repeat of the same bytes is acked again (decrypted-memory.ts). */
  const seen = createDecryptedMemory();

  const enqueueInbox = (contact: string): void => {
    const secret = ourSecretFor(store.meta, contact, rng);
    io.enqueue(contact, { type: 'inbox', id: newMessageId(rng), routingKey: d.onionKey(), mailboxSecret: secret }, clock() + DEFAULT_TTL_MS);
  };

  /**
   * Takes a new identity for a hello (inside the transaction); returns the contact key. Only an invite
   * issued for a contact (invites.ts) moves that contact to a new identity; any other makes a new
   * contact — named as its hello asks unless another contact has that name (a name proves nothing).
   */
  const acceptHello = (sender: PublicIdentity, app: Extract<AppMessage, { type: 'hello' }>, now: number, events: CompeerEvent[]): string => {
    const intended = consumeInvite(store.meta, app.inviteSecret, now);
    const senderUid = userIdOf(sender);
    const target = intended === undefined ? undefined : store.contacts.get(intended);
    if (target && !equalBytes(target.publicKey, encodePublicIdentity(sender))) {
      // The same person under a new identity: keep the contact and its history, flag the change.
      store.contacts.changeIdentity(target.userId, encodePublicIdentity(sender), now);
      aliases.set(senderUid, target.userId);
      log.warn('contact identity changed', { contact: target.userId });
      const updated = store.contacts.get(target.userId);
      if (updated) events.push({ type: 'contact', contact: contactInfo(updated) });
      return target.userId;
    }
    const taken = app.name !== null && store.contacts.list().some((c) => c.name === app.name);
    if (taken) log.warn('hello: its name is another contact\'s: added without a name', { contact: senderUid });
    store.contacts.add({ userId: senderUid, name: taken ? null : app.name, publicKey: encodePublicIdentity(sender), createdAt: now });
    const added = store.contacts.get(senderUid);
    if (added) events.push({ type: 'contact', contact: contactInfo(added) });
    return senderUid;
  };

  /**
   * One opened envelope, inside its own (nested) transaction; returns the contact key, the ids to ack
   * and the session set as saved — or, with `deferSave` (the request's only envelope), as it must be
   * saved: the caller saves it once, with the ack's encryption (L4).
   */
  const receiveOne = (
    sender: PublicIdentity,
    content: Uint8Array,
    now: number,
    events: CompeerEvent[],
    queued: string[],
    deferSave: boolean,
  ): { key: string; ids: Uint8Array[]; set: SessionSet; repeat: boolean } => {
    const senderUid = userIdOf(sender);
    let key = contactKeyFor(senderUid);
    let contact = store.contacts.get(key);
    if (contact && !equalBytes(contact.publicKey, encodePublicIdentity(sender))) contact = undefined;
    let set = contact ? (io.loadSet(key) ?? emptySessionSet()) : undefined;
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
      let r: ReturnType<typeof setDecrypt>;
      try {
        r = setDecrypt(set, content, now, accept);
      } catch (e) {
        // The very bytes that decrypted before, from the same authenticated sender (its ack was lost,
        // or it could not tell whether they arrived): their key is gone (DUPLICATE_MESSAGE, or
        // DECRYPT_FAILED when they were on an archived session), but their ids are remembered. Ack
        // those again, change nothing — refusing would cost the sender a retry round and a fresh
        // encryption. Bytes never decrypted here get no answer (no oracle).
        const ids = seen.recall(seen.key(key, content), now);
        if (ids === undefined) throw e;
        return { key, ids, set, repeat: true };
      }
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
      io.enqueue(key, { type: 'addresses', id: newMessageId(rng), addresses: d.ownAddresses().slice(0, 8) }, now + DEFAULT_TTL_MS);
      enqueueInbox(key);
      queued.push(key);
    } else if (!deferSave) {
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
          io.applyAcks(key, part.ids, events);
          // Entries a flush may have in flight, removed outside it (outbound.ts pumpWith's count).
          outbound.forgetAhead(key);
          break;
        case 'addresses':
          store.contacts.setAddresses(key, part.addresses.slice(0, MAX_CONTACT_ADDRESSES));
          break;
        case 'sas': {
          const active = set.active;
          const reply = d.sas?.receive(key, () => (active ? { self: own.public, selfUserId: userIdOf(own.public), peer: active.remoteIdentity, peerUserId: senderUid, transcriptHash: active.transcriptHash } : undefined), part.message);
          if (reply) {
            io.enqueue(key, { type: 'sas', id: newMessageId(rng), message: reply }, now + SAS_TTL_MS);
            queued.push(key);
          }
          break;
        }
        case 'inbox':
          applyInbox(store.meta, key, part);
          queued.push(key); // a route to the contact may have opened: what waits for it can go
          break;
        case 'hello':
        case 'batch':
          break; // a repeated hello on an existing session; batches do not nest (the codec refuses it)
      }
    }
    return { key, ids: appMessageIds(app), set, repeat: false };
  };

  /** Opened envelopes from one sender → stored, with the ack sealed (all in one transaction). */
  const process = (opened: readonly OpenedEnvelope[], from: string): Processed => {
    const events: CompeerEvent[] = [];
    const queued: string[] = [];
    const first = opened[0];
    if (!first) throw new ProtocolError(ErrorCodes.MALFORMED_MESSAGE, 'empty request');
    const now = clock();
    let contact: string | undefined;
    const decrypted: [string, Uint8Array[]][] = [];
    const ack = store.transaction(() => {
      const acked: Uint8Array[] = [];
      let set: SessionSet | undefined;
      const deferSave = opened.length === 1;
      for (const o of opened) {
        if (!sameIdentity(o.sender, first.sender)) {
          log.warn('message refused', { peer: from, error: 'batch mixes senders' });
          continue;
        }
        const mine: CompeerEvent[] = [];
        try {
          const r = store.transaction(() => receiveOne(o.sender, o.content, now, mine, queued, deferSave));
          contact = r.key;
          set = r.set;
          acked.push(...r.ids);
          events.push(...mine);
          if (r.repeat) log.debug('message repeated: acked again', { peer: from, ids: r.ids.length });
          else decrypted.push([seen.key(r.key, o.content), r.ids]);
        } catch (e) {
          log.warn('message refused', { peer: from, error: errorOf(e) });
        }
      }
      // The contact just reached us: mail we left in mailboxes for it goes again now (it may have
      // missed the ack). One statement inside this transaction — no read of its outbox, no locks of its own.
      if (contact !== undefined && store.outbox.wakeHeld(contact, now) > 0) queued.push(contact);
      // The set as the last accepted envelope left it (no re-load: L4); sealing the ack saves it.
      if (contact === undefined || !set) return undefined;
      if (!set.active || acked.length === 0) {
        if (deferSave) store.sessions.put(contact, encodeSessionSet(set), now);
        return undefined;
      }
      return io.seal(contact, set, { type: 'ack', ids: acked.slice(0, APP_ACK_MAX_IDS) }, now);
    });
    // Committed: these bytes are now the ratchet's duplicates (acked again if they come back).
    for (const [k, ids] of decrypted) seen.remember(k, ids, now);
    return { contact, ack, events, queued };
  };

  const after = (p: Processed): void => {
    d.emit(p.events);
    for (const k of new Set(p.queued)) void outbound.flush(k);
  };

  const handle = async (req: Uint8Array, from: string): Promise<Uint8Array> => {
    let p: Processed;
    try {
      // Open every envelope first (CPU only); all must come from one sender.
      p = process(decodeMsgBatch(req).map((env) => openEnvelope(own, env)), from);
      if (p.contact !== undefined) {
        lastPeer.set(p.contact, from);
        d.network?.contactReach(p.contact, true); // its node reached ours: no need to redial it (heal.ts)
      }
    } catch (e) {
      log.warn('message refused', { peer: from, error: errorOf(e) });
      return new Uint8Array(0);
    }
    after(p);
    return p.ack ?? new Uint8Array(0);
  };

  const sendAck = createAckRoute({ store, net, router: d.router, routes: d.routes, outbound, clock, log, requestTimeoutMs: d.requestTimeoutMs });

  const receiveRouted = async (envelope: Uint8Array): Promise<void> => {
    let p: Processed;
    try {
      p = process([openEnvelope(own, envelope)], 'path');
    } catch (e) {
      log.warn('routed message refused', { error: errorOf(e) });
      return;
    }
    after(p);
    // Not awaited: the hop that handed us the envelope (or the mailbox fetch loop) must not wait for
    // the ack's own path.
    if (p.contact !== undefined && p.ack) {
      const contact = p.contact;
      sendAck(contact, p.ack).catch((e: unknown) => log.debug('ack not sent', { contact, error: errorOf(e) }));
    }
  };

  const announceInbox = (): void => {
    const key = d.onionKey();
    if (!inboxKeyChanged(store.meta, key)) return;
    store.transaction(() => {
      for (const c of store.contacts.list()) if (store.sessions.has(c.userId)) enqueueInbox(c.userId);
      markInboxKeySent(store.meta, key);
    });
  };

  const announceAddresses = (addresses: readonly string[]): void => {
    const text = JSON.stringify(addresses);
    const last = store.meta.get(LAST_ADDRESSES);
    if (last && new TextDecoder().decode(last) === text) return;
    const now = clock();
    store.transaction(() => {
      for (const c of store.contacts.list()) {
        if (store.sessions.has(c.userId)) io.enqueue(c.userId, { type: 'addresses', id: newMessageId(rng), addresses }, now + DEFAULT_TTL_MS);
      }
      store.meta.set(LAST_ADDRESSES, new TextEncoder().encode(text));
    });
  };

  return {
    handle,
    receiveRouted,
    announceAddresses,
    enqueue(contact, app, expiresAt, createdAt, hops) {
      io.enqueue(contact, app, expiresAt, createdAt, hops);
      // Queued before the entries already there (first-contact.ts's hello): what was encrypted ahead
      // of the flush no longer follows on from the start of the outbox.
      if (createdAt !== undefined) outbound.forgetAhead(contact);
    },
    enqueueInbox,
    announceInbox,
    flush: outbound.flush,
    prepare: outbound.prepare,
    tick: outbound.tick,
    strictWaiting(contact) {
      try {
        return store.outbox.forContact(contact).some((i) => (io.hopsOf(i.messageId) ?? 0) > 0);
      } catch (e) {
        // Unreadable: treated as strict (a redial skipped costs a little delay; a wrong one, the user's privacy).
        log.warn('outbox not read for a redial', { contact, error: errorOf(e) });
        return true;
      }
    },
    contactKeyFor,
    noteAlias: (u, k) => void aliases.set(u, k),
  };
}
