/**
 * ContactRepository on the `contacts` and `contact_key_history` tables (migration 2). The pairwise
 * secret is sealed with the label contacts.secret/<userId>; names, identities, flags and addresses are
 * metadata in the clear. A name clash is caught by the UNIQUE index as well as checked first.
 *
 * Records read are kept in memory (every send looks its contact up: a row read and a JSON parse cost
 * ~12 µs, docs/perf-node.md); the memory is dropped on every write through this repository (before and
 * after it), on every rollback of the database (sql.ts onRollback) and when another connection
 * committed (PRAGMA data_version, asked once per transaction: inside one nobody else can commit), so
 * a read never returns what the database does not hold. Callers
 * get copies, as from the in-memory repository.
 */
import type { DatabaseSync } from 'node:sqlite';
import { equalBytes } from '../lib/bytes.ts';
import { ErrorCodes, StateError } from '../lib/errors.ts';
import {
  checkAddresses,
  checkSecret,
  contactNotFound,
  nameTaken,
  pickResolved,
  type ContactRecord,
  type ContactRepository,
} from './contacts.ts';
import { sealLabel, type Sealer } from './seal.ts';
import { blobColumn, blobOrNullColumn, intColumn, onRollback, stringListColumn, textColumn, textOrNullColumn, transaction, transactionEpoch, type Row, prepareCached } from './sql.ts';

const secretAd = (userId: string): Uint8Array => sealLabel('contacts', 'secret', userId);
const COLUMNS = 'user_id, name, public, verified, key_changed, addresses, created_at';

function toRecord(row: Row): ContactRecord {
  return {
    userId: textColumn(row, 'user_id'),
    name: textOrNullColumn(row, 'name'),
    publicKey: blobColumn(row, 'public'),
    verified: intColumn(row, 'verified') === 1,
    keyChanged: intColumn(row, 'key_changed') === 1,
    addresses: stringListColumn(row, 'addresses'),
    createdAt: intColumn(row, 'created_at'),
  };
}

/** Runs `fn` in a transaction unless one is open (then the caller's transaction covers it). */
function atomically<T>(db: DatabaseSync, fn: () => T): T {
  return db.isTransaction ? fn() : transaction(db, fn);
}

const copy = (c: ContactRecord): ContactRecord => ({ ...c, publicKey: c.publicKey.slice(), addresses: [...c.addresses] });

export function sqliteContactRepository(db: DatabaseSync, sealer: () => Sealer): ContactRepository {
  const one = db.prepare(`SELECT ${COLUMNS} FROM contacts WHERE user_id = ?`);
  const byId = new Map<string, ContactRecord>();
  const resolved = new Map<string, string>();
  const dataVersion = db.prepare('PRAGMA data_version');
  let version: unknown;
  let checkedIn = -1;
  const drop = (): void => {
    byId.clear();
    resolved.clear();
  };
  onRollback(db, drop);
  /** Drops the memory when another connection committed since it was filled (once per transaction). */
  const current = (): void => {
    const epoch = transactionEpoch(db);
    if (epoch !== -1 && epoch === checkedIn) return;
    const v = dataVersion.get()?.data_version;
    if (v !== version) {
      drop();
      version = v;
    }
    checkedIn = epoch;
  };
  const read = (userId: string): ContactRecord | undefined => {
    current();
    let c = byId.get(userId);
    if (c === undefined) {
      const row = one.get(userId);
      if (row === undefined) return undefined;
      c = toRecord(row);
      byId.set(userId, c);
    }
    return c;
  };
  /** Every write: what memory holds may be stale from here on, and again once the write is done. */
  const write = <T>(fn: () => T): T => {
    drop();
    try {
      return fn();
    } finally {
      drop();
    }
  };
  const byName = db.prepare('SELECT user_id FROM contacts WHERE name = ? AND user_id <> ?');
  const must = (userId: string): ContactRecord => {
    const row = one.get(userId);
    if (row === undefined) throw contactNotFound(userId);
    return toRecord(row);
  };
  const checkName = (name: string | null, except: string): void => {
    if (name !== null && byName.get(name, except) !== undefined) throw nameTaken();
  };
  const setFlags = db.prepare('UPDATE contacts SET verified = ?, key_changed = ? WHERE user_id = ?');
  return {
    add(n) {
      const addresses = checkAddresses(n.addresses ?? []);
      write(() => atomically(db, () => {
        if (one.get(n.userId) !== undefined) throw new StateError(ErrorCodes.ALREADY_EXISTS, 'contact already exists');
        checkName(n.name, n.userId);
        prepareCached(db, `INSERT INTO contacts (${COLUMNS}) VALUES (?, ?, ?, ?, 0, ?, ?)`).run(
          n.userId, n.name, n.publicKey, n.verified === true ? 1 : 0, JSON.stringify(addresses), n.createdAt,
        );
      }));
    },
    get(userId) {
      const c = read(userId);
      return c === undefined ? undefined : copy(c);
    },
    has: (userId) => read(userId) !== undefined,
    resolve(query) {
      current();
      const known = resolved.get(query);
      const hit = known === undefined ? undefined : byId.get(known);
      if (hit !== undefined) return copy(hit);
      const q = query.toLowerCase();
      // Prefix match with LIKE would treat % and _ as wildcards: compare a substring instead.
      const rows = prepareCached(db, `SELECT ${COLUMNS} FROM contacts WHERE name = ? OR (length(?) > 0 AND substr(user_id, 1, length(?)) = ?)`)
        .all(query, q, q, q);
      const c = pickResolved(query, rows.map(toRecord));
      resolved.set(query, c.userId);
      byId.set(c.userId, c);
      return copy(c);
    },
    list: () => prepareCached(db, `SELECT ${COLUMNS} FROM contacts ORDER BY created_at, user_id`).all().map(toRecord),
    rename(userId, name) {
      write(() => atomically(db, () => {
        must(userId);
        checkName(name, userId);
        prepareCached(db, 'UPDATE contacts SET name = ? WHERE user_id = ?').run(name, userId);
      }));
    },
    changeIdentity(userId, publicKey, now) {
      write(() => atomically(db, () => {
        const c = must(userId);
        if (equalBytes(c.publicKey, publicKey)) return;
        prepareCached(db, 'INSERT INTO contact_key_history (user_id, public, replaced_at) VALUES (?, ?, ?)').run(userId, c.publicKey, now);
        prepareCached(db, 'UPDATE contacts SET public = ?, key_changed = 1, verified = 0 WHERE user_id = ?').run(publicKey, userId);
      }));
    },
    setVerified(userId, verified) {
      write(() => {
        const c = must(userId);
        setFlags.run(verified ? 1 : 0, verified ? 0 : c.keyChanged ? 1 : 0, userId);
      });
    },
    acceptKeyChange(userId) {
      write(() => {
        const c = must(userId);
        setFlags.run(c.verified ? 1 : 0, 0, userId);
      });
    },
    keyHistory: (userId) =>
      prepareCached(db, 'SELECT public, replaced_at FROM contact_key_history WHERE user_id = ? ORDER BY replaced_at, rowid')
        .all(userId)
        .map((r) => ({ publicKey: blobColumn(r, 'public'), replacedAt: intColumn(r, 'replaced_at') })),
    setAddresses(userId, addresses) {
      const list = checkAddresses(addresses);
      write(() => {
        must(userId);
        prepareCached(db, 'UPDATE contacts SET addresses = ? WHERE user_id = ?').run(JSON.stringify(list), userId);
      });
    },
    getSecret(userId) {
      const row = prepareCached(db, 'SELECT secret FROM contacts WHERE user_id = ?').get(userId);
      if (row === undefined) throw contactNotFound(userId);
      const sealed = blobOrNullColumn(row, 'secret');
      return sealed === null ? undefined : sealer().open(sealed, secretAd(userId));
    },
    setSecret(userId, secret) {
      checkSecret(secret);
      must(userId);
      const sealed = secret === null ? null : sealer().seal(secret, secretAd(userId));
      prepareCached(db, 'UPDATE contacts SET secret = ? WHERE user_id = ?').run(sealed, userId);
    },
    remove: (userId) => write(() => prepareCached(db, 'DELETE FROM contacts WHERE user_id = ?').run(userId).changes > 0),
  };
}
