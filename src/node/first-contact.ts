/**
 * First contact from an invite (docs/node.md "Invites"): the contact is added with the invite's secret
 * kept as a pending hello; the session starts when the contact's prekey bundle can be fetched (at once,
 * at the first send, or on the 30 s retry) with `hello`, our addresses and our inbox queued first —
 * anything queued before waits behind the hello, which must arrive first.
 * A setup that failed (the contact's node out of reach, e.g. across a cut) is tried again when that
 * node is reached (`retry`, asked by the heal: docs/delivery.md "Heal") — at once, at most once per
 * RETRY_MIN_MS per contact — and on the node's 30 s retry
 * (`retryPending`). One setup per contact at a time: a send, an invite's addition or a retry asking
 * while one runs joins it (each setup fetches a bundle and takes one of the contact's one-time prekeys),
 * and one contact's slow fetch (a request deadline, then the DHT's) does not hold back another's.
 * This module knows nothing of the API; compeer.ts calls it.
 */
import type { Clock, Rng } from '../lib/deps.ts';
import { ErrorCodes, ProtocolError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { IdentityKeyPair } from '../protocol/identity.ts';
import { sameIdentity, userIdOf } from '../protocol/identity.ts';
import { decodeKnownIdentity } from '../protocol/identity-cache.ts';
import { initiateSession } from '../protocol/session.ts';
import { encodeSessionSet } from '../protocol/session-set.ts';
import { DEFAULT_TTL_MS } from '../routing/delivery-policy.ts';
import type { ContactRecord } from '../store/contacts.ts';
import type { NetNode } from '../net/index.ts';
import { fetchBundle } from './bundles.ts';
import type { Messaging } from './messaging.ts';
import type { NodeStore } from './node-store.ts';
import { newMessageId } from './session-io.ts';
import { rememberFirstBox } from './inbox.ts';
import { inviteMailboxSecret } from '../protocol/invite.ts';

const PENDING_HELLO = 'node.pending-hello/';
/**
 * A contact's setup is retried on its node being reached at most this often: its connections may come
 * and go every few seconds (the trim, a flapping link), each one asking again.
 */
export const RETRY_MIN_MS = 5_000;

export interface FirstContactDeps {
  readonly store: NodeStore;
  readonly net: Pick<NetNode, 'request' | 'dhtGet' | 'addresses'>;
  readonly msg: Pick<Messaging, 'enqueue' | 'enqueueInbox' | 'flush'>;
  readonly own: IdentityKeyPair;
  readonly rng: Rng;
  readonly clock: Clock;
  readonly log: Logger;
  readonly requestTimeoutMs: number;
}

export interface FirstContact {
  /** Inside a transaction: remembers the invite secret for the contact's hello. */
  remember(contact: string, inviteSecret: Uint8Array): void;
  /** Fetches the bundle and starts the session with `hello` first (when the contact has none yet). */
  startSession(c: ContactRecord): Promise<void>;
  /** Contacts whose bundle could not be fetched yet: try again (their hello is waiting). */
  retryPending(): Promise<void>;
  /**
   * The contact's node was reached: its setup, if still waiting, is tried again now (see the header);
   * resolves true when this call set the session up.
   */
  retry(contact: string): Promise<boolean>;
}

export function createFirstContact(d: FirstContactDeps): FirstContact {
  const { store, net, msg, rng, clock, log } = d;

  /** Setups running, per contact (one at a time: a send and the retry asking at once share one fetch). */
  const running = new Map<string, Promise<void>>();
  /** Retries running, per contact (`setUp`: the session, then its flush). */
  const retrying = new Map<string, Promise<boolean>>();
  /** When `retry` last went for a contact (RETRY_MIN_MS). */
  const askedAt = new Map<string, number>();

  const fetchAndStart = async (c: ContactRecord): Promise<void> => {
    const secret = store.meta.get(PENDING_HELLO + c.userId);
    if (!secret) throw new ProtocolError(ErrorCodes.NO_SESSION, 'no session and no invite for this contact');
    const started = clock();
    const bundle = await fetchBundle(net, userIdOf(decodeKnownIdentity(c.publicKey)), c.addresses, log, { timeoutMs: d.requestTimeoutMs });
    if (!sameIdentity(bundle.identity, decodeKnownIdentity(c.publicKey))) throw new ProtocolError(ErrorCodes.UNTRUSTED_IDENTITY, 'bundle identity');
    const session = initiateSession(d.own, bundle, rng);
    const now = clock();
    const created = store.transaction(() => {
      if (store.sessions.has(c.userId)) return false;
      store.sessions.put(c.userId, encodeSessionSet({ active: session, archived: [] }), now);
      // Messages queued while there was no session wait behind the hello (it must arrive first) and are due now.
      const waiting = store.outbox.forContact(c.userId);
      const at = Math.min(now, (waiting[0]?.createdAt ?? now) - 2);
      msg.enqueue(c.userId, { type: 'hello', id: newMessageId(rng), inviteSecret: secret, name: store.name }, now + DEFAULT_TTL_MS, at);
      msg.enqueue(c.userId, { type: 'addresses', id: newMessageId(rng), addresses: net.addresses().slice(0, 8) }, now + DEFAULT_TTL_MS, at + 1);
      msg.enqueueInbox(c.userId);
      for (const w of waiting) store.outbox.update(w.messageId, { nextAttemptAt: now });
      store.meta.delete(PENDING_HELLO + c.userId);
      return true;
    });
    if (created) log.debug('session started', { contact: c.userId, tookMs: clock() - started });
  };

  /** The contact's setup, joined when one runs. */
  const startSession = (c: ContactRecord): Promise<void> => {
    const joined = running.get(c.userId);
    if (joined !== undefined) return joined;
    const p = fetchAndStart(c).finally(() => running.delete(c.userId));
    running.set(c.userId, p);
    return p;
  };

  /** A waiting setup for `contact`, then its flush, joined when one runs; true when it set the session up. */
  const setUp = (contact: string): Promise<boolean> => {
    const joined = retrying.get(contact);
    if (joined !== undefined) return joined;
    const c = store.contacts.get(contact);
    if (!c || store.sessions.has(contact) || store.meta.get(PENDING_HELLO + contact) === undefined) return Promise.resolve(false);
    const p = startSession(c)
      .then(
        () => {
          void msg.flush(contact, true);
          return true;
        },
        (e: unknown) => {
          log.debug('session setup still deferred', { contact, error: e instanceof Error ? e : String(e) });
          return false;
        },
      )
      .finally(() => retrying.delete(contact));
    retrying.set(contact, p);
    return p;
  };

  return {
    remember(contact, inviteSecret) {
      store.meta.set(PENDING_HELLO + contact, inviteSecret);
      rememberFirstBox(store.meta, contact, inviteMailboxSecret(inviteSecret));
    },
    startSession,
    async retryPending() {
      await Promise.all(store.meta.keys(PENDING_HELLO).map((key) => setUp(key.slice(PENDING_HELLO.length))));
    },
    retry(contact) {
      const now = clock();
      const last = askedAt.get(contact);
      if (last !== undefined && now - last < RETRY_MIN_MS) return Promise.resolve(false);
      if (store.sessions.has(contact) || store.meta.get(PENDING_HELLO + contact) === undefined) return Promise.resolve(false);
      askedAt.set(contact, now);
      // At once, not after a jitter (up to 500 ms before heal6): the contact's node was just reached, so
      // this is one bundle request to it — the nodes a heal reaches ask different nodes, at the moments
      // their redials get through. A timer there waited for the whole simulator's loop: 4.6 s from 28's
      // reach of its first contact 2 to the bundle request in one full-partition run under load (26 Nov).
      // Through a promise: a store closed meanwhile (the node stopped) is a rejection, not an uncaught throw.
      return Promise.resolve(contact).then(setUp).catch(() => false);
    },
  };
}
