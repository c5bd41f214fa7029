/**
 * `npm run demo` (scripts/demo.ts) runs to the end: exit 0, every step of the story printed with what
 * it proves, and nothing left behind (its temporary folder is gone, no daemon of it still running).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/** Pids whose command line mentions `s` (Linux /proc; empty elsewhere). */
function processesMentioning(s: string): number[] {
  if (!existsSync('/proc')) return [];
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(s);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

const DEMO = join(import.meta.dirname, '..', '..', 'scripts', 'demo.ts');

const STEPS = [
  /1\. A local network: 4 relays, Alice and Bob/,
  /2\. Invite/,
  /3\. Verify/,
  /4\. Chat both ways through onion paths/,
  /5\. Bob goes offline/,
  /`held` in mailboxes/,
  /6\. Bob comes back/,
  /shows the message exactly once, Alice sees `delivered`/,
  /7\. A relay on Alice's paths is killed/,
  /later messages delivered and acked, each shown once/,
  /8\. Done/,
  /demo complete/,
];

describe('npm run demo', { timeout: 420_000 }, () => {
  it('walks through every step and exits 0', async () => {
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [DEMO], { timeout: 400_000, encoding: 'utf8', env: { ...process.env, COMPEER_HOME: '' } }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      });
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const s of STEPS) assert.match(r.stdout, s);
    assert.equal(r.stdout.match(/✓/g)?.length, 8, 'one line of what it proves per step');
    const folder = /folder (\S+)\)/.exec(r.stdout)?.[1];
    assert.ok(folder !== undefined && !existsSync(folder), 'the temporary folder is removed');
    assert.deepEqual(processesMentioning(folder), [], 'no process of the demo is left');
  });
});
