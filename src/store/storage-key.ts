/**
 * Where the 32-byte storage key comes from, and the check that it is the right one.
 *
 * Two modes, fixed when the store is first unlocked and recorded in meta `storage.kdf`:
 * - "keyfile": 32 random bytes in DIR/storage.key (mode 0600). Protects the database file if it is
 *   copied without the key file (backups, sync folders); not against someone who can read DIR.
 * - "scrypt": derived from a passphrase with scrypt (N=2^15, r=8, p=1; RFC 7914) and a random 16-byte
 *   salt in meta `storage.salt`. Nothing secret on disk.
 * Meta `storage.check` holds a sealed constant: a wrong passphrase or key file is reported as such
 * (UNAUTHORIZED) instead of as a corrupt row later.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scryptSync } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { fromUtf8, utf8 } from '../lib/bytes.ts';
import type { Rng } from '../lib/deps.ts';
import { CompeerError, ErrorCodes, StateError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { getMeta, setMeta } from './meta.ts';
import { createSealer, sealLabel, STORAGE_KEY_LENGTH, type Sealer } from './seal.ts';
import { transaction } from './sql.ts';

export const KEY_FILE = 'storage.key';
export const SCRYPT = { N: 2 ** 15, r: 8, p: 1, saltLength: 16 } as const;
const CHECK_PLAINTEXT = utf8('compeer storage key check');
const CHECK_AD = sealLabel('meta', 'value', 'storage.check');

export interface UnlockOptions {
  db: DatabaseSync;
  dir: string;
  rng: Rng;
  /** Set up key material when the store has none yet (only `compeer init` does). */
  create: boolean;
  /** When set, a new store derives its key from it; an existing scrypt store requires it. */
  passphrase?: string | undefined;
  logger: Logger;
}

export function deriveFromPassphrase(passphrase: string, salt: Uint8Array): Uint8Array {
  // NFKC so that the same passphrase typed on different keyboards/OSes derives the same key.
  const pw = utf8(passphrase.normalize('NFKC'));
  const { N, r, p } = SCRYPT;
  return new Uint8Array(scryptSync(pw, salt, STORAGE_KEY_LENGTH, { N, r, p, maxmem: 256 * N * r }));
}

function readKeyFile(path: string, logger: Logger): Uint8Array {
  let key: Uint8Array;
  try {
    key = new Uint8Array(readFileSync(path));
  } catch (cause) {
    throw new StateError(ErrorCodes.NOT_FOUND, `storage key file missing or unreadable: ${path}`, { cause });
  }
  if (key.length !== STORAGE_KEY_LENGTH) {
    throw new StateError(ErrorCodes.STATE_CORRUPT, `storage key file: expected ${STORAGE_KEY_LENGTH} bytes, got ${key.length}`);
  }
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) {
    logger.warn('storage key file is readable by other users', { path });
  }
  return key;
}

/** Creates DIR/storage.key (0600), or reuses one left by an earlier, interrupted init. */
function createKeyFile(path: string, rng: Rng, logger: Logger): Uint8Array {
  const key = rng.bytes(STORAGE_KEY_LENGTH);
  try {
    writeFileSync(path, key, { mode: 0o600, flag: 'wx' });
    logger.debug('storage key file created', { path });
    return key;
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'EEXIST') throw e;
    key.fill(0);
    return readKeyFile(path, logger);
  }
}

function verify(sealer: Sealer, check: Uint8Array): void {
  try {
    sealer.open(check, CHECK_AD);
  } catch (cause) {
    throw new CompeerError(ErrorCodes.UNAUTHORIZED, 'wrong passphrase or storage key for this store', { cause });
  }
}

/** Returns a sealer under the store's key, setting the key up first when `create` allows it. */
export function unlock(opts: UnlockOptions): Sealer {
  const { db, rng, logger } = opts;
  const keyPath = join(opts.dir, KEY_FILE);
  const kdf = getMeta(db, 'storage.kdf');
  if (kdf === undefined) {
    if (!opts.create) throw new StateError(ErrorCodes.NOT_FOUND, 'this store has no storage key yet; run `compeer init`');
    return transaction(db, () => {
      let key: Uint8Array;
      if (opts.passphrase !== undefined) {
        const salt = rng.bytes(SCRYPT.saltLength);
        key = deriveFromPassphrase(opts.passphrase, salt);
        setMeta(db, 'storage.kdf', utf8('scrypt'));
        setMeta(db, 'storage.salt', salt);
      } else {
        key = createKeyFile(keyPath, rng, logger);
        setMeta(db, 'storage.kdf', utf8('keyfile'));
      }
      const sealer = createSealer(key, rng);
      key.fill(0);
      setMeta(db, 'storage.check', sealer.seal(CHECK_PLAINTEXT, CHECK_AD));
      logger.debug('storage key set up', { mode: opts.passphrase !== undefined ? 'scrypt' : 'keyfile' });
      return sealer;
    });
  }
  const check = getMeta(db, 'storage.check');
  if (check === undefined) throw new StateError(ErrorCodes.STATE_CORRUPT, 'store has a key mode but no key check');
  let key: Uint8Array;
  const mode = fromUtf8(kdf);
  if (mode === 'scrypt') {
    const salt = getMeta(db, 'storage.salt');
    if (salt === undefined) throw new StateError(ErrorCodes.STATE_CORRUPT, 'store has no scrypt salt');
    if (opts.passphrase === undefined) {
      throw new CompeerError(ErrorCodes.UNAUTHORIZED, 'this store is protected by a passphrase: set COMPEER_PASSPHRASE');
    }
    key = deriveFromPassphrase(opts.passphrase, salt);
  } else if (mode === 'keyfile') {
    if (opts.passphrase !== undefined) logger.warn('a passphrase was given but this store uses a key file; ignoring it');
    key = readKeyFile(keyPath, logger);
  } else {
    throw new StateError(ErrorCodes.STATE_CORRUPT, `unknown storage key mode "${mode.slice(0, 32)}"`);
  }
  const sealer = createSealer(key, rng);
  key.fill(0);
  verify(sealer, check);
  return sealer;
}
