/**
 * SessionRepository on the `sessions` table (migration 2): one row per contact, the encoded session
 * state sealed with the label sessions.state/<userId>, so a state copied to another contact's row
 * fails to open. Call put() inside store.transaction() with whatever the new state produced.
 */
import type { DatabaseSync } from 'node:sqlite';
import { sealLabel, type Sealer } from './seal.ts';
import { checkSessionState, type SessionRepository } from './sessions.ts';
import { blobColumn, prepareCached } from './sql.ts';

const stateAd = (userId: string): Uint8Array => sealLabel('sessions', 'state', userId);

export function sqliteSessionRepository(db: DatabaseSync, sealer: () => Sealer): SessionRepository {
  const select = db.prepare('SELECT state FROM sessions WHERE user_id = ?');
  const exists = db.prepare('SELECT 1 AS x FROM sessions WHERE user_id = ?');
  const upsert = db.prepare(
    'INSERT INTO sessions (user_id, state, updated_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at',
  );
  return {
    get(userId) {
      const row = select.get(userId);
      return row === undefined ? undefined : sealer().open(blobColumn(row, 'state'), stateAd(userId));
    },
    put(userId, state, now) {
      checkSessionState(state);
      upsert.run(userId, sealer().seal(state, stateAd(userId)), now);
    },
    delete: (userId) => prepareCached(db, 'DELETE FROM sessions WHERE user_id = ?').run(userId).changes > 0,
    // Not `select`: that reads the whole sealed state (a few KiB) only to see that it exists.
    has: (userId) => exists.get(userId) !== undefined,
  };
}
