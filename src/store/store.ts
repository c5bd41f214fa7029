/**
 * Opens a node's store: DIR/compeer.db (node:sqlite, WAL, migrated) plus the storage key that seals
 * secrets in it. The key is unlocked lazily, on the first sealed read or write, so commands that touch
 * no secret need no passphrase. `openMemoryStore` gives the same Store shape on the in-memory reference
 * implementations (`--ephemeral`: nothing is written to disk).
 *
 * Files in DIR: compeer.db (+ -wal, -shm), storage.key (key-file mode only). DIR is created 0700.
 *
 * Transactions: `store.transaction(fn)` runs `fn` (synchronous) atomically over every repository —
 * e.g. the new session state, the message and its outbox entry commit together or not at all.
 * Nested calls are savepoints. Fire events only after the outermost transaction returned. A sqlite
 * store unlocks the storage key before its first transaction (the key set-up is a transaction itself).
 */
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { Clock, Rng } from '../lib/deps.ts';
import { ErrorCodes, StateError } from '../lib/errors.ts';
import { silentLogger, type Logger } from '../lib/log.ts';
import { InMemoryPrekeyPool, type PrekeyPool } from '../protocol/handshake/prekey-store.ts';
import { InMemoryReplayCache, type ReplayCache } from '../protocol/handshake/replay-cache.ts';
import { memoryContactRepository, type ContactRepository } from './contacts.ts';
import { sqliteContactRepository } from './contacts-sqlite.ts';
import { memoryIdentityRepository, type IdentityRepository } from './identity.ts';
import { sqliteIdentityRepository } from './identity-sqlite.ts';
import { memoryKeyValueRepository, type KeyValueRepository } from './kv.ts';
import { sqliteKeyValueRepository } from './kv-sqlite.ts';
import { asyncTransactionError, isThenable, memoryTransactions } from './memory-tx.ts';
import { memoryMailboxRepository, type MailboxRepository } from './mailboxes.ts';
import { sqliteMailboxRepository } from './mailboxes-sqlite.ts';
import { memoryMessageRepository, type MessageRepository } from './messages.ts';
import { sqliteMessageRepository } from './messages-sqlite.ts';
import { migrate } from './migrations.ts';
import { memoryOutboxRepository, type OutboxRepository } from './outbox.ts';
import { sqliteOutboxRepository } from './outbox-sqlite.ts';
import { NO_PEER_POLICY, type PeerPolicy, type PeerRepository } from './peers.ts';
import { memoryPeerRepository } from './peers-memory.ts';
import { sqlitePeerRepository } from './peers-sqlite.ts';
import { sqlitePrekeyPool, sqliteReplayCache } from './prekeys-sqlite.ts';
import type { Sealer } from './seal.ts';
import { memorySessionRepository, type SessionRepository } from './sessions.ts';
import { sqliteSessionRepository } from './sessions-sqlite.ts';
import { openSqlite, rolledBack, transaction, type TransactionOptions } from './sql.ts';
import { startCheckpointer } from './checkpointer.ts';
import { unlock } from './storage-key.ts';

export const DB_FILE = 'compeer.db';

export interface StoreOptions {
  dir: string;
  rng: Rng;
  clock: Clock;
  /** Create DIR and the database when missing (init); otherwise a missing store is NOT_FOUND. */
  create: boolean;
  passphrase?: string | undefined;
  logger?: Logger;
  /**
   * The peer-table policy (src/routing/peer-policy.ts `createPeerPolicy()`). Without one the peer
   * table can be read but every write throws INTERNAL (never a table without Sybil caps).
   */
  peerPolicy?: PeerPolicy;
  /**
   * WAL checkpoints in a worker thread (checkpointer.ts), not on the committing thread; default off —
   * one thread per store, so for a process that holds one node's store (the daemon, the node bench),
   * not for one that holds a hundred (the full-mode simulation).
   */
  backgroundCheckpoint?: boolean;
}

export interface Store {
  /** The data folder, or null for a memory store. */
  readonly dir: string | null;
  readonly identities: IdentityRepository;
  readonly contacts: ContactRepository;
  readonly sessions: SessionRepository;
  readonly messages: MessageRepository;
  readonly outbox: OutboxRepository;
  /** Our prekeys (private halves sealed); also the PQXDH responder's PrekeyStore. */
  readonly prekeys: PrekeyPool;
  readonly replayCache: ReplayCache;
  readonly peers: PeerRepository;
  /** A sealed key/value area for the node's private facts (node key, invite secrets). */
  readonly kv: KeyValueRepository;
  /** Opaque blobs this node holds for others' mailboxes (src/routing/mailbox-holder.ts). */
  readonly mailboxes: MailboxRepository;
  /**
   * Runs synchronous `fn` atomically across all repositories; nested calls are savepoints (the
   * outermost call's `durable` decides: sql.ts TransactionOptions).
   */
  transaction<T>(fn: () => T, opts?: TransactionOptions): T;
  close(): void;
}

export interface SqliteStore extends Store {
  readonly dir: string;
  readonly db: DatabaseSync;
}

function prepareDir(dir: string, create: boolean, logger: Logger): void {
  if (!existsSync(join(dir, DB_FILE))) {
    if (!create) throw new StateError(ErrorCodes.NOT_FOUND, `no Compeer store in ${dir}; run \`compeer init\``);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  if (process.platform !== 'win32' && (statSync(dir).mode & 0o077) !== 0) {
    logger.warn('data folder is accessible to other users', { dir });
  }
}

/** BEGIN IMMEDIATE at the outermost level, SAVEPOINT inside; rolls back on a throw or a promise. */
export function sqliteTransactions(db: DatabaseSync): <T>(fn: () => T, opts?: TransactionOptions) => T {
  let depth = 0;
  const checked = <T>(fn: () => T): T => {
    const out = fn();
    if (isThenable(out)) throw asyncTransactionError();
    return out;
  };
  return <T>(fn: () => T, opts?: TransactionOptions): T => {
    if (!db.isTransaction) return transaction(db, () => checked(fn), opts);
    const name = `sp${++depth}`;
    db.exec(`SAVEPOINT ${name}`);
    try {
      const out = checked(fn);
      db.exec(`RELEASE ${name}`);
      return out;
    } catch (e) {
      db.exec(`ROLLBACK TO ${name}`);
      db.exec(`RELEASE ${name}`);
      rolledBack(db);
      throw e;
    } finally {
      depth--;
    }
  };
}

export function openStore(opts: StoreOptions): SqliteStore {
  const logger = opts.logger ?? silentLogger;
  prepareDir(opts.dir, opts.create, logger);
  const path = join(opts.dir, DB_FILE);
  const isNew = !existsSync(path);
  const db = openSqlite(path);
  try {
    // The database holds metadata in the clear (names, contacts, peers): owner-only, like DIR.
    if (isNew && process.platform !== 'win32') chmodSync(path, 0o600);
    const { from, to } = migrate(db, opts.clock);
    logger.debug('store opened', { dir: opts.dir, schemaFrom: from, schemaTo: to });
  } catch (e) {
    db.close();
    throw e;
  }
  let sealer: Sealer | undefined;
  const getSealer = (): Sealer =>
    (sealer ??= unlock({ db, dir: opts.dir, rng: opts.rng, create: opts.create, passphrase: opts.passphrase, logger }));
  const inTransaction = sqliteTransactions(db);
  const checkpointer = opts.backgroundCheckpoint === true ? startCheckpointer(db, path, logger) : undefined;
  return {
    dir: opts.dir,
    db,
    identities: sqliteIdentityRepository(db, getSealer),
    contacts: sqliteContactRepository(db, getSealer),
    sessions: sqliteSessionRepository(db, getSealer),
    messages: sqliteMessageRepository(db, getSealer),
    outbox: sqliteOutboxRepository(db),
    prekeys: sqlitePrekeyPool(db, getSealer),
    replayCache: sqliteReplayCache(db),
    peers: sqlitePeerRepository(db, opts.peerPolicy ?? NO_PEER_POLICY),
    kv: sqliteKeyValueRepository(db, getSealer),
    mailboxes: sqliteMailboxRepository(db),
    transaction: (fn, opts) => {
      // The storage key's first-use set-up runs its own transaction: do it before ours begins.
      if (!db.isTransaction) getSealer();
      return inTransaction(fn, opts);
    },
    close: () => {
      checkpointer?.stop();
      db.close();
    },
  };
}

export interface MemoryStoreOptions {
  peerPolicy?: PeerPolicy;
}

/**
 * The same Store on the in-memory reference implementations: nothing touches the disk. Transactions
 * roll back contacts, sessions, messages, outbox, peers, kv and mailboxes; the prekey pool and replay
 * cache (the protocol's own in-memory classes) are not journaled.
 */
export function openMemoryStore(opts: MemoryStoreOptions = {}): Store {
  const tx = memoryTransactions();
  return {
    dir: null,
    identities: memoryIdentityRepository(),
    contacts: memoryContactRepository(tx),
    sessions: memorySessionRepository(tx),
    messages: memoryMessageRepository(tx),
    outbox: memoryOutboxRepository(tx),
    prekeys: new InMemoryPrekeyPool(),
    replayCache: new InMemoryReplayCache(),
    peers: memoryPeerRepository(opts.peerPolicy ?? NO_PEER_POLICY, tx),
    kv: memoryKeyValueRepository(tx),
    mailboxes: memoryMailboxRepository(tx),
    transaction: (fn) => tx.transaction(fn),
    close: () => {},
  };
}
