/**
 * bin/compeer.js under an older system Node re-runs itself on the pinned Node 24, passing arguments,
 * output and the exit code through; under Node 24 it runs the CLI directly.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../store/helpers.ts';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

/** The first `node` on PATH older than 24 (the system Node on this machine kind), if any. */
function olderNode(): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(d, 'node');
    if (d === '' || !existsSync(candidate)) continue;
    const v = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    if (v.status === 0 && Number(v.stdout.split('.')[0]) < 24) return candidate;
  }
  return undefined;
}

function check(node: string, t: { after(fn: () => void): void }): void {
  const version = spawnSync(node, ['bin/compeer.js', '--version'], { encoding: 'utf8' });
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout.trim(), pkg.version);
  const dir = join(tempDir(t), 'home');
  const init = spawnSync(node, ['bin/compeer.js', 'init', '--json', '--dir', dir], { encoding: 'utf8' });
  assert.equal(init.status, 0, init.stderr);
  assert.equal((JSON.parse(init.stdout) as { dir: string }).dir, dir);
  const again = spawnSync(node, ['bin/compeer.js', 'init', '--dir', dir], { encoding: 'utf8' });
  assert.equal(again.status, 40, 'the exit code of the re-executed CLI comes through');
  assert.match(again.stderr, /ALREADY_EXISTS/);
}

describe('bin/compeer.js', () => {
  it('runs on Node 24 directly', (t) => check(process.execPath, t));
  const old = olderNode();
  it(`re-executes itself on the pinned Node 24 from ${old ?? 'an older Node'}`, { skip: old === undefined && 'no Node < 24 on PATH' }, (t) => {
    check(old as string, t);
  });
});
