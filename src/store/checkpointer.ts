/**
 * WAL checkpoints off the node's thread. With SQLite's automatic checkpoint alone, whichever COMMIT
 * crosses the threshold copies the WAL into the database file and fsyncs it on the committing thread —
 * the node's event loop — for milliseconds to tens of them; under sustained sends that was a large part
 * of the time the sender's thread spent blocked in COMMIT (docs/perf-node.md, fifth pass). Here a
 * second connection in a worker thread (checkpoint-worker.ts) runs PASSIVE checkpoints every
 * `intervalMs`; the node's connection keeps an automatic checkpoint at a higher threshold
 * (`BACKSTOP_PAGES`) as the backstop, so the WAL stays bounded even if the worker falls behind, and it
 * still restarts from the beginning once a checkpoint has caught up. Durability is untouched: a
 * checkpoint only copies frames that are committed (and synced) already.
 */
import { Worker } from 'node:worker_threads';
import type { DatabaseSync } from 'node:sqlite';

/** The node connection's own automatic checkpoint once the worker is there (pages; SQLite's default is 1,000). */
export const BACKSTOP_PAGES = 4000;
const INTERVAL_MS = 50;

export interface Checkpointer {
  /** Stops the worker (it closes its connection); never throws. */
  stop(): void;
}

export function startCheckpointer(db: DatabaseSync, path: string, intervalMs = INTERVAL_MS): Checkpointer {
  const worker = new Worker(new URL('./checkpoint-worker.ts', import.meta.url), { workerData: { path, intervalMs } });
  // Never keeps the process alive, never crashes it: without the worker the backstop checkpoints.
  worker.unref();
  worker.on('error', () => {});
  db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  let stopped = false;
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
