/**
 * The behaviour every KeyValueRepository must have (kv.compliance.test.ts runs it against the memory
 * and the sqlite store).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MAX_KV_KEY_LENGTH } from '../../../src/store/kv.ts';
import type { MakeSubject, StoreSubject } from './subjects.ts';

export function keyValueRepositoryCompliance(name: string, make: MakeSubject): void {
  describe(`KeyValueRepository compliance: ${name}`, () => {
    let s: StoreSubject;
    beforeEach(() => {
      s = make();
    });
    afterEach(() => s.close());
    const kv = () => s.store.kv;

    it('sets, replaces, reads, deletes; empty values are values', () => {
      assert.equal(kv().get('node.key'), undefined);
      kv().set('node.key', Uint8Array.of(1, 2, 3));
      kv().set('node.key', Uint8Array.of(4));
      kv().set('empty', new Uint8Array(0));
      assert.deepEqual(kv().get('node.key'), Uint8Array.of(4));
      assert.deepEqual(kv().get('empty'), new Uint8Array(0));
      assert.equal(kv().delete('node.key'), true);
      assert.equal(kv().delete('node.key'), false);
      assert.equal(kv().get('node.key'), undefined);
    });

    it('lists keys by prefix, sorted, with no wildcard meaning', () => {
      for (const k of ['invite.b', 'invite.a', 'inviteX', 'node.key', 'a%b', 'a_b']) kv().set(k, Uint8Array.of(1));
      assert.deepEqual(kv().keys('invite.'), ['invite.a', 'invite.b']);
      assert.deepEqual(kv().keys('a%'), ['a%b']);
      assert.deepEqual(kv().keys(''), ['a%b', 'a_b', 'invite.a', 'invite.b', 'inviteX', 'node.key']);
    });

    it('hands out copies and refuses bad keys', () => {
      const v = Uint8Array.of(9, 9);
      kv().set('k', v);
      v.fill(0);
      kv().get('k')?.fill(0);
      assert.deepEqual(kv().get('k'), Uint8Array.of(9, 9));
      assert.throws(() => kv().set('', Uint8Array.of(1)), { code: 'INVALID_ARGUMENT' });
      assert.throws(() => kv().set('x'.repeat(MAX_KV_KEY_LENGTH + 1), Uint8Array.of(1)), { code: 'INVALID_ARGUMENT' });
    });

    it('a throwing transaction changes nothing', () => {
      kv().set('a', Uint8Array.of(1));
      assert.throws(() =>
        s.store.transaction(() => {
          kv().set('a', Uint8Array.of(2));
          kv().set('b', Uint8Array.of(3));
          throw new Error('boom');
        }),
      );
      assert.deepEqual(kv().get('a'), Uint8Array.of(1));
      assert.equal(kv().get('b'), undefined);
    });
  });
}
