/**
 * WAL checkpoints off the node's thread. With SQLite's automatic checkpoint alone, whichever COMMIT
 * crosses the threshold copies the WAL into the database file and fsyncs it on the committing thread —
 * the node's event loop — for milliseconds to tens of them; under sustained sends that was a large part
 * of the time the sender's thread spent blocked in COMMIT (docs/perf-node.md, fifth pass). Here a
 * second connection in a worker thread (checkpoint-worker.ts) runs PASSIVE checkpoints every
 * `intervalMs`; the node's connection keeps an automatic checkpoint at a higher threshold
 * (`BACKSTOP_PAGES`) as the backstop, so the WAL stays bounded even if the worker falls behind, and it
 * still restarts from the beginning once a checkpoint has caught up. Durability is untouched: a
 * checkpoint only copies frames that are committed (and synced) already. When the worker fails, that is
 * logged and the node's connection goes back to SQLite's default threshold; the node goes on.
 */
import { Worker } from 'node:worker_threads';
import type { DatabaseSync } from 'node:sqlite';
import type { Logger } from '../lib/log.ts';

/** The node connection's own automatic checkpoint while the worker runs (pages). */
export const BACKSTOP_PAGES = 4000;
/** SQLite's default threshold, restored when the worker fails. */
const DEFAULT_PAGES = 1000;
const INTERVAL_MS = 50;
/**
 * Idle time before the -wal file is emptied (checkpoint-worker.ts). Not shorter: the file then grows
 * again from nothing at the next write, and an extending commit's fsync costs more than overwriting.
 */
export const TRUNCATE_IDLE_MS = 30_000;

let live = 0;
/** Checkpoint workers running in this process (tests: none is left once their stores are closed). */
export function liveCheckpointers(): number {
  return live;
}

export interface Checkpointer {
  /** Stops the worker (it closes its connection and exits); never throws. */
  stop(): void;
}

export function startCheckpointer(db: DatabaseSync, path: string, log: Logger, intervalMs = INTERVAL_MS, truncateIdleMs = TRUNCATE_IDLE_MS): Checkpointer {
  const worker = new Worker(new URL('./checkpoint-worker.ts', import.meta.url), { workerData: { path, intervalMs, truncateIdleMs } });
  live++;
  let stopped = false;
  const fallBack = (why: Error | string): void => {
    if (stopped) return;
    stopped = true;
    log.warn('background checkpoints stopped: back to SQLite\'s own', { error: why });
    try {
      if (db.isOpen) db.exec(`PRAGMA wal_autocheckpoint = ${DEFAULT_PAGES}`);
    } catch {
      // The store is closing: nothing to fall back for.
    }
  };
  // Never keeps the process alive, never crashes it.
  worker.unref();
  worker.on('error', (e) => fallBack(e));
  worker.on('exit', (code) => {
    live--;
    if (code !== 0) fallBack(`checkpoint worker exited with code ${code}`);
    stopped = true;
  });
  db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        worker.postMessage('stop');
      } catch {
        void worker.terminate();
      }
    },
  };
}
