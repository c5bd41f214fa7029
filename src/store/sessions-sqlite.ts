/**
 * SessionRepository on the `sessions` table (migration 2): one row per contact, the encoded session
 * state sealed with the label sessions.state/<userId>, so a state copied to another contact's row
 * fails to open. Call put() inside store.transaction() with whatever the new state produced. The
 * states last used are also kept unsealed in memory (below), as a cache of the rows, never the record.
 */
import type { DatabaseSync } from 'node:sqlite';
import { sealLabel, type Sealer } from './seal.ts';
import { checkSessionState, type SessionRepository } from './sessions.ts';
import { blobColumn, onRollback, prepareCached, transactionEpoch } from './sql.ts';

const stateAd = (userId: string): Uint8Array => sealLabel('sessions', 'state', userId);
/** Unsealed states kept in memory (see below): the contacts a node talks to at once, not all of them. */
const STATES_KEPT = 64;

export function sqliteSessionRepository(db: DatabaseSync, sealer: () => Sealer): SessionRepository {
  const select = db.prepare('SELECT state FROM sessions WHERE user_id = ?');
  const exists = db.prepare('SELECT 1 AS x FROM sessions WHERE user_id = ?');
  const upsert = db.prepare(
    'INSERT INTO sessions (user_id, state, updated_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at',
  );
  // Inside one transaction (BEGIN IMMEDIATE holds the write lock: no other connection commits) `has`
  // answers from what the same transaction already asked or wrote: a group commit asks it once per
  // send for the same contact (docs/perf-node.md, sixth pass). Forgotten at the next transaction and
  // on any rollback (a savepoint's included).
  const known = new Map<string, boolean>();
  let knownIn = -1;
  const memo = (): Map<string, boolean> | undefined => {
    const epoch = transactionEpoch(db);
    if (epoch !== knownIn) {
      known.clear();
      knownIn = epoch;
    }
    return epoch === -1 ? undefined : known;
  };
  // The states last read or written, unsealed, kept across transactions: every encryption and every
  // ack reads its contact's state (a row of a few KiB and an unseal) and writes it back. Valid while no
  // other connection commits (PRAGMA data_version, asked once per transaction as contacts-sqlite.ts
  // does), dropped on any rollback (a savepoint's included); at most STATES_KEPT contacts, the least
  // recently used dropped first. Callers get copies.
  const states = new Map<string, Uint8Array>();
  const dataVersion = db.prepare('PRAGMA data_version');
  let version: unknown;
  let checkedIn = -1;
  const current = (): void => {
    const epoch = transactionEpoch(db);
    if (epoch !== -1 && epoch === checkedIn) return;
    const v = dataVersion.get()?.data_version;
    if (v !== version) {
      states.clear();
      version = v;
    }
    checkedIn = epoch;
  };
  const keep = (userId: string, state: Uint8Array): void => {
    states.delete(userId);
    states.set(userId, state);
    if (states.size > STATES_KEPT) states.delete(states.keys().next().value as string);
  };
  onRollback(db, () => {
    known.clear();
    states.clear();
  });
  return {
    get(userId) {
      current();
      const hit = states.get(userId);
      if (hit !== undefined) {
        keep(userId, hit);
        return hit.slice();
      }
      const row = select.get(userId);
      if (row === undefined) return undefined;
      const state = sealer().open(blobColumn(row, 'state'), stateAd(userId));
      keep(userId, state.slice());
      return state;
    },
    put(userId, state, now) {
      checkSessionState(state);
      current();
      upsert.run(userId, sealer().seal(state, stateAd(userId)), now);
      keep(userId, state.slice());
      memo()?.set(userId, true);
    },
    delete(userId) {
      current();
      const gone = prepareCached(db, 'DELETE FROM sessions WHERE user_id = ?').run(userId).changes > 0;
      states.delete(userId);
      memo()?.set(userId, false);
      return gone;
    },
    has(userId) {
      const m = memo();
      const hit = m?.get(userId);
      if (hit !== undefined) return hit;
      // Not `select`: that reads the whole sealed state (a few KiB) only to see that it exists.
      const found = exists.get(userId) !== undefined;
      m?.set(userId, found);
      return found;
    },
  };
}
