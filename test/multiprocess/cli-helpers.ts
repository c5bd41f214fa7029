/**
 * Real `compeer` processes for multi-process tests: one-shot commands (`compeer(dir, args)`) and
 * daemons (`startDaemon`) on loopback, each in its own data folder. Every daemon started here is
 * tracked so `stopAll()` (call it from `after`) leaves no process behind. A data folder can be `place`d
 * on another host (test/netns/: a network namespace): its processes then run behind a command prefix.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiClient, resolveTarget } from '../../src/api/client.ts';
import type { CompeerApi, MessageInfo } from '../../src/node/types.ts';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
const ENV = { ...process.env, COMPEER_LOG_LEVEL: 'warn', COMPEER_HOME: '', COMPEER_API: '', COMPEER_PASSPHRASE: '' };

/**
 * Where a data folder's processes run when not on this host's loopback (issue 6, test/netns/): `prefix`
 * goes before node for every `compeer` and daemon of that folder (`ip netns exec NS`), `ip` is the
 * address its mesh daemon listens on. The local API is then reachable only from inside (its loopback is
 * the namespace's), so the helpers below that use the API go through `compeer` commands for it.
 */
export interface Placement {
  readonly prefix: readonly string[];
  readonly ip: string;
}

const placements = new Map<string, Placement>();

export function place(dir: string, where: Placement): void {
  placements.set(dir, where);
}

/** The executable and its arguments for `node MAIN ARGS…` in `dir`'s place. */
function command(dir: string, args: readonly string[]): [string, string[]] {
  const [exe, ...rest] = [...(placements.get(dir)?.prefix ?? []), process.execPath, MAIN, ...args];
  return [exe as string, rest];
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `compeer --dir DIR ARGS…` to completion (`env` is added to a clean Compeer environment). */
export function compeer(dir: string, args: readonly string[], timeoutMs = 30_000, env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    const [exe, argv] = command(dir, ['--dir', dir, ...args]);
    execFile(exe, argv, { env: { ...ENV, ...env }, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** As `compeer` with --json, and the parsed stdout; throws with stderr when the command failed. */
export async function compeerJson<T>(dir: string, args: readonly string[], timeoutMs?: number, env?: Record<string, string>): Promise<T> {
  const r = await compeer(dir, [...args, '--json'], timeoutMs, env);
  if (r.code !== 0) throw new Error(`compeer ${args.join(' ')} exited ${r.code}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export interface Daemon {
  readonly proc: ChildProcess;
  readonly api: string;
  readonly userId: string;
  readonly addresses: string[];
  /** Printed by --ephemeral daemons only. */
  readonly token?: string;
  readonly stderr: () => string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null if killed). */
  stop(graceMs?: number): Promise<number | null>;
}

const running = new Set<ChildProcess>();

export async function startDaemon(dir: string, args: readonly string[], readyTimeoutMs = 30_000): Promise<Daemon> {
  const [exe, argv] = command(dir, ['--dir', dir, 'start', '--json', ...args]);
  const proc = spawn(exe, argv, { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let out = '';
  let err = '';
  proc.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  void exited.then(() => running.delete(proc));
  type Ready = { api: string; userId: string; addresses: string[]; token?: string };
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in ${readyTimeoutMs} ms: ${out}${err}`)), readyTimeoutMs);
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.includes('"ready":true'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Ready);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`compeer start exited ${code} before ready: ${out}${err}`));
    });
  });
  return {
    proc,
    ...ready,
    stderr: () => err,
    async stop(graceMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Spawns `compeer ARGS…` with piped stdio (for `chat`), tracked like the daemons. */
export function spawnCompeer(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  const proc = spawn(process.execPath, [MAIN, ...args], { env: { ...ENV, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  return proc;
}

export function stopAll(): void {
  for (const p of running) p.kill('SIGKILL');
  running.clear();
}

/** The kernel's ephemeral port range: source ports of outgoing connections come from it. */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo !== undefined && hi !== undefined && lo > 0 && hi >= lo) return [lo, hi];
  } catch {
    // not Linux: the IANA dynamic range
  }
  return [49152, 65535];
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A TCP port for a daemon that must keep its address across a restart. Below the ephemeral range, so no
 * outgoing connection can take it while the daemon is down (CI saw EADDRINUSE on a restart when the
 * port came from listen(0)); claimed with an exclusive file shared by every test file of this run (they
 * are children of one runner), so two files never get the same port; and free when picked.
 */
export async function freePort(): Promise<number> {
  const [ephemeralLo, ephemeralHi] = ephemeralRange();
  const [lo, hi] = ephemeralLo > 12_000 ? [10_000, ephemeralLo - 1] : [ephemeralHi + 1, 65_535];
  const claims = join(tmpdir(), `compeer-test-ports-${process.ppid}`);
  mkdirSync(claims, { recursive: true });
  for (let i = 0; i < 200; i++) {
    const port = lo + Math.floor(Math.random() * (hi - lo + 1));
    try {
      writeFileSync(join(claims, String(port)), '', { flag: 'wx' });
    } catch {
      continue; // another test file of this run has it
    }
    if (await bindable(port)) return port;
  }
  throw new Error(`no free TCP port in ${lo}–${hi} after 200 tries`);
}

export function tempDirs(t: { after(fn: () => void): void }): (name: string) => string {
  const base = mkdtempSync(join(tmpdir(), 'compeer-mp-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  return (name) => join(base, name);
}

/** Polls `fn` until it returns a value that is not undefined, or throws after `ms`. */
export async function eventually<T>(fn: () => Promise<T | undefined>, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Options every daemon of a small mesh gets: no mDNS, TCP on loopback (or `ip`), 1 s announcements. */
export function meshArgs(port: number, bootstrap: readonly string[] = [], ip = '127.0.0.1'): string[] {
  return ['--no-mdns', '--listen', `/ip4/${ip}/tcp/${port}`, '--announce-interval', '1', ...bootstrap.flatMap((b) => ['--bootstrap', b])];
}

/** `compeer init --name NAME` in each folder, in parallel; resolves to the user IDs in order. */
export async function initAll(dirs: readonly string[], names: readonly string[]): Promise<string[]> {
  const ids = await Promise.all(dirs.map((d, i) => compeerJson<{ userId: string }>(d, ['init', '--name', names[i] ?? `n${i}`])));
  return ids.map((r) => r.userId);
}

export interface Mesh {
  readonly relayDirs: string[];
  readonly relays: Daemon[];
  /** The first relay's address: every other node bootstraps from it. */
  readonly bootstrap: string;
  /** The users' daemons, in the order asked for. */
  readonly users: Daemon[];
}

export interface MeshUser {
  readonly dir: string;
  readonly name: string;
  /** Its TCP port (fixed, so that it can restart where its contacts knew it). */
  readonly port: number;
  readonly args?: readonly string[];
}

/**
 * A small loopback network: `relays` relay daemons (they relay and hold mail, as every node does by
 * default) and the users' daemons, every identity created first. The first relay is the bootstrap of
 * all others, which start in parallel. `relayArgs` go to every relay's `start` (e.g. `--log-level debug`).
 */
export async function startMesh(path: (name: string) => string, relays: number, users: readonly MeshUser[], relayArgs: readonly string[] = []): Promise<Mesh> {
  const relayDirs = Array.from({ length: relays }, (_, i) => path(`r${i + 1}`));
  await initAll(
    [...relayDirs, ...users.map((u) => u.dir)],
    [...relayDirs.map((_, i) => `r${i + 1}`), ...users.map((u) => u.name)],
  );
  const ip = (dir: string): string | undefined => placements.get(dir)?.ip;
  const first = await startDaemon(relayDirs[0] as string, [...meshArgs(await freePort(), [], ip(relayDirs[0] as string)), ...relayArgs], 60_000);
  const bootstrap = first.addresses[0] as string;
  const ports = await Promise.all(relayDirs.slice(1).map(() => freePort()));
  const started = await Promise.all([
    ...relayDirs.slice(1).map((d, i) => startDaemon(d, [...meshArgs(ports[i] as number, [bootstrap], ip(d)), ...relayArgs], 60_000)),
    ...users.map((u) => startDaemon(u.dir, [...meshArgs(u.port, [bootstrap], ip(u.dir)), ...(u.args ?? [])], 60_000)),
  ]);
  return { relayDirs, relays: [first, ...started.slice(0, relays - 1)], bootstrap, users: started.slice(relays - 1) };
}

export interface AliceAndBob {
  readonly a: string;
  readonly b: string;
  /** Bob's TCP port, kept for his restarts (where Alice knew him). */
  readonly bobPort: number;
  readonly mesh: Mesh;
  readonly alice: Daemon;
  readonly bob: Daemon;
  /** A test diagnostic with the seconds since the start. */
  mark(what: string): void;
}

/**
 * The cast of most delivery tests: a mesh of `relays` relays (startMesh), Alice and Bob, each with
 * extra `start` arguments; their folders are removed after the test.
 */
export async function aliceAndBob(
  t: { after(fn: () => void): void; diagnostic(message: string): void },
  relays: number,
  args: { alice?: readonly string[]; bob?: readonly string[]; relays?: readonly string[] } = {},
): Promise<AliceAndBob> {
  const path = tempDirs(t);
  const t0 = Date.now();
  const mark = (what: string): void => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  const [a, b] = [path('alice'), path('bob')];
  const bobPort = await freePort();
  const mesh = await startMesh(
    path,
    relays,
    [
      { dir: a, name: 'alice', port: await freePort(), args: args.alice ?? [] },
      { dir: b, name: 'bob', port: bobPort, args: args.bob ?? [] },
    ],
    args.relays ?? [],
  );
  const [alice, bob] = mesh.users as [Daemon, Daemon];
  return { a, b, bobPort, mesh, alice, bob, mark };
}

/**
 * Alice adds Bob from his invite and sends him a first message (the session's hello, direct) and a
 * second one through `hops` relays — strict, so it waits until Alice knows that many relays and Bob's
 * onion key; resolves once that one is delivered (the mesh is ready for paths; nothing overtakes a
 * hello, so the first went before it). Through the local API.
 */
export async function introduce(alice: string, bob: string, hops: number, timeoutMs = 45_000): Promise<void> {
  const [a, b] = [nodeApi(alice), nodeApi(bob)];
  await a.addContact((await b.id()).invite, 'bob');
  await a.send('bob', 'hello bob');
  await a.send('bob', `first through ${hops} relays`, { hops });
  await messageWhere(alice, 'bob', `first through ${hops} relays`, (m) => m.status === 'delivered', `hello and a ${hops}-hop message delivered`, timeoutMs);
}

/**
 * The message with this text in `contact`'s conversation at `dir`, once `ok` holds for it. Polls the
 * daemon's local API directly (what the CLI calls), not a `compeer` process per poll: on a loaded
 * machine the spawned processes would slow down the daemons under test. (A `place`d folder's API is out
 * of reach: there it is `compeer messages` in its place, once per poll.)
 */
export async function messageWhere(dir: string, contact: string, text: string, ok: (m: MessageInfo) => boolean, what: string, ms = 15_000): Promise<MessageInfo> {
  const api = nodeApi(dir);
  return eventually(async () => (await api.messages(contact)).find((m) => m.text === text && ok(m)), what, ms);
}

/**
 * The calls the helpers above make: the local API client for a folder on this host, `compeer` commands
 * run in its place for a `place`d one (whose API listens on a loopback this process cannot reach).
 */
export function nodeApi(dir: string): Pick<CompeerApi, 'id' | 'addContact' | 'send' | 'messages'> {
  if (!placements.has(dir)) return createApiClient(resolveTarget(dir, {}));
  return {
    id: () => compeerJson(dir, ['id']),
    addContact: (invite, name) => compeerJson(dir, ['add', invite, ...(name === undefined ? [] : ['--name', name])]),
    send: (contact, text, opts) =>
      compeerJson(dir, [
        'send',
        contact,
        text,
        ...(opts?.hops === undefined ? [] : ['--hops', String(opts.hops)]),
        ...(opts?.ttlMs === undefined ? [] : ['--ttl', String(Math.ceil(opts.ttlMs / 1000))]),
      ]),
    messages: (contact, q) =>
      compeerJson(
        dir,
        ['messages', contact, ...(q?.waitMs === undefined ? [] : ['--wait', String(Math.ceil(q.waitMs / 1000))]), ...(q?.count === undefined ? [] : ['--count', String(q.count)])],
        30_000 + (q?.waitMs ?? 0),
      ),
  };
}
