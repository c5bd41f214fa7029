/**
 * What the node keeps, as one narrow port over src/store/: the repositories it uses, a synchronous
 * transaction, and a small key/value `meta` area for the node's own facts (node key, prekey counters,
 * outstanding invites, control messages waiting for their ack).
 *
 * `memoryNodeStore()` builds the port from the store's in-memory reference repositories (the
 * `--ephemeral` mode and tests); a sqlite-backed store is adapted to the same port by
 * `fromStore` in store-adapter.ts when the store offers its repositories.
 * This module knows nothing of sessions' contents, of the network or of events.
 */
import type { IdentityKeyPair } from '../protocol/identity.ts';
import { InMemoryPrekeyPool, type PrekeyPool } from '../protocol/handshake/prekey-store.ts';
import { InMemoryReplayCache, type ReplayCache } from '../protocol/handshake/replay-cache.ts';
import { memoryContactRepository, type ContactRepository } from '../store/contacts.ts';
import { memoryMessageRepository, type MessageRepository } from '../store/messages.ts';
import { memoryOutboxRepository, type OutboxRepository } from '../store/outbox.ts';
import { memorySessionRepository, type SessionRepository } from '../store/sessions.ts';
import { mapDelete, mapSet, memoryTransactions } from '../store/memory-tx.ts';
import type { PeerRepository } from '../store/peers.ts';
import type { TransactionOptions } from '../store/sql.ts';
import { memoryMailboxRepository, type MailboxRepository } from '../store/mailboxes.ts';

export interface NodeMeta {
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): void;
  delete(key: string): void;
  /** Keys starting with `prefix`, in no particular order. */
  keys(prefix: string): string[];
}

export interface NodeStore {
  /** The local identity (loaded and unsealed by whoever opened the store). */
  readonly identity: IdentityKeyPair;
  readonly name: string | null;
  readonly contacts: ContactRepository;
  readonly sessions: SessionRepository;
  readonly messages: MessageRepository;
  readonly outbox: OutboxRepository;
  readonly prekeys: PrekeyPool;
  readonly replay: ReplayCache;
  readonly meta: NodeMeta;
  /** The peer table fed by discovery (src/node/discovery/), when the store has one. */
  readonly peers?: PeerRepository;
  /** Blobs this node holds in mailboxes for others (src/routing/mailbox-holder.ts). */
  readonly mailboxes: MailboxRepository;
  /**
   * Runs `fn` (synchronous) atomically: everything it changed is undone when it throws. `durable: false`
   * lets the commit return before it is on disk (src/store/sql.ts TransactionOptions says when that is safe).
   */
  transaction<T>(fn: () => T, opts?: TransactionOptions): T;
  /** Whether what is written survives a restart. */
  readonly persistent: boolean;
  close(): void;
}

/** Everything in memory: the `--ephemeral` mode. Prekeys and the replay cache are not transactional (they need not be: see session.ts). */
export function memoryNodeStore(identity: IdentityKeyPair, name: string | null): NodeStore {
  const tx = memoryTransactions();
  const meta = new Map<string, Uint8Array>();
  return {
    identity,
    name,
    contacts: memoryContactRepository(tx),
    sessions: memorySessionRepository(tx),
    messages: memoryMessageRepository(tx),
    outbox: memoryOutboxRepository(tx),
    mailboxes: memoryMailboxRepository(tx),
    prekeys: new InMemoryPrekeyPool(),
    replay: new InMemoryReplayCache(),
    meta: {
      get: (k) => meta.get(k)?.slice(),
      set: (k, v) => mapSet(tx, meta, k, v.slice()),
      delete: (k) => void mapDelete(tx, meta, k),
      keys: (prefix) => [...meta.keys()].filter((k) => k.startsWith(prefix)),
    },
    transaction: (fn) => tx.transaction(fn),
    persistent: false,
    close: () => {},
  };
}
