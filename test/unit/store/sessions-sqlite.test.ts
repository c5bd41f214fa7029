/**
 * The sqlite session repository answers `has` from memory within one transaction (sessions-sqlite.ts):
 * what the transaction wrote, deleted or rolled back — a savepoint's rollback included — and what
 * another connection committed between transactions must all be seen.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStore } from '../../../src/store/store.ts';
import { fixedClock, seededRng, tempDir } from './helpers.ts';
import { uid } from './subjects.ts';

const state = new Uint8Array([1, 2, 3]);

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
