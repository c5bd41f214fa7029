/**
 * The behaviour every ContactRepository must have (contacts.compliance.test.ts runs it against the
 * memory and the sqlite store). Add a case here, not in one implementation's test.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { NewContact } from '../../../src/store/contacts.ts';
import { MAX_CONTACT_ADDRESSES } from '../../../src/store/contacts.ts';
import { uid, type MakeSubject, type StoreSubject } from './subjects.ts';

const key = (n: number): Uint8Array => Uint8Array.from({ length: 66 }, (_, i) => (i * 7 + n) & 0xff);

export function contact(tag: string, more: Partial<NewContact> = {}): NewContact {
  return { userId: uid(tag), name: tag, publicKey: key(tag.length), createdAt: 1_000 + tag.length, ...more };
}

export function contactRepositoryCompliance(name: string, make: MakeSubject): void {
  describe(`ContactRepository compliance: ${name}`, () => {
    let s: StoreSubject;
    beforeEach(() => {
      s = make();
    });
    afterEach(() => s.close());
    const repo = () => s.store.contacts;

    it('adds and reads back, unverified, no key change, with addresses', () => {
      repo().add(contact('alice', { addresses: ['/ip4/1.2.3.4/tcp/1'] }));
      assert.deepEqual(repo().get(uid('alice')), {
        userId: uid('alice'), name: 'alice', publicKey: key(5), verified: false, keyChanged: false,
        addresses: ['/ip4/1.2.3.4/tcp/1'], createdAt: 1_005,
      });
      assert.equal(repo().get(uid('bob')), undefined);
      assert.equal(repo().has(uid('alice')), true);
      assert.equal(repo().has(uid('bob')), false);
      repo().remove(uid('alice'));
      assert.equal(repo().has(uid('alice')), false);
    });

    it('refuses a second contact with the same user ID or the same name; null names never clash', () => {
      repo().add(contact('alice'));
      assert.throws(() => repo().add(contact('alice', { name: 'other' })), { code: 'ALREADY_EXISTS' });
      assert.throws(() => repo().add(contact('bob', { name: 'alice' })), { code: 'ALREADY_EXISTS' });
      repo().add(contact('carol', { name: null }));
      repo().add(contact('dave', { name: null }));
      assert.equal(repo().list().length, 3);
    });

    it('lists oldest first (createdAt, then user ID)', () => {
      repo().add(contact('bb', { createdAt: 5 }));
      repo().add(contact('aa', { createdAt: 5 }));
      repo().add(contact('cc', { createdAt: 1 }));
      assert.deepEqual(repo().list().map((c) => c.name), ['cc', 'aa', 'bb']);
    });

    it('resolves by name, by exact user ID, by unique prefix (any case); ambiguous and unknown are typed', () => {
      repo().add(contact('alice', { userId: 'abcd' + 'a'.repeat(28) }));
      repo().add(contact('alex', { userId: 'abce' + 'b'.repeat(28) }));
      assert.equal(repo().resolve('alice').name, 'alice');
      assert.equal(repo().resolve('abcd').name, 'alice');
      assert.equal(repo().resolve('ABCE').name, 'alex');
      assert.equal(repo().resolve('abce' + 'b'.repeat(28)).name, 'alex');
      assert.throws(() => repo().resolve('abc'), { code: 'INVALID_ARGUMENT' });
      assert.throws(() => repo().resolve('zzz'), { code: 'NOT_FOUND' });
      assert.throws(() => repo().resolve(''), { code: 'NOT_FOUND' });
      assert.throws(() => repo().resolve('%'), { code: 'NOT_FOUND' });
      assert.throws(() => repo().resolve('ab_d'), { code: 'NOT_FOUND' });
    });

    it('a name wins over a user-ID prefix', () => {
      repo().add(contact('alice', { userId: 'abcd' + 'a'.repeat(28) }));
      repo().add(contact('bob', { name: 'abcd' }));
      assert.equal(repo().resolve('abcd').name, 'abcd');
    });

    it('renames, keeping names unique; unknown contacts are NOT_FOUND', () => {
      repo().add(contact('alice'));
      repo().add(contact('bob'));
      repo().rename(uid('alice'), 'ally');
      assert.equal(repo().resolve('ally').userId, uid('alice'));
      assert.throws(() => repo().rename(uid('alice'), 'bob'), { code: 'ALREADY_EXISTS' });
      repo().rename(uid('alice'), 'ally'); // its own name again is fine
      repo().rename(uid('alice'), null);
      assert.equal(repo().get(uid('alice'))?.name, null);
      assert.throws(() => repo().rename(uid('nobody'), 'x'), { code: 'NOT_FOUND' });
    });

    it('a key change keeps the old identity in the history, sets keyChanged and clears verified', () => {
      repo().add(contact('alice', { verified: true }));
      assert.equal(repo().get(uid('alice'))?.verified, true);
      repo().changeIdentity(uid('alice'), key(99), 2_000);
      const c = repo().get(uid('alice'));
      assert.deepEqual(c?.publicKey, key(99));
      assert.equal(c?.keyChanged, true);
      assert.equal(c?.verified, false);
      repo().changeIdentity(uid('alice'), key(100), 3_000);
      assert.deepEqual(repo().keyHistory(uid('alice')), [
        { publicKey: key(5), replacedAt: 2_000 },
        { publicKey: key(99), replacedAt: 3_000 },
      ]);
    });

    it('the same identity again is not a key change', () => {
      repo().add(contact('alice', { verified: true }));
      repo().changeIdentity(uid('alice'), key(5), 2_000);
      assert.equal(repo().get(uid('alice'))?.keyChanged, false);
      assert.equal(repo().get(uid('alice'))?.verified, true);
      assert.deepEqual(repo().keyHistory(uid('alice')), []);
    });

    it('verifying or accepting clears keyChanged; un-verifying keeps it', () => {
      repo().add(contact('alice'));
      repo().changeIdentity(uid('alice'), key(99), 2_000);
      repo().setVerified(uid('alice'), false);
      assert.equal(repo().get(uid('alice'))?.keyChanged, true);
      repo().acceptKeyChange(uid('alice'));
      assert.deepEqual([repo().get(uid('alice'))?.keyChanged, repo().get(uid('alice'))?.verified], [false, false]);
      repo().changeIdentity(uid('alice'), key(98), 3_000);
      repo().setVerified(uid('alice'), true);
      assert.deepEqual([repo().get(uid('alice'))?.keyChanged, repo().get(uid('alice'))?.verified], [false, true]);
      assert.throws(() => repo().setVerified(uid('nobody'), true), { code: 'NOT_FOUND' });
      assert.throws(() => repo().changeIdentity(uid('nobody'), key(1), 1), { code: 'NOT_FOUND' });
    });

    it('replaces addresses, within limits', () => {
      repo().add(contact('alice'));
      repo().setAddresses(uid('alice'), ['/ip4/5.6.7.8/tcp/2', '/ip6/::1/tcp/3']);
      assert.deepEqual(repo().get(uid('alice'))?.addresses, ['/ip4/5.6.7.8/tcp/2', '/ip6/::1/tcp/3']);
      repo().setAddresses(uid('alice'), []);
      assert.deepEqual(repo().get(uid('alice'))?.addresses, []);
      const many = Array.from({ length: MAX_CONTACT_ADDRESSES + 1 }, (_, i) => `/ip4/1.1.1.${i}/tcp/1`);
      assert.throws(() => repo().setAddresses(uid('alice'), many), { code: 'LIMIT_EXCEEDED' });
      assert.throws(() => repo().setAddresses(uid('alice'), ['']), { code: 'INVALID_ARGUMENT' });
      assert.throws(() => repo().setAddresses(uid('nobody'), []), { code: 'NOT_FOUND' });
    });

    it('keeps the pairwise secret (32 bytes), clears it, and hands out copies', () => {
      repo().add(contact('alice'));
      assert.equal(repo().getSecret(uid('alice')), undefined);
      const secret = new Uint8Array(32).fill(9);
      repo().setSecret(uid('alice'), secret);
      secret.fill(0);
      const got = repo().getSecret(uid('alice'));
      assert.deepEqual(got, new Uint8Array(32).fill(9));
      got?.fill(1);
      assert.deepEqual(repo().getSecret(uid('alice')), new Uint8Array(32).fill(9));
      assert.throws(() => repo().setSecret(uid('alice'), new Uint8Array(31)), { code: 'INVALID_LENGTH' });
      repo().setSecret(uid('alice'), null);
      assert.equal(repo().getSecret(uid('alice')), undefined);
      assert.throws(() => repo().setSecret(uid('nobody'), new Uint8Array(32)), { code: 'NOT_FOUND' });
    });

    it('removes a contact with its history; its name becomes free', () => {
      repo().add(contact('alice'));
      repo().changeIdentity(uid('alice'), key(99), 2_000);
      assert.equal(repo().remove(uid('alice')), true);
      assert.equal(repo().remove(uid('alice')), false);
      assert.equal(repo().get(uid('alice')), undefined);
      assert.deepEqual(repo().keyHistory(uid('alice')), []);
      repo().add(contact('alice'));
      assert.deepEqual(repo().keyHistory(uid('alice')), []);
    });

    it('a throwing transaction leaves contacts as they were', () => {
      repo().add(contact('alice'));
      assert.throws(() =>
        s.store.transaction(() => {
          repo().add(contact('bob'));
          repo().changeIdentity(uid('alice'), key(99), 2_000);
          repo().rename(uid('alice'), 'ally');
          throw new Error('boom');
        }),
      );
      assert.equal(repo().get(uid('bob')), undefined);
      assert.deepEqual(repo().get(uid('alice'))?.publicKey, key(5));
      assert.equal(repo().get(uid('alice'))?.name, 'alice');
      assert.deepEqual(repo().keyHistory(uid('alice')), []);
    });

    it('what was read inside a rolled-back transaction or savepoint is not read after it', () => {
      repo().add(contact('alice'));
      repo().add(contact('bob'));
      assert.equal(repo().resolve('alice').userId, uid('alice'));
      assert.throws(() =>
        s.store.transaction(() => {
          repo().rename(uid('alice'), 'ally');
          repo().setAddresses(uid('bob'), ['/ip4/10.0.0.1/tcp/1']);
          // Read inside the transaction: the uncommitted rows.
          assert.equal(repo().resolve('ally').userId, uid('alice'));
          assert.deepEqual(repo().get(uid('bob'))?.addresses, ['/ip4/10.0.0.1/tcp/1']);
          throw new Error('boom');
        }),
      );
      assert.equal(repo().get(uid('alice'))?.name, 'alice');
      assert.equal(repo().resolve('alice').userId, uid('alice'));
      assert.throws(() => repo().resolve('ally'), { code: 'NOT_FOUND' });
      assert.deepEqual(repo().get(uid('bob'))?.addresses, []);
      s.store.transaction(() => {
        assert.throws(() =>
          s.store.transaction(() => {
            repo().setVerified(uid('bob'), true);
            assert.equal(repo().get(uid('bob'))?.verified, true);
            throw new Error('savepoint');
          }),
        );
        assert.equal(repo().get(uid('bob'))?.verified, false);
      });
      assert.equal(repo().get(uid('bob'))?.verified, false);
    });

    it('hands out copies: changing a returned record changes nothing stored', () => {
      repo().add(contact('alice', { addresses: ['/ip4/10.0.0.1/tcp/1'] }));
      const a = repo().get(uid('alice'));
      a?.publicKey.fill(0);
      (a?.addresses as string[] | undefined)?.push('/ip4/10.0.0.2/tcp/2');
      const r = repo().resolve('alice');
      r.publicKey.fill(1);
      assert.deepEqual(repo().get(uid('alice'))?.publicKey, key(5));
      assert.deepEqual(repo().resolve('alice').addresses, ['/ip4/10.0.0.1/tcp/1']);
    });

    it('a new contact can make a prefix that resolved before ambiguous', () => {
      repo().add(contact('alice', { userId: 'ab' + 'c'.repeat(62), name: null }));
      assert.equal(repo().resolve('ab').userId, 'ab' + 'c'.repeat(62));
      repo().add(contact('bob', { userId: 'ab' + 'd'.repeat(62), name: null }));
      assert.throws(() => repo().resolve('ab'), { code: 'INVALID_ARGUMENT' });
      repo().remove('ab' + 'd'.repeat(62));
      assert.equal(repo().resolve('ab').userId, 'ab' + 'c'.repeat(62));
    });
  });
}
