/**
 * The behaviour every IdentityRepository must have, run against each implementation
 * (identity.compliance.test.ts). Add a case here, not in one implementation's test.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { IdentityRepository, StoredIdentity } from '../../../src/store/identity.ts';

export interface Subject {
  repo: IdentityRepository;
  close(): void;
}

export function sample(overrides: Partial<StoredIdentity> = {}): StoredIdentity {
  return {
    name: 'alice',
    publicKey: Uint8Array.from({ length: 129 }, (_, i) => i),
    secret: Uint8Array.from({ length: 65 }, (_, i) => 200 - i),
    createdAt: 1_700_000_000_000,
    ...overrides,
  };
}

export function identityRepositoryCompliance(name: string, make: () => Subject): void {
  describe(`IdentityRepository compliance: ${name}`, () => {
    let s: Subject;
    beforeEach(() => {
      s = make();
    });
    afterEach(() => s.close());

    it('is empty at first', () => {
      assert.equal(s.repo.get(), undefined);
      assert.equal(s.repo.getPublic(), undefined);
      assert.equal(s.repo.remove(), false);
    });

    it('returns what was created', () => {
      const id = sample();
      s.repo.create(id);
      assert.deepEqual(s.repo.get(), id);
      assert.deepEqual(s.repo.getPublic(), { name: id.name, publicKey: id.publicKey, createdAt: id.createdAt });
    });

    it('keeps a null name and empty-looking bytes exactly', () => {
      const id = sample({ name: null, secret: new Uint8Array(65) });
      s.repo.create(id);
      assert.deepEqual(s.repo.get(), id);
    });

    it('never overwrites: a second create is ALREADY_EXISTS and changes nothing', () => {
      s.repo.create(sample());
      assert.throws(() => s.repo.create(sample({ name: 'mallory', secret: new Uint8Array(65).fill(7) })), { code: 'ALREADY_EXISTS' });
      assert.deepEqual(s.repo.get(), sample());
    });

    it('hands out copies: mutating inputs or outputs does not change the stored identity', () => {
      const id = sample();
      s.repo.create(id);
      id.secret.fill(0);
      id.publicKey.fill(0);
      const got = s.repo.get();
      assert.ok(got);
      got.secret.fill(1);
      assert.deepEqual(s.repo.get(), sample());
    });

    it('removes, after which a new identity can be created', () => {
      s.repo.create(sample());
      assert.equal(s.repo.remove(), true);
      assert.equal(s.repo.get(), undefined);
      assert.equal(s.repo.remove(), false);
      s.repo.create(sample({ name: 'bob' }));
      assert.equal(s.repo.get()?.name, 'bob');
    });
  });
}
