/**
 * Hosts in Linux network namespaces for multi-host tests (issue 6). One namespace per host and one
 * "switch" namespace holding a bridge; each host is cabled to it by a veth pair (host side `eth0`,
 * switch side named after the host) and has one address in the test's block. Every interface is created
 * inside the namespaces (`ip -n NS link add … peer … netns NS`), so nothing appears in the root namespace
 * and nothing outside the block is ever a target: the namespaces have no route anywhere else.
 *
 * Names: `cpt<pid>n<k>-<host>` (pid: the test process; k: its k-th network). `netns()` first removes
 * the leftovers of runs whose process is gone (what still runs in them is killed by PID, found with
 * `ip netns pids`); `destroy()` — from `after`, and as a last resort on process exit — removes this run's.
 *
 * What this module does not know: Compeer. Daemons run through test/multiprocess/cli-helpers.ts with a
 * host's `prefix` (`ip netns exec NS`) placed before node.
 */
import { execFileSync, spawnSync } from 'node:child_process';

const PREFIX = 'cpt';
const OURS = /^cpt(\d+)[np]\d+-[a-z0-9]+$/;
/** This process's live namespaces (never stale) and how many networks it has made. */
const mine = new Set<string>();
let made = 0;
/** Linux: interface names are at most 15 bytes. Host names are short and become the switch-side name. */
const HOST_NAME = /^[a-z][a-z0-9]{0,9}$/;
/** The first three octets of the /24 the hosts get addresses in. */
const SUBNET = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export interface Host {
  readonly name: string;
  /** The namespace. */
  readonly ns: string;
  readonly ip: string;
  /** Put before a command to run it in this host's namespace. */
  readonly prefix: readonly string[];
}

export interface Netns {
  readonly hosts: ReadonlyMap<string, Host>;
  host(name: string): Host;
  /** Takes the host's cable out: the switch side of its veth goes down (the host sees no carrier). */
  cut(name: string): void;
  /** Plugs it back in. */
  heal(name: string): void;
  /** Kills whatever still runs in the namespaces and deletes them (veths go with them). Idempotent. */
  destroy(): void;
}

function ip(args: readonly string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Why these tests cannot run here, or undefined when they can: they need root, the `ip` command
 * (iproute2) and permission to create a namespace (an unprivileged container has none).
 */
export function unsupported(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces are Linux only (platform ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (ip netns add); CI runs these as root';
  const v = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (v.error !== undefined || v.status !== 0) return '`ip` (iproute2) not found: install iproute2 (.ci/run does on CI)';
  const probe = `${PREFIX}${process.pid}p0-probe`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.status !== 0) return `\`ip netns add\` failed (no CAP_SYS_ADMIN, e.g. an unprivileged container): ${add.stderr.trim()}`;
  spawnSync('ip', ['netns', 'delete', probe]);
  return undefined;
}

function ourNamespaces(): string[] {
  return ip(['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => OURS.test(n));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGKILLs the processes in `ns` (by PID) and deletes it; quiet when it is already gone. */
function removeNamespace(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  for (const pid of (pids.stdout ?? '').split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  spawnSync('ip', ['netns', 'delete', ns]);
  mine.delete(ns);
}

/** Leftovers of earlier runs: namespaces of our pattern whose test process is gone (or was us, before). */
export function removeStale(): string[] {
  const stale = ourNamespaces().filter((ns) => {
    const pid = Number(OURS.exec(ns)?.[1]);
    return pid === process.pid ? !mine.has(ns) : !alive(pid);
  });
  stale.forEach(removeNamespace);
  return stale;
}

/**
 * Creates the switch and one namespace per host, `lo` up in each, host i at `${subnet}.${i + 2}/24`.
 * On any failure what was created is removed before the error propagates.
 */
export function netns(names: readonly string[], subnet = '10.213.0'): Netns {
  for (const n of names) if (!HOST_NAME.test(n) || n === 'sw') throw new Error(`host name ${JSON.stringify(n)}: expected [a-z][a-z0-9]{0,9}, not "sw"`);
  if (new Set(names).size !== names.length) throw new Error('host names must be distinct');
  const octets = SUBNET.exec(subnet)?.slice(1).map(Number);
  if (octets === undefined || octets.some((o) => o > 255)) throw new Error(`subnet ${JSON.stringify(subnet)}: expected three octets, e.g. "10.213.0"`);
  if (names.length > 253) throw new Error('at most 253 hosts in a /24');
  removeStale();
  const base = `${PREFIX}${process.pid}n${made++}`;
  const sw = `${base}-sw`;
  const created: string[] = [];
  const hosts = new Map<string, Host>();
  let destroyed = false;
  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    process.off('exit', destroy);
    [...created].reverse().forEach(removeNamespace);
  };
  process.on('exit', destroy);
  try {
    ip(['netns', 'add', sw]);
    created.push(sw);
    mine.add(sw);
    ip(['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', sw, 'link', 'set', 'br0', 'up']);
    ip(['-n', sw, 'link', 'set', 'lo', 'up']);
    names.forEach((name, i) => {
      const ns = `${base}-${name}`;
      ip(['netns', 'add', ns]);
      created.push(ns);
      mine.add(ns);
      const addr = `${subnet}.${i + 2}`;
      ip(['-n', sw, 'link', 'add', name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['-n', sw, 'link', 'set', name, 'master', 'br0']);
      ip(['-n', sw, 'link', 'set', name, 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      hosts.set(name, { name, ns, ip: addr, prefix: ['ip', 'netns', 'exec', ns] });
    });
  } catch (err) {
    destroy();
    throw err;
  }
  const host = (name: string): Host => {
    const h = hosts.get(name);
    if (h === undefined) throw new Error(`no host ${name}`);
    return h;
  };
  return {
    hosts,
    host,
    cut: (name) => void ip(['-n', sw, 'link', 'set', host(name).name, 'down']),
    heal: (name) => void ip(['-n', sw, 'link', 'set', host(name).name, 'up']),
    destroy,
  };
}
