/**
 * The behaviour every SessionRepository must have, with the store transaction it is used in
 * (sessions.compliance.test.ts runs it against the memory and the sqlite store).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MAX_SESSION_STATE_BYTES } from '../../../src/store/sessions.ts';
import { uid, type MakeSubject, type StoreSubject } from './subjects.ts';

const state = (n: number, length = 300): Uint8Array => Uint8Array.from({ length }, (_, i) => (i + n) & 0xff);
const msgId = (n: number): string => n.toString(16).padStart(32, '0');

export function sessionRepositoryCompliance(name: string, make: MakeSubject): void {
  describe(`SessionRepository compliance: ${name}`, () => {
    let s: StoreSubject;
    beforeEach(() => {
      s = make();
    });
    afterEach(() => s.close());
    const repo = () => s.store.sessions;

    it('is empty at first', () => {
      assert.equal(repo().get(uid('alice')), undefined);
      assert.equal(repo().has(uid('alice')), false);
      assert.equal(repo().delete(uid('alice')), false);
    });

    it('keeps one current state per contact: put replaces', () => {
      repo().put(uid('alice'), state(1), 10);
      repo().put(uid('bob'), state(2), 10);
      repo().put(uid('alice'), state(3, 5000), 11);
      assert.deepEqual(repo().get(uid('alice')), state(3, 5000));
      assert.deepEqual(repo().get(uid('bob')), state(2));
      assert.equal(repo().has(uid('alice')), true);
    });

    it('hands out copies and keeps its own', () => {
      const st = state(1);
      repo().put(uid('alice'), st, 10);
      st.fill(0);
      repo().get(uid('alice'))?.fill(0);
      assert.deepEqual(repo().get(uid('alice')), state(1));
    });

    it('deletes', () => {
      repo().put(uid('alice'), state(1), 10);
      assert.equal(repo().delete(uid('alice')), true);
      assert.equal(repo().get(uid('alice')), undefined);
    });

    it('refuses empty and oversized states', () => {
      assert.throws(() => repo().put(uid('alice'), new Uint8Array(0), 10), { code: 'INVALID_LENGTH' });
      assert.throws(() => repo().put(uid('alice'), new Uint8Array(MAX_SESSION_STATE_BYTES + 1), 10), { code: 'INVALID_LENGTH' });
    });

    it('a put inside a caller transaction commits with the message and outbox entry, or not at all', () => {
      repo().put(uid('alice'), state(1), 10);
      const send = (n: number, fail: boolean): void =>
        s.store.transaction(() => {
          repo().put(uid('alice'), state(n), 20);
          s.store.messages.add({
            id: msgId(n), contact: uid('alice'), direction: 'out', text: `hi ${n}`, status: 'queued', sentAt: 20, receivedAt: null, expiresAt: 99,
          });
          s.store.outbox.enqueue({
            messageId: msgId(n), contact: uid('alice'), wire: state(n, 40), attempts: 0, nextAttemptAt: 20, expiresAt: 99, state: 'queued', createdAt: 20,
          });
          if (fail) throw new Error('send failed before commit');
        });
      assert.throws(() => send(2, true), /send failed/);
      assert.deepEqual(repo().get(uid('alice')), state(1));
      assert.equal(s.store.messages.count(uid('alice')), 0);
      assert.equal(s.store.outbox.get(msgId(2)), undefined);
      send(3, false);
      assert.deepEqual(repo().get(uid('alice')), state(3));
      assert.equal(s.store.messages.count(uid('alice')), 1);
      assert.deepEqual(s.store.outbox.get(msgId(3))?.wire, state(3, 40));
    });

    it('nested transactions: an inner failure caught by the outer rolls back only the inner part', () => {
      s.store.transaction(() => {
        repo().put(uid('alice'), state(1), 10);
        assert.throws(() =>
          s.store.transaction(() => {
            repo().put(uid('alice'), state(2), 11);
            repo().put(uid('bob'), state(3), 11);
            throw new Error('inner');
          }),
        );
        repo().put(uid('carol'), state(4), 12);
      });
      assert.deepEqual(repo().get(uid('alice')), state(1));
      assert.equal(repo().get(uid('bob')), undefined);
      assert.deepEqual(repo().get(uid('carol')), state(4));
    });

    it('a transaction function that returns a promise is refused and rolled back', () => {
      assert.throws(() => s.store.transaction(() => {
        repo().put(uid('alice'), state(1), 10);
        return Promise.resolve(1);
      }), { code: 'INTERNAL' });
      assert.equal(repo().get(uid('alice')), undefined);
    });
  });
}
