/**
 * The files by which a running daemon is found and kept single per data folder:
 * - DIR/daemon.lock (0600, `pid`): taken with an exclusive create before the node opens anything; a lock
 *   whose pid is no longer alive is stale and taken over.
 * - DIR/daemon.json (0600, `{pid, api}`): written when the node and its API are ready; `api` is the
 *   API's base URL. Removed at a clean stop (a crash leaves it; readers check the pid).
 *
 * Knows the file formats and process liveness; does not know the node or the API routes.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompeerError, ErrorCodes } from '../lib/errors.ts';

export const DAEMON_FILE = 'daemon.json';
export const LOCK_FILE = 'daemon.lock';

export interface DaemonInfo {
  pid: number;
  api: string;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes DIR/daemon.lock for this process; ALREADY_EXISTS while another live process holds it. */
export function acquireDaemonLock(dir: string, pid = process.pid): () => void {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${pid}\n`, { mode: 0o600, flag: 'wx' });
      return () => {
        if (readPid(path) === pid) rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readPid(path);
      if (holder !== undefined && pidAlive(holder)) {
        const api = readDaemonInfo(dir)?.api;
        throw new CompeerError(ErrorCodes.ALREADY_EXISTS, `a node is already running on ${dir} (pid ${holder}${api === undefined ? '' : `, API ${api}`})`);
      }
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  throw new CompeerError(ErrorCodes.ALREADY_EXISTS, `another node is starting on ${dir}`);
}

export function writeDaemonInfo(dir: string, info: DaemonInfo): void {
  const path = join(dir, DAEMON_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

export function removeDaemonInfo(dir: string): void {
  rmSync(join(dir, DAEMON_FILE), { force: true });
}

/** The parsed daemon.json, or undefined when missing or malformed. */
export function readDaemonInfo(dir: string): DaemonInfo | undefined {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(join(dir, DAEMON_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  const o = v as { pid?: unknown; api?: unknown } | null;
  if (typeof o?.pid !== 'number' || !Number.isSafeInteger(o.pid) || typeof o.api !== 'string' || !/^http:\/\/[^/]+$/.test(o.api)) return undefined;
  return { pid: o.pid, api: o.api };
}

/** The running daemon's info; NOT_RUNNING with a hint when there is none (or only a stale file). */
export function runningDaemon(dir: string): DaemonInfo {
  const info = readDaemonInfo(dir);
  if (info === undefined || !pidAlive(info.pid)) {
    const starting = readPid(join(dir, LOCK_FILE));
    if (starting !== undefined && pidAlive(starting)) {
      throw new CompeerError(ErrorCodes.NOT_RUNNING, `the node on ${dir} is starting (pid ${starting}); try again when it has printed \`ready\``);
    }
    throw new CompeerError(ErrorCodes.NOT_RUNNING, `no node is running on ${dir}; start one with \`compeer start\``);
  }
  return info;
}
