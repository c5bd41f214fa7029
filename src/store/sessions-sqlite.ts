/**
 * SessionRepository on the `sessions` table (migration 2): one row per contact, the encoded session
 * state sealed with the label sessions.state/<userId>, so a state copied to another contact's row
 * fails to open. Call put() inside store.transaction() with whatever the new state produced.
 */
import type { DatabaseSync } from 'node:sqlite';
import { sealLabel, type Sealer } from './seal.ts';
import { checkSessionState, type SessionRepository } from './sessions.ts';
import { blobColumn, onRollback, prepareCached, transactionEpoch } from './sql.ts';

const stateAd = (userId: string): Uint8Array => sealLabel('sessions', 'state', userId);

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
  onRollback(db, () => known.clear());
  return {
    get(userId) {
      const row = select.get(userId);
      return row === undefined ? undefined : sealer().open(blobColumn(row, 'state'), stateAd(userId));
    },
    put(userId, state, now) {
      checkSessionState(state);
      upsert.run(userId, sealer().seal(state, stateAd(userId)), now);
      memo()?.set(userId, true);
    },
    delete(userId) {
      const gone = prepareCached(db, 'DELETE FROM sessions WHERE user_id = ?').run(userId).changes > 0;
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
