/**
 * The namespace helpers themselves (netns-helpers.ts), with plain TCP between the hosts instead of
 * Compeer: nothing is added to the root namespace; hosts reach each other over the bridge; a cut
 * isolates exactly that host and a heal restores it; `destroy()` kills what runs inside and leaves no
 * namespace; the leftovers of a run killed with SIGKILL are removed by the next one. Skipped with the
 * reason when namespaces cannot be made.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { eventually } from '../multiprocess/cli-helpers.ts';
import { netns, removeStale, unsupported, type Host, type Netns } from './netns-helpers.ts';

const skip = unsupported();
const PORT = 7070;

const rootLinks = (): string[] =>
  execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[1]?.trim() ?? '')
    .sort();
const namespaces = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);

/** What `from` reads from a TCP connection to `to`'s server: its greeting, or undefined (refused, unreachable, 3 s silence). */
function connect(from: Host, to: Host): string | undefined {
  const code = `const s = require('node:net').connect(${PORT}, '${to.ip}');
s.setTimeout(3000, () => process.exit(2));
s.on('data', (d) => { process.stdout.write(d); process.exit(0); });
s.on('error', () => process.exit(1));`;
  const [exe, ...args] = [...from.prefix, process.execPath, '-e', code];
  const r = spawnSync(exe as string, args, { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 ? r.stdout : undefined;
}

/** A TCP server on `host`'s address that greets with its name; resolves once it listens. */
async function serve(host: Host): Promise<ReturnType<typeof spawn>> {
  const code = `require('node:net').createServer((s) => s.end('${host.name}')).listen(${PORT}, '${host.ip}', () => console.log('up'));`;
  const [exe, ...args] = [...host.prefix, process.execPath, '-e', code];
  const proc = spawn(exe as string, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(proc.stdout, 'data');
  return proc;
}

describe('netns helpers (issue 6)', { skip, timeout: 120_000 }, () => {
  it('a bridge between hosts, nothing in the root namespace; cut and heal one host; destroy', async (t) => {
    const before = rootLinks();
    let net: Netns | undefined = netns(['alice', 'bob', 'carol'], '10.213.9');
    t.after(() => net?.destroy());
    assert.deepEqual(rootLinks(), before, 'no interface added to the root namespace');
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => net?.host(n)) as [Host, Host, Host];
    assert.deepEqual([alice.ip, bob.ip, carol.ip], ['10.213.9.2', '10.213.9.3', '10.213.9.4']);
    const ours = namespaces().filter((n) => n.startsWith(alice.ns.replace(/-alice$/, '-')));
    assert.deepEqual(ours.sort(), [alice.ns, bob.ns, carol.ns, alice.ns.replace(/-alice$/, '-sw')].sort());

    const server = await serve(bob);
    const exited = once(server, 'exit');
    assert.equal(connect(alice, bob), 'bob');
    assert.equal(connect(carol, bob), 'bob');

    net.cut('alice');
    assert.equal(connect(alice, bob), undefined, 'Alice cut: Bob out of reach');
    assert.equal(connect(carol, bob), 'bob', 'the others still reach each other');
    net.heal('alice');
    await eventually(async () => connect(alice, bob), 'Alice reaches Bob again after the heal', 30_000);

    net.destroy();
    net = undefined;
    await exited; // killed by destroy(): it ran inside Bob's namespace
    assert.deepEqual(namespaces().filter((n) => ours.includes(n)), [], 'no namespace left');
    assert.deepEqual(rootLinks(), before);
  });

  it('removes the leftovers of a run killed with SIGKILL, and what still ran in them', async () => {
    // A child makes a network, starts a long sleep in one host and kills itself (no cleanup can run).
    const code = `import { spawn } from 'node:child_process';
import { netns } from ${JSON.stringify(new URL('./netns-helpers.ts', import.meta.url).pathname)};
const n = netns(['alice', 'bob'], '10.213.8');
const p = spawn('ip', [...n.host('alice').prefix.slice(1), 'sleep', '600'], { stdio: 'ignore', detached: true });
p.unref();
console.log(JSON.stringify({ sleeper: p.pid, ns: [...n.hosts.values()].map((h) => h.ns) }));
setTimeout(() => process.kill(process.pid, 'SIGKILL'), 300);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const { sleeper, ns } = JSON.parse(r.stdout) as { sleeper: number; ns: string[] };
    const sw = (ns[0] as string).replace(/-alice$/, '-sw');
    assert.deepEqual(namespaces().filter((n) => [...ns, sw].includes(n)).sort(), [...ns, sw].sort(), 'left behind');
    assert.doesNotThrow(() => process.kill(sleeper, 0), 'the sleep still runs');

    const removed = removeStale();
    assert.deepEqual(removed.filter((n) => [...ns, sw].includes(n)).sort(), [...ns, sw].sort());
    assert.deepEqual(namespaces().filter((n) => [...ns, sw].includes(n)), []);
    await eventually(
      async () => {
        try {
          process.kill(sleeper, 0);
          return undefined;
        } catch {
          return true;
        }
      },
      'the sleep in the stale namespace killed',
      10_000,
    );
  });
});
