/**
 * The body of the background checkpointer (checkpointer.ts), run in a worker thread: its own connection
 * to the store's database copies committed WAL frames into the database file (PASSIVE: never waits for,
 * never blocks the writer) every `intervalMs` while the node writes, with the fsyncs that go with it,
 * off the node's thread. While nothing new is committed (`PRAGMA data_version` unchanged since a
 * checkpoint that copied every frame) it only looks once per IDLE_MS: an idle daemon wakes this thread
 * once a second, not twenty times. Stops on any message from its parent. Errors (the file gone, busy)
 * skip one round.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

const IDLE_MS = 1000;

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
// synchronous=FULL like the node's connection: a checkpoint syncs the WAL, then the database file.
const db = new DatabaseSync(path, { timeout: 0 });
db.exec('PRAGMA synchronous = FULL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const dataVersion = db.prepare('PRAGMA data_version');
/** data_version after the last checkpoint that left no frame behind (-1: none yet). */
let doneAt = -1;
let timer: NodeJS.Timeout | undefined;

function round(): void {
  let next = intervalMs;
  try {
    const version = Number(dataVersion.get()?.data_version);
    if (version === doneAt) next = IDLE_MS;
    else {
      const r = checkpoint.get() as { busy: number; log: number; checkpointed: number } | undefined;
      // A reader's snapshot can hold frames back: then the next round tries again.
      if (r !== undefined && r.busy === 0 && r.checkpointed >= r.log) doneAt = version;
    }
  } catch {
    // Busy or closing: the next round, or the node's own autocheckpoint, catches up.
  }
  timer = setTimeout(round, next);
}
round();

parentPort?.once('message', () => {
  clearTimeout(timer);
  db.close();
  parentPort?.close();
});
