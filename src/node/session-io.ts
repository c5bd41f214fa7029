/**
 * What inbound and outbound messaging share (docs/node.md "Message flow"): loading a contact's session
 * set, encrypting an app message on it (the set saved in the same transaction, before the ciphertext
 * leaves), the outbox entry's plaintext, applying acks, and queueing. Every function that writes runs
 * inside the caller's store transaction. This module does no I/O and knows nothing of routes.
 *
 * What was queued in this process is also kept in memory (the app message and its path length, up to
 * HANDOFF_MAX entries and HANDOFF_MAX_CHARS of text, oldest dropped first) until it is acked: the flush takes it from there instead of
 * reading back and unsealing the message and its kv rows (docs/perf-node.md T1), and an ack deletes
 * only the kv rows the entry has (L5). A miss (after a restart, or an entry pushed out) reads the store,
 * so the memory is a cache, never the record: an entry whose transaction rolled back is never read
 * (there is no outbox entry to look it up for) and ages out.
 */
import { fromHex, toHex } from '../lib/bytes.ts';
import type { Clock, Rng } from '../lib/deps.ts';
import { ErrorCodes, ProtocolError } from '../lib/errors.ts';
import { decodeSessionSet, encodeSessionSet, setEncrypt, type SessionSet } from '../protocol/session-set.ts';
import { sealEnvelope } from '../protocol/sealed/envelope.ts';
import { decodeAppMessage, encodeAppMessage, type AppMessage, type BatchableMessage } from '../protocol/wire/app-message.ts';
import type { ContactRecord } from '../store/contacts.ts';
import type { OutboxItem } from '../store/outbox.ts';
import type { CompeerEvent } from './types.ts';
import type { NodeStore } from './node-store.ts';

const CTL_PREFIX = 'node.ctl/';
const HOPS_PREFIX = 'node.hops/';
/** In-memory handoffs kept: a few backlogs' worth of 1 KiB texts, bounded in count and in text. */
const HANDOFF_MAX = 8192;
const HANDOFF_MAX_CHARS = 8 * 1024 * 1024;
/** An outbox entry that has not been encrypted yet (or must be encrypted afresh). */
export const NO_WIRE = new Uint8Array(0);

export function newMessageId(rng: Rng): Uint8Array {
  return rng.bytes(16);
}

/**
 * A text message's id: the send time (ms, 6 bytes big-endian), then 10 random bytes. Ordered by time,
 * so its (contact, direction, id) key in the messages table — at the sender and at the recipient — is
 * written at the end of the contact's range, not at a random place of an index that outgrows the page
 * cache: about one index page per commit instead of one per message (docs/perf-node.md, fourth pass:
 * ~50 µs per message at each end). 80 random bits per millisecond keep ids unique; the id travels only
 * inside the encrypted app message, beside its sentAt, so it tells the recipient nothing new.
 */
export function newTextMessageId(rng: Rng, now: number): Uint8Array {
  const id = new Uint8Array(16);
  let t = Math.max(0, Math.floor(now));
  for (let i = 5; i >= 0; i--) {
    id[i] = t % 256;
    t = Math.floor(t / 256);
  }
  id.set(randomPart(rng), 6);
  return id;
}

/** Random parts drawn per call of an Rng: one CSPRNG call (~3 µs) per 64 ids, not one per send. */
const ID_RANDOM_BATCH = 64;
const idPools = new WeakMap<Rng, { bytes: Uint8Array; next: number }>();

/** 10 fresh random bytes; each byte of a draw is used once, so this is the same as drawing them one by one. */
function randomPart(rng: Rng): Uint8Array {
  let pool = idPools.get(rng);
  if (pool === undefined || pool.next + 10 > pool.bytes.length) {
    pool = { bytes: rng.bytes(10 * ID_RANDOM_BATCH), next: 0 };
    idPools.set(rng, pool);
  }
  pool.next += 10;
  return pool.bytes.subarray(pool.next - 10, pool.next);
}

export function contactInfo(c: ContactRecord): { userId: string; name: string | null; verified: boolean; keyChanged: boolean } {
  return { userId: c.userId, name: c.name, verified: c.verified, keyChanged: c.keyChanged };
}

export interface SessionIo {
  loadSet(contact: string): SessionSet | undefined;
  /** Encrypts on the active session, saves the set, returns the sealed envelope. */
  seal(contact: string, set: SessionSet, app: AppMessage, now: number): Uint8Array;
  /** Queues `app` for a contact; `hops` is the user's path length (undefined: the default). */
  enqueue(contact: string, app: BatchableMessage, expiresAt: number, createdAt?: number, hops?: number): void;
  /** The app message of an outbox entry (undefined when it is gone). */
  plaintextOf(item: OutboxItem): BatchableMessage | undefined;
  /** The path length asked for an entry (undefined: the default). */
  hopsOf(messageId: string): number | undefined;
  /** Applies acked ids; returns those that were pending. */
  applyAcks(contact: string, ids: readonly Uint8Array[], events: CompeerEvent[]): Set<string>;
  /** Forgets what an outbox entry kept beside it (control message, hops). */
  forget(messageId: string): void;
}

interface Handoff {
  readonly app: BatchableMessage;
  readonly hops: number | undefined;
}

const charsOf = (h: Handoff): number => (h.app.type === 'text' ? h.app.text.length : 0);

export function createSessionIo(store: NodeStore, rng: Rng, clock: Clock): SessionIo {
  const own = store.identity;
  const handoff = new Map<string, Handoff>();
  let handoffChars = 0;
  const drop = (id: string): Handoff | undefined => {
    const h = handoff.get(id);
    if (h) {
      handoff.delete(id);
      handoffChars -= charsOf(h);
    }
    return h;
  };
  const loadSet = (key: string): SessionSet | undefined => {
    const raw = store.sessions.get(key);
    return raw === undefined ? undefined : decodeSessionSet(raw);
  };
  const forget = (id: string): void => {
    const h = drop(id);
    // Only the rows enqueue wrote: a control message has its CTL row, a path length its HOPS row.
    if (!h || h.app.type !== 'text') store.meta.delete(CTL_PREFIX + id);
    if (!h || h.hops !== undefined) store.meta.delete(HOPS_PREFIX + id);
  };
  return {
    loadSet,
    seal(contact, set, app, now) {
      const content = setEncrypt(set, encodeAppMessage(app), rng);
      store.sessions.put(contact, encodeSessionSet(set), now);
      const remote = set.active?.remoteIdentity;
      if (!remote) throw new ProtocolError(ErrorCodes.NO_SESSION, 'no active session');
      return sealEnvelope(own, remote, content, rng);
    },
    enqueue(contact, app, expiresAt, createdAt, hops) {
      if (!store.contacts.has(contact)) throw new ProtocolError(ErrorCodes.NO_SESSION, 'no such contact');
      const id = toHex(app.id);
      const now = clock();
      store.outbox.enqueue({ messageId: id, contact, wire: NO_WIRE, attempts: 0, nextAttemptAt: now, expiresAt, state: 'queued', createdAt: createdAt ?? now });
      if (app.type !== 'text') store.meta.set(CTL_PREFIX + id, encodeAppMessage(app));
      if (hops !== undefined) store.meta.set(HOPS_PREFIX + id, Uint8Array.of(hops));
      const h: Handoff = { app, hops };
      drop(id);
      handoff.set(id, h);
      handoffChars += charsOf(h);
      while (handoff.size > HANDOFF_MAX || handoffChars > HANDOFF_MAX_CHARS) drop(handoff.keys().next().value as string);
    },
    plaintextOf(item) {
      const h = handoff.get(item.messageId);
      if (h) return h.app;
      const ctl = store.meta.get(CTL_PREFIX + item.messageId);
      if (ctl) {
        const m = decodeAppMessage(ctl);
        return m.type === 'ack' || m.type === 'batch' ? undefined : m;
      }
      const m = store.messages.get(item.contact, 'out', item.messageId);
      return m ? { type: 'text', id: fromHex(m.id), sentAt: m.sentAt, text: m.text } : undefined;
    },
    hopsOf(id) {
      const h = handoff.get(id);
      if (h) return h.hops;
      const raw = store.meta.get(HOPS_PREFIX + id);
      return raw?.length === 1 ? raw[0] : undefined;
    },
    applyAcks(contact, ids, events) {
      // Two statements for the whole ack (T3): kv rows live exactly as long as their outbox entry
      // (written and removed in the same transactions), so only removed entries have any to forget.
      const hex = ids.map(toHex);
      const removed = store.outbox.removeMany(contact, hex);
      for (const id of removed) forget(id);
      const done = new Set(removed);
      const delivered = new Set(store.messages.markDelivered(contact, hex));
      for (const id of hex) {
        if (!delivered.delete(id)) continue; // (deleted: an id acked twice in one ack makes one event)
        events.push({ type: 'status', id, contact, status: 'delivered' });
        done.add(id);
      }
      return done;
    },
    forget,
  };
}
