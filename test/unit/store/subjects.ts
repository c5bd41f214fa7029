/**
 * The two implementations every compliance suite runs against: a memory store and a sqlite store in
 * a fresh temporary folder (deleted on close), both with the default peer policy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPeerPolicy, type PeerPolicyOptions } from '../../../src/routing/peer-policy.ts';
import { openMemoryStore, openStore, type Store } from '../../../src/store/store.ts';
import { fixedClock, seededRng } from './helpers.ts';

export interface StoreSubject {
  store: Store;
  close(): void;
}

export type MakeSubject = (policy?: PeerPolicyOptions) => StoreSubject;

export const memorySubject: MakeSubject = (policy) => {
  const store = openMemoryStore({ peerPolicy: createPeerPolicy(policy) });
  return { store, close: () => store.close() };
};

export const sqliteSubject: MakeSubject = (policy) => {
  const dir = mkdtempSync(join(tmpdir(), 'compeer-test-'));
  const store = openStore({ dir, create: true, rng: seededRng(), clock: fixedClock, peerPolicy: createPeerPolicy(policy) });
  return {
    store,
    close: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

export const SUBJECTS: readonly [string, MakeSubject][] = [
  ['memory', memorySubject],
  ['sqlite', sqliteSubject],
];

/** A user ID-shaped string (lowercase base32, 32 characters) from a short tag. */
export function uid(tag: string): string {
  return (tag + 'abcdefghijklmnopqrstuvwxyz234567'.repeat(2)).slice(0, 32);
}
