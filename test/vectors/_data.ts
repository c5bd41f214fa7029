/**
 * Loaders for the published vector files in test/vectors/data/ (provenance in test/vectors/README.md),
 * and small helpers the vector tests share. Private to test/vectors/ (leading underscore: not a test).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fromHex } from '../../src/lib/bytes.ts';
import type { Rng } from '../../src/lib/deps.ts';
import { isCompeerError } from '../../src/lib/errors.ts';

const DATA = new URL('./data/', import.meta.url);

export function readData(path: string): Buffer {
  const raw = readFileSync(new URL(path, DATA));
  return path.endsWith('.gz') ? gunzipSync(raw) : raw;
}

export function readJson<T>(path: string): T {
  return JSON.parse(readData(path).toString('utf8')) as T;
}

/** CCTV's "name = hex" text files (one record per file). */
export function readKeyValues(path: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readData(path).toString('utf8').split('\n')) {
    const at = line.indexOf(' = ');
    if (at > 0) out.set(line.slice(0, at), line.slice(at + 3).trim());
  }
  return out;
}

export const hex = fromHex;

// Wycheproof schema v1 (testvectors_v1/*.json): the fields our tests read.
export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

export interface WycheproofTest {
  tcId: number;
  comment?: string;
  flags: string[];
  result: WycheproofResult;
}

export interface WycheproofFile<G> {
  algorithm: string;
  numberOfTests: number;
  testGroups: G[];
}

/** Every test of a file with its group, checking the file's own count so a truncated copy fails. */
export function wycheproofTests<G extends { tests: WycheproofTest[] }>(
  file: WycheproofFile<G>,
): Array<{ group: G; t: G['tests'][number] }> {
  const all = file.testGroups.flatMap((group) => group.tests.map((t) => ({ group, t })));
  if (all.length !== file.numberOfTests) {
    throw new Error(`${file.algorithm}: ${all.length} tests, the file says ${file.numberOfTests}`);
  }
  return all;
}

/** Runs `f`; returns 'ok' or the CompeerError code it threw (anything else is rethrown: a bug). */
export function outcome(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (isCompeerError(e)) return e.code;
    throw e;
  }
}

/** An Rng that hands out exactly the given bytes (FIPS 203's `m`, a seed) and fails on anything else. */
export function fixedRng(...chunks: Uint8Array[]): Rng {
  const queue = [...chunks];
  return {
    system: false,
    bytes(length: number): Uint8Array {
      const next = queue.shift();
      if (next === undefined || next.length !== length) throw new Error(`fixedRng: unexpected request for ${length} bytes`);
      return next;
    },
  };
}

/** Counts per key, for pinning how a policy sorts a whole file. */
export function tally(keys: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}
