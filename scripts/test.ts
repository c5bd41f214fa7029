/**
 * `npm test` — node's test runner over every test: test/<kind>/**\/*.test.ts and unit tests that sit
 * beside their subject (src/**\/*.test.ts). `npm test -- unit vectors` runs only those kinds; other
 * arguments starting with `--` go to `node --test` (e.g. --test-name-pattern=seal).
 * A wrapper (not a bare glob in package.json) so the kinds can be chosen and an empty run is an error.
 */
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';

const KINDS = ['unit', 'vectors', 'property', 'sim', 'multiprocess', 'netns', 'fuzz', 'e2e'];
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const kinds = args.filter((a) => !a.startsWith('--'));

const unknown = kinds.filter((k) => !KINDS.includes(k));
if (unknown.length > 0) {
  console.error(`unknown test kind: ${unknown.join(', ')} (kinds: ${KINDS.join(', ')})`);
  process.exit(2);
}

const patterns = kinds.length === 0 ? ['test/**/*.test.ts', 'src/**/*.test.ts'] : kinds.map((k) => `test/${k}/**/*.test.ts`);
if (kinds.includes('unit')) patterns.push('src/**/*.test.ts');
const files = [...new Set(patterns.flatMap((p) => globSync(p)))].sort();

if (files.length === 0) {
  console.error(`no test files match ${patterns.join(' ')}`);
  // A whole-suite run with no tests is a broken checkout, not a pass; an empty kind is just empty.
  process.exit(kinds.length === 0 ? 1 : 0);
}

const result = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', '--test-timeout=600000', ...flags, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
