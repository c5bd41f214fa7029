/**
 * The sqlite contact repository keeps records it read in memory (contacts-sqlite.ts): a write by
 * another connection to the same database must still be seen (PRAGMA data_version).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStore } from '../../../src/store/store.ts';
import { contact } from './contacts-compliance.ts';
import { fixedClock, seededRng, tempDir } from './helpers.ts';
import { uid } from './subjects.ts';

describe('sqlite contacts kept in memory', () => {
  it('sees what another connection committed', (t) => {
    const dir = tempDir(t);
    const a = openStore({ dir, create: true, rng: seededRng(1), clock: fixedClock });
    const b = openStore({ dir, create: false, rng: seededRng(2), clock: fixedClock });
    t.after(() => {
      a.close();
      b.close();
    });
    a.transaction(() => a.contacts.add(contact('alice')));
    assert.equal(b.contacts.resolve('alice').userId, uid('alice'));
    assert.equal(b.contacts.get(uid('alice'))?.verified, false);
    a.transaction(() => {
      a.contacts.rename(uid('alice'), 'ally');
      a.contacts.setVerified(uid('alice'), true);
    });
    assert.equal(b.contacts.get(uid('alice'))?.verified, true);
    assert.equal(b.contacts.resolve('alice').name, 'ally'); // (now by user-ID prefix)
    assert.equal(b.contacts.resolve('ally').userId, uid('alice'));
    a.transaction(() => a.contacts.remove(uid('alice')));
    assert.equal(b.contacts.get(uid('alice')), undefined);
  });
});
