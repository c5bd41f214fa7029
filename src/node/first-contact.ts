/**
 * First contact from an invite (docs/node.md "Invites"): the contact is added with the invite's secret
 * kept as a pending hello; the session starts when the contact's prekey bundle can be fetched (at once,
 * at the first send, or on the 30 s retry) with `hello`, our addresses and our inbox queued first —
 * anything queued before waits behind the hello, which must arrive first.
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

const PENDING_HELLO = 'node.pending-hello/';

export interface FirstContactDeps {
  readonly store: NodeStore;
  readonly net: NetNode;
  readonly msg: Messaging;
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
}

export function createFirstContact(d: FirstContactDeps): FirstContact {
  const { store, net, msg, rng, clock, log } = d;

  const startSession = async (c: ContactRecord): Promise<void> => {
    const secret = store.meta.get(PENDING_HELLO + c.userId);
    if (!secret) throw new ProtocolError(ErrorCodes.NO_SESSION, 'no session and no invite for this contact');
    const bundle = await fetchBundle(net, userIdOf(decodeKnownIdentity(c.publicKey)), c.addresses, log, { timeoutMs: d.requestTimeoutMs });
    if (!sameIdentity(bundle.identity, decodeKnownIdentity(c.publicKey))) throw new ProtocolError(ErrorCodes.UNTRUSTED_IDENTITY, 'bundle identity');
    const session = initiateSession(d.own, bundle, rng);
    const now = clock();
    store.transaction(() => {
      if (store.sessions.has(c.userId)) return;
      store.sessions.put(c.userId, encodeSessionSet({ active: session, archived: [] }), now);
      // Messages queued while there was no session wait behind the hello (it must arrive first) and are due now.
      const waiting = store.outbox.forContact(c.userId);
      const at = Math.min(now, (waiting[0]?.createdAt ?? now) - 2);
      msg.enqueue(c.userId, { type: 'hello', id: newMessageId(rng), inviteSecret: secret, name: store.name }, now + DEFAULT_TTL_MS, at);
      msg.enqueue(c.userId, { type: 'addresses', id: newMessageId(rng), addresses: net.addresses().slice(0, 8) }, now + DEFAULT_TTL_MS, at + 1);
      msg.enqueueInbox(c.userId);
      for (const w of waiting) store.outbox.update(w.messageId, { nextAttemptAt: now });
      store.meta.delete(PENDING_HELLO + c.userId);
    });
  };

  return {
    remember: (contact, inviteSecret) => store.meta.set(PENDING_HELLO + contact, inviteSecret),
    startSession,
    async retryPending() {
      for (const key of store.meta.keys(PENDING_HELLO)) {
        const c = store.contacts.get(key.slice(PENDING_HELLO.length));
        if (!c || store.sessions.has(c.userId)) continue;
        try {
          await startSession(c);
          void msg.flush(c.userId, true);
        } catch (e) {
          log.debug('session setup still deferred', { contact: c.userId, error: e instanceof Error ? e : String(e) });
        }
      }
    },
  };
}
