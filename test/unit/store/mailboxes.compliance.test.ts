/**
 * Runs the MailboxRepository compliance suite against the in-memory and the sqlite implementation,
 * and checks that the sqlite one survives closing and reopening the store.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStore } from '../../../src/store/store.ts';
import { fixedClock, seededRng, tempDir } from './helpers.ts';
import { box, itemId, mailboxItem, mailboxRepositoryCompliance } from './mailboxes-compliance.ts';
import { SUBJECTS } from './subjects.ts';

for (const [name, make] of SUBJECTS) mailboxRepositoryCompliance(name, make);

describe('MailboxRepository on sqlite', () => {
  it('keeps items, order and totals across close and reopen', (t) => {
    const dir = tempDir(t);
    const open = (create: boolean) => openStore({ dir, create, rng: seededRng(), clock: fixedClock });
    const a = open(true);
    a.mailboxes.put(mailboxItem(1, 2, { storedAt: 200 }));
    a.mailboxes.put(mailboxItem(1, 1, { storedAt: 100 }));
    a.mailboxes.put(mailboxItem(2, 3));
    a.mailboxes.remove(box(2), [itemId(3)]);
    a.close();
    const b = open(false);
    try {
      assert.deepEqual(b.mailboxes.list(box(1), 10), [mailboxItem(1, 1, { storedAt: 100 }), mailboxItem(1, 2, { storedAt: 200 })]);
      assert.deepEqual(b.mailboxes.totals(), { count: 2, bytes: 200 });
      assert.equal(b.mailboxes.put(mailboxItem(1, 1)), 'duplicate');
    } finally {
      b.close();
    }
  });
});
