/** Shared fixtures for store tests: temporary folders, a fixed clock, a seeded RNG. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { deterministicRng, type Rng } from '../../../src/lib/deps.ts';
import { openStore, type SqliteStore, type StoreOptions } from '../../../src/store/store.ts';

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'compeer-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function seededRng(seed = 1): Rng {
  return deterministicRng(Uint8Array.of(seed), sha256);
}

export const fixedClock = (): number => 1_700_000_000_000;

/** A new sqlite store in `dir` with the seeded RNG and the fixed clock. */
export const storeOptions = (dir: string, more: Partial<StoreOptions> = {}): StoreOptions => ({
  dir, create: true, rng: seededRng(), clock: fixedClock, ...more,
});

/** Opens the store, runs `fn` on it, closes it whatever happens. */
export function withStore<T>(o: StoreOptions, fn: (s: SqliteStore) => T): T {
  const s = openStore(o);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}
