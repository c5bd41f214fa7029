/**
 * Group commit of sends: the sends made in one turn of the event loop share one store transaction (one
 * fsync) and one savepoint; when one of them fails, they are written again each in its own savepoint,
 * so one failure does not undo the others. The same transaction
 * encrypts each contact's first batch when nothing of the contact's is in flight (messaging.prepare:
 * one fsync for the messages and their encryption, docs/perf-node.md L1). A send resolves after the
 * commit; the `message` events follow it, then the contacts' outboxes are flushed.
 * This module knows nothing of encryption or the network (messaging.ts does both).
 */
import type { Clock } from '../lib/deps.ts';
import type { Logger } from '../lib/log.ts';
import type { BatchableMessage } from '../protocol/wire/app-message.ts';
import type { MessageRecord } from '../store/messages.ts';
import type { Messaging } from './messaging.ts';
import type { NodeStore } from './node-store.ts';
import { DEFAULT_TTL_MS } from '../routing/delivery-policy.ts';
import type { CompeerEvent, MessageInfo } from './types.ts';

/** A message to store and its app message. */
export interface SendParts {
  readonly record: MessageRecord;
  readonly app: BatchableMessage;
}

export interface QueuedSend {
  /**
   * The message, made inside the group's transaction: it may read the store (the contact, its
   * session: reads inside a transaction take no locks of their own) and throw, which fails this send
   * alone.
   */
  readonly build: () => SendParts;
  /** Relays on the path (undefined: the default, src/routing/delivery-policy.ts). */
  readonly hops?: number;
}

export interface SendQueueDeps {
  readonly store: NodeStore;
  readonly messaging: Messaging;
  readonly emit: (events: readonly CompeerEvent[]) => void;
  readonly clock: Clock;
  readonly toInfo: (m: MessageRecord) => MessageInfo;
  readonly log?: Logger;
}

/** Sends per group commit: a few requests' worth (a request carries up to ~170 1 KiB texts). */
const GROUP_MAX = 256;

interface PendingSend extends QueuedSend {
  resolve(): void;
  reject(e: unknown): void;
  /** What build() made, once written. */
  parts?: SendParts;
}

/** Returns `commitSend`: stores the message and its outbox entry; resolves once committed. */
export function createSendQueue(d: SendQueueDeps): (send: QueuedSend) => Promise<void> {
  const { store, messaging } = d;
  const pending: PendingSend[] = [];
  const commit = (): void => {
    // At most GROUP_MAX sends per commit; the rest in the next turn, so a burst's first messages are
    // on the wire (and the recipient busy) while the next ones are written.
    const batch = pending.splice(0, GROUP_MAX);
    if (pending.length > 0) setImmediate(commit);
    const ok: PendingSend[] = [];
    const write = (p: PendingSend): void => {
      const { record, app } = (p.parts = p.build());
      store.messages.add(record);
      messaging.enqueue(record.contact, app, record.expiresAt ?? d.clock() + DEFAULT_TTL_MS, undefined, p.hops);
    };
    const contactOf = (p: PendingSend): string => (p.parts as SendParts).record.contact;
    /** What the contacts' encryption ahead keeps once this commit returned (messaging.prepare). */
    const committed: (() => void)[] = [];
    try {
      store.transaction(() => {
        try {
          // One savepoint for the whole group (two statements per send fewer); when a send fails, the
          // group is rolled back to it and written again one savepoint each, so only that send fails.
          store.transaction(() => {
            for (const p of batch) write(p);
          });
          ok.push(...batch);
        } catch {
          for (const p of batch) {
            try {
              store.transaction(() => write(p));
              ok.push(p);
            } catch (e) {
              p.reject(e);
            }
          }
        }
        for (const contact of new Set(ok.map(contactOf))) {
          try {
            const done = store.transaction(() => messaging.prepare(contact));
            if (done) committed.push(done);
          } catch (e) {
            // Not encrypted yet (no session, …): the flush encrypts it, or it waits there as before.
            d.log?.debug('send not encrypted in its commit', { contact, error: e instanceof Error ? e : String(e) });
          }
        }
      });
    } catch (e) {
      for (const p of ok) p.reject(e);
      return;
    }
    for (const done of committed) done();
    d.emit(ok.map((p) => ({ type: 'message', message: d.toInfo((p.parts as SendParts).record) })));
    for (const p of ok) p.resolve();
    for (const contact of new Set(ok.map(contactOf))) void messaging.flush(contact);
  };
  return (send) =>
    new Promise((resolve, reject) => {
      if (pending.length === 0) setImmediate(commit);
      pending.push({ ...send, resolve, reject });
    });
}
