/**
 * The behaviour every MessageRepository must have (messages.compliance.test.ts runs it against the
 * memory and the sqlite store).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MAX_MESSAGE_TEXT_BYTES, type MessageRecord } from '../../../src/store/messages.ts';
import { uid, type MakeSubject, type StoreSubject } from './subjects.ts';

export const msgId = (n: number): string => n.toString(16).padStart(32, '0');

export function message(n: number, more: Partial<MessageRecord> = {}): MessageRecord {
  return { id: msgId(n), contact: uid('alice'), direction: 'out', text: `message ${n} ✓`, status: 'queued', sentAt: 1_000 + n, receivedAt: null, expiresAt: null, ...more };
}

export function incoming(n: number, more: Partial<MessageRecord> = {}): MessageRecord {
  return message(n, { direction: 'in', status: 'delivered', sentAt: 1, receivedAt: 1_000 + n, ...more });
}

export function messageRepositoryCompliance(name: string, make: MakeSubject): void {
  describe(`MessageRepository compliance: ${name}`, () => {
    let s: StoreSubject;
    beforeEach(() => {
      s = make();
    });
    afterEach(() => s.close());
    const repo = () => s.store.messages;

    it('adds and reads back exactly, including unicode text and nulls', () => {
      const m = message(1, { expiresAt: 9_999 });
      assert.equal(repo().add(m), true);
      assert.deepEqual(repo().get(m.contact, 'out', m.id), m);
      const i = incoming(2, { text: '' });
      assert.equal(repo().add(i), true);
      assert.deepEqual(repo().get(i.contact, 'in', i.id), i);
      assert.equal(repo().get(m.contact, 'in', m.id), undefined);
    });

    it('dedupes: the same (contact, direction, id) is added once; add says whether it was new', () => {
      assert.equal(repo().add(incoming(1)), true);
      assert.equal(repo().add(incoming(1, { text: 'replayed with other text' })), false);
      assert.equal(repo().get(uid('alice'), 'in', msgId(1))?.text, incoming(1).text);
      // Same id from another contact or in the other direction is another message.
      assert.equal(repo().add(incoming(1, { contact: uid('bob') })), true);
      assert.equal(repo().add(message(1)), true);
      assert.equal(repo().count(uid('alice')), 2);
      assert.equal(repo().count(uid('bob')), 1);
    });

    it('lists a contact by local time (receivedAt for incoming, sentAt for outgoing), then insertion', () => {
      repo().add(message(5, { sentAt: 300 }));
      repo().add(incoming(6, { sentAt: 1, receivedAt: 200 })); // claimed time 1 does not reorder
      repo().add(message(7, { sentAt: 200 }));
      repo().add(message(8, { sentAt: 100, contact: uid('bob') }));
      assert.deepEqual(repo().list(uid('alice')).map((m) => m.id), [msgId(6), msgId(7), msgId(5)]);
      assert.deepEqual(repo().list(uid('bob')).map((m) => m.id), [msgId(8)]);
      assert.deepEqual(repo().list(uid('carol')), []);
    });

    it('limit keeps the most recent, oldest first', () => {
      for (let n = 1; n <= 10; n++) repo().add(message(n));
      assert.deepEqual(repo().list(uid('alice'), { limit: 3 }).map((m) => m.id), [msgId(8), msgId(9), msgId(10)]);
      assert.deepEqual(repo().list(uid('alice'), { limit: 0 }), []);
      assert.equal(repo().list(uid('alice'), { limit: 100 }).length, 10);
    });

    it('updates status', () => {
      repo().add(message(1));
      assert.equal(repo().setStatus(uid('alice'), 'out', msgId(1), 'delivered'), true);
      assert.equal(repo().get(uid('alice'), 'out', msgId(1))?.status, 'delivered');
      assert.equal(repo().setStatus(uid('alice'), 'in', msgId(1), 'delivered'), false);
      assert.throws(() => repo().setStatus(uid('alice'), 'out', msgId(1), 'bogus' as 'sent'), { code: 'INVALID_ARGUMENT' });
    });

    it('marks an ack\'s outgoing messages delivered once, in one call, and says which', () => {
      repo().add(message(1));
      repo().add(message(2, { status: 'sent' }));
      repo().add(message(3, { status: 'delivered' }));
      repo().add(message(4, { status: 'expired' }));
      repo().add(incoming(5));
      repo().add(message(6, { contact: uid('bob') }));
      const ids = [1, 2, 3, 4, 5, 6, 7, 2].map(msgId);
      assert.deepEqual(repo().markDelivered(uid('alice'), ids).sort(), [1, 2, 4].map(msgId));
      for (const n of [1, 2, 3, 4]) assert.equal(repo().get(uid('alice'), 'out', msgId(n))?.status, 'delivered');
      assert.equal(repo().get(uid('alice'), 'in', msgId(5))?.status, 'delivered');
      assert.equal(repo().get(uid('bob'), 'out', msgId(6))?.status, 'queued');
      assert.deepEqual(repo().markDelivered(uid('alice'), ids), []);
      assert.deepEqual(repo().markDelivered(uid('alice'), []), []);
      assert.throws(() =>
        s.store.transaction(() => {
          repo().markDelivered(uid('bob'), [msgId(6)]);
          throw new Error('boom');
        }),
      );
      assert.equal(repo().get(uid('bob'), 'out', msgId(6))?.status, 'queued');
    });

    it('expires undelivered outgoing messages past expiresAt, once', () => {
      repo().add(message(1, { expiresAt: 100, status: 'sent' }));
      repo().add(message(2, { expiresAt: 100, status: 'delivered' }));
      repo().add(message(3, { expiresAt: 500, status: 'queued' }));
      repo().add(message(4, { expiresAt: null, status: 'queued' }));
      repo().add(incoming(5, { expiresAt: 100 }));
      repo().add(message(6, { expiresAt: 50, status: 'held', contact: uid('bob') }));
      const expired = repo().expire(100);
      assert.deepEqual(expired.map((m) => m.id).sort(), [msgId(1), msgId(6)]);
      assert.ok(expired.every((m) => m.status === 'expired'));
      assert.equal(repo().get(uid('alice'), 'out', msgId(1))?.status, 'expired');
      assert.equal(repo().get(uid('alice'), 'out', msgId(2))?.status, 'delivered');
      assert.deepEqual(repo().expire(100), []);
      assert.deepEqual(repo().expire(1_000).map((m) => m.id), [msgId(3)]);
    });

    it('a delivered message set to another status is undelivered again: it can expire, and an ack delivers it', () => {
      repo().add(message(1, { expiresAt: 100 }));
      repo().add(message(2, { expiresAt: 100 }));
      assert.deepEqual(repo().markDelivered(uid('alice'), [msgId(1), msgId(2)]).sort(), [msgId(1), msgId(2)]);
      assert.equal(repo().setStatus(uid('alice'), 'out', msgId(1), 'sent'), true);
      assert.equal(repo().get(uid('alice'), 'out', msgId(1))?.status, 'sent');
      assert.equal(repo().setStatus(uid('alice'), 'out', msgId(2), 'failed'), true);
      assert.deepEqual(repo().expire(100).map((m) => m.id), [msgId(1)], 'a failed message does not expire');
      assert.equal(repo().setStatus(uid('alice'), 'out', msgId(2), 'queued'), true);
      assert.deepEqual(repo().expire(100).map((m) => m.id), [msgId(2)], 'queued again: it expires with its expiresAt');
      assert.deepEqual(repo().markDelivered(uid('alice'), [msgId(1), msgId(2)]).sort(), [msgId(1), msgId(2)]);
      assert.equal(repo().setStatus(uid('alice'), 'out', msgId(1), 'delivered'), true);
      assert.deepEqual(repo().markDelivered(uid('alice'), [msgId(1)]), []);
      assert.ok(repo().list(uid('alice')).every((m) => m.status === 'delivered'));
      assert.deepEqual(repo().expire(1_000), []);
    });

    it('a contact removed and its message ids used again start undelivered', () => {
      repo().add(message(1, { expiresAt: 100 }));
      assert.equal(repo().removeContact(uid('alice')), 1);
      repo().add(message(1, { expiresAt: 200 }));
      assert.equal(repo().get(uid('alice'), 'out', msgId(1))?.status, 'queued');
      assert.deepEqual(repo().expire(100), []);
      assert.deepEqual(repo().markDelivered(uid('alice'), [msgId(1)]), [msgId(1)]);
    });

    it('refuses malformed ids, directions and oversized text', () => {
      assert.throws(() => repo().add(message(1, { id: 'not-hex' })), { code: 'INVALID_ARGUMENT' });
      assert.throws(() => repo().add(message(1, { id: msgId(1).toUpperCase().replace(/0/g, 'A') })), { code: 'INVALID_ARGUMENT' });
      assert.throws(() => repo().add(message(1, { direction: 'up' as 'in' })), { code: 'INVALID_ARGUMENT' });
      assert.throws(() => repo().add(message(1, { text: 'x'.repeat(MAX_MESSAGE_TEXT_BYTES + 1) })), { code: 'LIMIT_EXCEEDED' });
      assert.equal(repo().count(uid('alice')), 0);
    });

    it('removes a contact\'s messages only', () => {
      repo().add(message(1));
      repo().add(incoming(2));
      repo().add(message(3, { contact: uid('bob') }));
      assert.equal(repo().removeContact(uid('alice')), 2);
      assert.equal(repo().count(uid('alice')), 0);
      assert.equal(repo().count(uid('bob')), 1);
    });

    it('a throwing transaction adds nothing and changes no status', () => {
      repo().add(message(1));
      assert.throws(() =>
        s.store.transaction(() => {
          repo().add(incoming(2));
          repo().setStatus(uid('alice'), 'out', msgId(1), 'delivered');
          throw new Error('boom');
        }),
      );
      assert.equal(repo().count(uid('alice')), 1);
      assert.equal(repo().get(uid('alice'), 'out', msgId(1))?.status, 'queued');
      assert.equal(repo().add(incoming(2)), true, 'a rolled-back message is still new');
    });
  });
}
