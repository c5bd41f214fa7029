/**
 * The body of the background checkpointer (checkpointer.ts), run in a worker thread: its own connection
 * to the store's database copies committed WAL frames into the database file (PASSIVE: never waits for,
 * never blocks the writer) every `intervalMs`, with the fsyncs that go with it, off the node's thread.
 * Stops on any message from its parent. Errors (the file gone, busy) skip one round.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
// synchronous=FULL like the node's connection: a checkpoint syncs the WAL, then the database file.
const db = new DatabaseSync(path, { timeout: 0 });
db.exec('PRAGMA synchronous = FULL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const timer = setInterval(() => {
  try {
    checkpoint.get();
  } catch {
    // Busy or closing: the next round, or the node's own autocheckpoint, catches up.
  }
}, intervalMs);
parentPort?.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
