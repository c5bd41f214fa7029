/** Runs the IdentityRepository compliance suite against the in-memory and the sqlite implementation. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryIdentityRepository } from '../../../src/store/identity.ts';
import { openStore } from '../../../src/store/store.ts';
import { identityRepositoryCompliance } from './identity-compliance.ts';
import { fixedClock, seededRng } from './helpers.ts';

identityRepositoryCompliance('memory', () => ({ repo: memoryIdentityRepository(), close: () => {} }));

identityRepositoryCompliance('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'compeer-test-'));
  const store = openStore({ dir, create: true, rng: seededRng(), clock: fixedClock });
  return {
    repo: store.identities,
    close: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
