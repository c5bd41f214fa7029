/**
 * The sqlite session repository answers `has` from memory within one transaction (sessions-sqlite.ts):
 * what the transaction wrote, deleted or rolled back — a savepoint's rollback included — and what
 * another connection committed between transactions must all be seen. States read or written are
 * kept unsealed in memory across transactions, and read from the row again after a rollback or another
 * connection's commit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { migrate } from '../../../src/store/migrations.ts';
import { createSealer, type Sealer } from '../../../src/store/seal.ts';
import type { SessionRepository } from '../../../src/store/sessions.ts';
import { sqliteSessionRepository } from '../../../src/store/sessions-sqlite.ts';
import { openSqlite, transaction } from '../../../src/store/sql.ts';
import { DB_FILE, openStore } from '../../../src/store/store.ts';
import { fixedClock, seededRng, tempDir } from './helpers.ts';
import { uid } from './subjects.ts';

const state = new Uint8Array([1, 2, 3]);
const KEY = new Uint8Array(32).fill(0x42);

describe('sqlite sessions: has() within a transaction', () => {
  it('sees puts and deletes of the same transaction, and forgets a rolled-back put', (t) => {
    const dir = tempDir(t);
    const s = openStore({ dir, create: true, rng: seededRng(1), clock: fixedClock });
    t.after(() => s.close());
    const bob = uid('bob');
    s.transaction(() => {
      assert.equal(s.sessions.has(bob), false);
      assert.throws(() =>
        s.transaction(() => {
          s.sessions.put(bob, state, 1);
          assert.equal(s.sessions.has(bob), true);
          throw new Error('roll back');
        }),
      );
      assert.equal(s.sessions.has(bob), false, 'the savepoint rolled the put back');
      s.sessions.put(bob, state, 1);
      assert.equal(s.sessions.has(bob), true);
      s.sessions.delete(bob);
      assert.equal(s.sessions.has(bob), false);
      s.sessions.put(bob, state, 2);
    });
    assert.equal(s.sessions.has(bob), true);
    assert.throws(() =>
      s.transaction(() => {
        s.sessions.delete(bob);
        assert.equal(s.sessions.has(bob), false);
        throw new Error('roll back');
      }),
    );
    s.transaction(() => assert.equal(s.sessions.has(bob), true, 'the transaction rolled the delete back'));
  });

  it('sees what another connection committed since its last transaction', (t) => {
    const dir = tempDir(t);
    const a = openStore({ dir, create: true, rng: seededRng(1), clock: fixedClock });
    a.transaction(() => a.sessions.put(uid('carol'), state, 1)); // (creates the storage key)
    const b = openStore({ dir, create: false, rng: seededRng(2), clock: fixedClock });
    t.after(() => {
      a.close();
      b.close();
    });
    const bob = uid('bob');
    b.transaction(() => assert.equal(b.sessions.has(bob), false));
    a.transaction(() => a.sessions.put(bob, state, 1));
    b.transaction(() => assert.equal(b.sessions.has(bob), true));
    assert.equal(b.sessions.has(bob), true);
    a.transaction(() => a.sessions.delete(bob));
    b.transaction(() => assert.equal(b.sessions.has(bob), false));
  });
});

describe('sqlite sessions: states kept in memory', () => {
  /** A repository on its own connection whose sealer counts the unseals (each one a read of the row). */
  function counted(path: string): { db: DatabaseSync; repo: SessionRepository; opens: () => number } {
    const db = openSqlite(path);
    migrate(db, fixedClock);
    const inner = createSealer(KEY, seededRng(3));
    let opens = 0;
    const sealer: Sealer = {
      seal: (p, ad) => inner.seal(p, ad),
      open: (c, ad) => {
        opens++;
        return inner.open(c, ad);
      },
    };
    return { db, repo: sqliteSessionRepository(db, () => sealer), opens: () => opens };
  }
  const one = new Uint8Array([1, 2, 3]);
  const two = new Uint8Array([4, 5, 6, 7]);

  it('reads a state written or read before from memory, a copy each time', (t) => {
    const { db, repo, opens } = counted(join(tempDir(t), DB_FILE));
    t.after(() => db.close());
    const bob = uid('bob');
    transaction(db, () => repo.put(bob, one, 1));
    const got = transaction(db, () => repo.get(bob));
    assert.deepEqual(got, one);
    got?.fill(9);
    assert.deepEqual(repo.get(bob), one, 'a copy: the caller changing it changes nothing kept');
    assert.equal(opens(), 0, 'no row read and unsealed');
    assert.equal(repo.get(uid('carol')), undefined);
  });

  it('reads the row again after a rollback or another connection\'s commit', (t) => {
    const path = join(tempDir(t), DB_FILE);
    const a = counted(path);
    const b = counted(path);
    t.after(() => {
      a.db.close();
      b.db.close();
    });
    const bob = uid('bob');
    transaction(a.db, () => a.repo.put(bob, one, 1));
    assert.throws(() =>
      transaction(a.db, () => {
        a.repo.put(bob, two, 2);
        assert.deepEqual(a.repo.get(bob), two);
        throw new Error('roll back');
      }),
    );
    assert.deepEqual(a.repo.get(bob), one, 'the rolled-back state is gone');
    assert.equal(a.opens(), 1);
    transaction(b.db, () => b.repo.put(bob, two, 3));
    assert.deepEqual(transaction(a.db, () => a.repo.get(bob)), two, 'what the other connection committed');
    assert.equal(a.opens(), 2);
    transaction(a.db, () => assert.equal(a.repo.delete(bob), true));
    assert.equal(a.repo.get(bob), undefined);
  });
});
