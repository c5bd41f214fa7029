/**
 * Opens a node's store: DIR/compeer.db (node:sqlite, WAL, migrated) plus the storage key that seals
 * secrets in it. The key is unlocked lazily, on the first sealed read or write, so commands that touch
 * no secret need no passphrase.
 *
 * Files in DIR: compeer.db (+ -wal, -shm), storage.key (key-file mode only). DIR is created 0700.
 */
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { Clock, Rng } from '../lib/deps.ts';
import { ErrorCodes, StateError } from '../lib/errors.ts';
import { silentLogger, type Logger } from '../lib/log.ts';
import type { IdentityRepository } from './identity.ts';
import { sqliteIdentityRepository } from './identity-sqlite.ts';
import { migrate } from './migrations.ts';
import type { Sealer } from './seal.ts';
import { openSqlite } from './sql.ts';
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
}

export interface Store {
  readonly dir: string;
  readonly db: DatabaseSync;
  readonly identities: IdentityRepository;
  close(): void;
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

export function openStore(opts: StoreOptions): Store {
  const logger = opts.logger ?? silentLogger;
  prepareDir(opts.dir, opts.create, logger);
  const path = join(opts.dir, DB_FILE);
  const isNew = !existsSync(path);
  const db = openSqlite(path);
  try {
    // The database holds metadata in the clear (names, later contacts): owner-only, like DIR.
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
  return {
    dir: opts.dir,
    db,
    identities: sqliteIdentityRepository(db, getSealer),
    close: () => db.close(),
  };
}
