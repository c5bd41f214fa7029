/**
 * The behaviour every MailboxRepository must have (mailboxes.compliance.test.ts runs it against the
 * memory and the sqlite store).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { MailboxItem } from '../../../src/store/mailboxes.ts';
import type { MakeSubject, StoreSubject } from './subjects.ts';

export const box = (n: number): Uint8Array => new Uint8Array(32).fill(n);
export const itemId = (n: number): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => (n * 31 + i) & 0xff);
const blob = (n: number, length = 100): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * n + 7) & 0xff);

export function mailboxItem(b: number, n: number, more: Partial<MailboxItem> = {}): MailboxItem {
  return { address: box(b), id: itemId(n), blob: blob(n), expiresAt: 10_000, storedAt: 100 + n, ...more };
}

export function mailboxRepositoryCompliance(name: string, make: MakeSubject): void {
  describe(`MailboxRepository compliance: ${name}`, () => {
    let s: StoreSubject;
    beforeEach(() => {
      s = make();
    });
    afterEach(() => s.close());
    const repo = () => s.store.mailboxes;

    it('stores a blob as it is and refuses the same id twice in one mailbox', () => {
      assert.equal(repo().put(mailboxItem(1, 1)), 'stored');
      assert.equal(repo().put(mailboxItem(1, 1, { blob: blob(9) })), 'duplicate');
      assert.equal(repo().put(mailboxItem(2, 1)), 'stored', 'the same id in another mailbox is another item');
      assert.deepEqual(repo().list(box(1), 10), [mailboxItem(1, 1)]);
      assert.deepEqual(repo().list(box(3), 10), []);
    });

    it('lists oldest first (stored time, then insertion), with a limit', () => {
      repo().put(mailboxItem(1, 3, { storedAt: 300 }));
      repo().put(mailboxItem(1, 1, { storedAt: 100 }));
      repo().put(mailboxItem(1, 4, { storedAt: 100 }));
      repo().put(mailboxItem(1, 2, { storedAt: 200 }));
      repo().put(mailboxItem(2, 5, { storedAt: 50 }));
      assert.deepEqual(repo().list(box(1), 10).map((i) => i.id), [itemId(1), itemId(4), itemId(2), itemId(3)]);
      assert.deepEqual(repo().list(box(1), 2).map((i) => i.id), [itemId(1), itemId(4)]);
      assert.throws(() => repo().list(box(1), 0), { code: 'INVALID_ARGUMENT' });
    });

    it('removes named ids from one mailbox only and counts what was there', () => {
      for (const n of [1, 2, 3]) repo().put(mailboxItem(1, n));
      repo().put(mailboxItem(2, 1));
      assert.equal(repo().remove(box(1), [itemId(1), itemId(3), itemId(9), itemId(1)]), 2);
      assert.deepEqual(repo().list(box(1), 10).map((i) => i.id), [itemId(2)]);
      assert.equal(repo().list(box(2), 10).length, 1);
      assert.equal(repo().remove(box(3), [itemId(2)]), 0);
    });

    it('removes expired items (expiresAt <= now) across mailboxes', () => {
      repo().put(mailboxItem(1, 1, { expiresAt: 100 }));
      repo().put(mailboxItem(2, 2, { expiresAt: 150 }));
      repo().put(mailboxItem(2, 3, { expiresAt: 151 }));
      assert.equal(repo().removeExpired(150), 2);
      assert.equal(repo().removeExpired(150), 0);
      assert.deepEqual(repo().list(box(2), 10).map((i) => i.id), [itemId(3)]);
      assert.deepEqual(repo().totals(), { count: 1, bytes: 100 });
    });

    it('counts usage per mailbox and in total, through puts, duplicates and removals', () => {
      assert.deepEqual(repo().totals(), { count: 0, bytes: 0 });
      repo().put(mailboxItem(1, 1, { blob: blob(1, 10) }));
      repo().put(mailboxItem(1, 2, { blob: blob(2, 20) }));
      repo().put(mailboxItem(1, 2, { blob: blob(2, 999) }));
      repo().put(mailboxItem(2, 3, { blob: blob(3, 3_200) }));
      assert.deepEqual(repo().usage(box(1)), { count: 2, bytes: 30 });
      assert.deepEqual(repo().usage(box(2)), { count: 1, bytes: 3_200 });
      assert.deepEqual(repo().usage(box(9)), { count: 0, bytes: 0 });
      assert.deepEqual(repo().totals(), { count: 3, bytes: 3_230 });
      repo().remove(box(1), [itemId(1)]);
      assert.deepEqual(repo().usage(box(1)), { count: 1, bytes: 20 });
      assert.deepEqual(repo().totals(), { count: 2, bytes: 3_220 });
    });

    it('refuses malformed items', () => {
      assert.throws(() => repo().put(mailboxItem(1, 1, { address: new Uint8Array(31) })), { code: 'INVALID_LENGTH' });
      assert.throws(() => repo().put(mailboxItem(1, 1, { id: new Uint8Array(32) })), { code: 'INVALID_LENGTH' });
      assert.throws(() => repo().put(mailboxItem(1, 1, { blob: new Uint8Array(0) })), { code: 'LIMIT_EXCEEDED' });
      assert.throws(() => repo().put(mailboxItem(1, 1, { blob: new Uint8Array(3_201) })), { code: 'LIMIT_EXCEEDED' });
      assert.throws(() => repo().put(mailboxItem(1, 1, { expiresAt: 1.5 })), { code: 'INVALID_ARGUMENT' });
      assert.deepEqual(repo().totals(), { count: 0, bytes: 0 });
    });

    it('hands out copies and keeps its own', () => {
      const i = mailboxItem(1, 1);
      repo().put(i);
      i.blob.fill(0);
      i.address.fill(0);
      repo().list(box(1), 1)[0]?.blob.fill(0);
      assert.deepEqual(repo().list(box(1), 1), [mailboxItem(1, 1)]);
    });

    it('a throwing transaction stores, removes and counts nothing', () => {
      repo().put(mailboxItem(1, 1));
      repo().put(mailboxItem(1, 2, { expiresAt: 50 }));
      assert.throws(() =>
        s.store.transaction(() => {
          repo().put(mailboxItem(1, 3));
          repo().put(mailboxItem(2, 4));
          repo().remove(box(1), [itemId(1)]);
          repo().removeExpired(60);
          throw new Error('boom');
        }),
      );
      assert.deepEqual(repo().list(box(1), 10), [mailboxItem(1, 1), mailboxItem(1, 2, { expiresAt: 50 })]);
      assert.deepEqual(repo().list(box(2), 10), []);
      assert.deepEqual(repo().usage(box(1)), { count: 2, bytes: 200 });
      assert.deepEqual(repo().totals(), { count: 2, bytes: 200 });
      assert.equal(s.store.transaction(() => repo().put(mailboxItem(2, 4))), 'stored');
      assert.deepEqual(repo().totals(), { count: 3, bytes: 300 });
      assert.equal(repo().removeExpired(60), 1, 'the rolled-back sweep is undone entirely');
    });
  });
}
