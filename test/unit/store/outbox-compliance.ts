/**
 * The behaviour every OutboxRepository must have (outbox.compliance.test.ts runs it against the
 * memory and the sqlite store).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { OutboxItem } from '../../../src/store/outbox.ts';
import { msgId } from './messages-compliance.ts';
import { uid, type MakeSubject, type StoreSubject } from './subjects.ts';

const wire = (n: number): Uint8Array => Uint8Array.from({ length: 120 }, (_, i) => (i * n) & 0xff);

export function item(n: number, more: Partial<OutboxItem> = {}): OutboxItem {
  return { messageId: msgId(n), contact: uid('alice'), wire: wire(n), attempts: 0, nextAttemptAt: 100 + n, expiresAt: 10_000, state: 'queued', createdAt: 50 + n, ...more };
}

export function outboxRepositoryCompliance(name: string, make: MakeSubject): void {
  describe(`OutboxRepository compliance: ${name}`, () => {
    let s: StoreSubject;
    beforeEach(() => {
      s = make();
    });
    afterEach(() => s.close());
    const repo = () => s.store.outbox;

    it('enqueues and reads back the wire bytes as they are', () => {
      repo().enqueue(item(1));
      assert.deepEqual(repo().get(msgId(1)), item(1));
      assert.equal(repo().get(msgId(2)), undefined);
      assert.throws(() => repo().enqueue(item(1, { contact: uid('bob') })), { code: 'ALREADY_EXISTS' });
      assert.deepEqual(repo().get(msgId(1)), item(1));
    });

    it('lists due entries earliest first, skipping future and expired ones, with a limit', () => {
      repo().enqueue(item(3, { nextAttemptAt: 300 }));
      repo().enqueue(item(1, { nextAttemptAt: 100 }));
      repo().enqueue(item(2, { nextAttemptAt: 200 }));
      repo().enqueue(item(4, { nextAttemptAt: 150, expiresAt: 250 }));
      repo().enqueue(item(5, { nextAttemptAt: 1_000 }));
      assert.deepEqual(repo().due(250).map((i) => i.messageId), [msgId(1), msgId(2)]);
      assert.deepEqual(repo().due(249).map((i) => i.messageId), [msgId(1), msgId(4), msgId(2)]);
      assert.deepEqual(repo().due(1_000, 2).map((i) => i.messageId), [msgId(1), msgId(2)]);
      assert.equal(repo().nextDueAt(), 100);
    });

    it('updates state, attempts, next attempt and wire; unknown ids are false', () => {
      repo().enqueue(item(1));
      assert.equal(repo().update(msgId(1), { state: 'sent', attempts: 1, nextAttemptAt: 5_000 }), true);
      assert.deepEqual(repo().get(msgId(1)), item(1, { state: 'sent', attempts: 1, nextAttemptAt: 5_000 }));
      assert.equal(repo().update(msgId(1), { wire: wire(9) }), true);
      assert.deepEqual(repo().get(msgId(1))?.wire, wire(9));
      assert.equal(repo().get(msgId(1))?.state, 'sent');
      assert.equal(repo().update(msgId(2), { state: 'held' }), false);
      assert.throws(() => repo().update(msgId(1), { state: 'gone' as 'held' }), { code: 'INVALID_ARGUMENT' });
      assert.throws(() => repo().update(msgId(1), { attempts: -1 }), { code: 'INVALID_ARGUMENT' });
    });

    it('removes on ack only for the contact the entry belongs to', () => {
      repo().enqueue(item(1));
      assert.equal(repo().remove(uid('mallory'), msgId(1)), false);
      assert.ok(repo().get(msgId(1)));
      assert.equal(repo().remove(uid('alice'), msgId(1)), true);
      assert.equal(repo().remove(uid('alice'), msgId(1)), false);
      assert.equal(repo().nextDueAt(), undefined);
    });

    it('lists a contact\'s entries oldest first', () => {
      repo().enqueue(item(2, { createdAt: 20 }));
      repo().enqueue(item(1, { createdAt: 10 }));
      repo().enqueue(item(3, { contact: uid('bob') }));
      assert.deepEqual(repo().forContact(uid('alice')).map((i) => i.messageId), [msgId(1), msgId(2)]);
      assert.deepEqual(repo().forContact(uid('alice'), 1).map((i) => i.messageId), [msgId(1)]);
      assert.deepEqual(repo().forContact(uid('alice'), 5).map((i) => i.messageId), [msgId(1), msgId(2)]);
      assert.deepEqual(repo().forContact(uid('alice'), 0), []);
    });

    it('lists a contact\'s entries without those it is told to skip', () => {
      for (const n of [1, 2, 3, 4]) repo().enqueue(item(n, { createdAt: 10 * n }));
      repo().enqueue(item(5, { contact: uid('bob'), createdAt: 1 }));
      assert.deepEqual(repo().forContact(uid('alice'), undefined, [msgId(1), msgId(3), msgId(5)]).map((i) => i.messageId), [msgId(2), msgId(4)]);
      assert.deepEqual(repo().forContact(uid('alice'), 1, [msgId(1)]).map((i) => i.messageId), [msgId(2)]);
      assert.deepEqual(repo().forContact(uid('alice'), 5, []).map((i) => i.messageId), [1, 2, 3, 4].map(msgId));
      assert.deepEqual(repo().forContact(uid('alice'), undefined, [1, 2, 3, 4].map(msgId)), []);
    });

    it('lists a contact\'s entries after a given one only, and none when that one is not the contact\'s', () => {
      for (const n of [1, 2, 3, 4, 5]) repo().enqueue(item(n, { createdAt: n === 5 ? 30 : 10 * n }));
      repo().enqueue(item(6, { contact: uid('bob'), createdAt: 1 }));
      // Order: 1 (10), 2 (20), 3 (30), 5 (30, enqueued after 3), 4 (40).
      assert.deepEqual(repo().forContact(uid('alice'), undefined, undefined, msgId(2)).map((i) => i.messageId), [3, 5, 4].map(msgId));
      assert.deepEqual(repo().forContact(uid('alice'), undefined, undefined, msgId(3)).map((i) => i.messageId), [5, 4].map(msgId));
      assert.deepEqual(repo().forContact(uid('alice'), 1, undefined, msgId(1)).map((i) => i.messageId), [msgId(2)]);
      assert.deepEqual(repo().forContact(uid('alice'), undefined, [msgId(3)], msgId(1)).map((i) => i.messageId), [2, 5, 4].map(msgId));
      assert.deepEqual(repo().forContact(uid('alice'), undefined, undefined, msgId(4)), []);
      assert.deepEqual(repo().forContact(uid('alice'), undefined, undefined, msgId(6)), [], 'another contact\'s entry');
      assert.deepEqual(repo().forContact(uid('alice'), undefined, undefined, msgId(9)), [], 'no such entry');
      assert.equal(repo().remove(uid('alice'), msgId(2)), true);
      assert.deepEqual(repo().forContact(uid('alice'), undefined, undefined, msgId(2)), [], 'an entry gone');
    });

    it('counts a contact\'s entries up to a given one, in the order it lists them', () => {
      for (const n of [1, 2, 3, 4, 5]) repo().enqueue(item(n, { createdAt: n === 5 ? 30 : 10 * n }));
      repo().enqueue(item(6, { contact: uid('bob'), createdAt: 1 }));
      // Order: 1 (10), 2 (20), 3 (30), 5 (30, enqueued after 3), 4 (40).
      assert.deepEqual([1, 2, 3, 5, 4].map((n) => repo().countThrough(uid('alice'), msgId(n))), [1, 2, 3, 4, 5]);
      assert.equal(repo().countThrough(uid('bob'), msgId(6)), 1);
      assert.equal(repo().countThrough(uid('alice'), msgId(6)), 0, 'another contact\'s entry');
      assert.equal(repo().countThrough(uid('alice'), msgId(9)), 0, 'no such entry');
      assert.equal(repo().remove(uid('alice'), msgId(2)), true);
      assert.equal(repo().countThrough(uid('alice'), msgId(4)), 4);
    });

    it('removes a whole ack\'s entries at once, only the contact\'s, and says which', () => {
      for (const n of [1, 2, 3]) repo().enqueue(item(n));
      repo().enqueue(item(4, { contact: uid('bob') }));
      assert.deepEqual(repo().removeMany(uid('alice'), [1, 3, 4, 5, 3].map(msgId)).sort(), [msgId(1), msgId(3)]);
      assert.deepEqual(repo().forContact(uid('alice')).map((i) => i.messageId), [msgId(2)]);
      assert.ok(repo().get(msgId(4)));
      assert.deepEqual(repo().removeMany(uid('alice'), [msgId(1)]), []);
      assert.deepEqual(repo().removeMany(uid('alice'), []), []);
      assert.throws(() =>
        s.store.transaction(() => {
          repo().removeMany(uid('bob'), [msgId(4)]);
          throw new Error('boom');
        }),
      );
      assert.ok(repo().get(msgId(4)));
    });

    it('makes a contact\'s held entries not due yet due now, and nothing else', () => {
      repo().enqueue(item(1, { state: 'held', nextAttemptAt: 500 }));
      repo().enqueue(item(2, { state: 'held', nextAttemptAt: 50 }));
      repo().enqueue(item(3, { state: 'queued', nextAttemptAt: 500 }));
      repo().enqueue(item(4, { state: 'held', nextAttemptAt: 500, contact: uid('bob') }));
      assert.equal(repo().wakeHeld(uid('alice'), 100), 1);
      assert.deepEqual([1, 2, 3, 4].map((n) => repo().get(msgId(n))?.nextAttemptAt), [100, 50, 500, 500]);
      assert.equal(repo().wakeHeld(uid('alice'), 100), 0);
      assert.throws(() =>
        s.store.transaction(() => {
          repo().wakeHeld(uid('bob'), 100);
          throw new Error('boom');
        }),
      );
      assert.equal(repo().get(msgId(4))?.nextAttemptAt, 500);
    });

    it('removes expired entries and returns them', () => {
      repo().enqueue(item(1, { expiresAt: 100 }));
      repo().enqueue(item(2, { expiresAt: 200 }));
      assert.deepEqual(repo().removeExpired(150).map((i) => i.messageId), [msgId(1)]);
      assert.equal(repo().get(msgId(1)), undefined);
      assert.deepEqual(repo().removeExpired(150), []);
    });

    it('counts by state', () => {
      assert.deepEqual(repo().counts(), { queued: 0, sent: 0, held: 0 });
      repo().enqueue(item(1));
      repo().enqueue(item(2));
      repo().enqueue(item(3, { state: 'held' }));
      repo().enqueue(item(4, { state: 'sent' }));
      assert.deepEqual(repo().counts(), { queued: 2, sent: 1, held: 1 });
    });

    it('hands out copies and keeps its own', () => {
      const i = item(1);
      repo().enqueue(i);
      i.wire.fill(0);
      repo().get(msgId(1))?.wire.fill(0);
      assert.deepEqual(repo().get(msgId(1))?.wire, wire(1));
    });

    it('a throwing transaction neither enqueues nor removes', () => {
      repo().enqueue(item(1));
      assert.throws(() =>
        s.store.transaction(() => {
          repo().enqueue(item(2));
          repo().remove(uid('alice'), msgId(1));
          repo().update(msgId(2), { state: 'sent' });
          throw new Error('boom');
        }),
      );
      assert.deepEqual(repo().get(msgId(1)), item(1));
      assert.equal(repo().get(msgId(2)), undefined);
    });
  });
}
