/**
 * The body of the background checkpointer (checkpointer.ts), run in a worker thread: its own connection
 * to the store's database copies committed WAL frames into the database file (PASSIVE: never waits for,
 * never blocks the writer) every `intervalMs` while the node writes, with the fsyncs that go with it,
 * off the node's thread. While nothing new is committed (`PRAGMA data_version` unchanged since a
 * checkpoint that copied every frame) it only looks once per IDLE_MS: an idle daemon wakes this thread
 * once a second, not twenty times. Once idle for `truncateIdleMs` (30 s), one TRUNCATE checkpoint empties the -wal file:
 * its frames hold older versions of rewritten pages (a superseded ratchet state, a spent prekey), which
 * secure_delete cannot zero, and SQLite otherwise keeps the file at its largest size and overwrites it
 * only as new frames come (docs/threat-model.md "Storage"). Not while the node writes: regrowing the file
 * costs each commit an extension of the file. Stops on any message from its parent. Errors (the file
 * gone, busy) skip one round.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

const IDLE_MS = 1000;

const { path, intervalMs, truncateIdleMs } = workerData as { path: string; intervalMs: number; truncateIdleMs: number };
// synchronous=FULL like the node's connection: a checkpoint syncs the WAL, then the database file.
const db = new DatabaseSync(path, { timeout: 0 });
db.exec('PRAGMA synchronous = FULL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
// timeout 0: busy (a reader or the writer active) skips it to a later idle round instead of waiting.
const truncate = db.prepare('PRAGMA wal_checkpoint(TRUNCATE)');
const dataVersion = db.prepare('PRAGMA data_version');
type CheckpointResult = { busy: number; log: number; checkpointed: number } | undefined;
/** data_version after the last checkpoint that left no frame behind (-1: none yet), and since when. */
let doneAt = -1;
let doneSince = 0;
/** data_version when the -wal file was last emptied. */
let truncatedAt = -1;
let timer: NodeJS.Timeout | undefined;

function round(): void {
  let next = intervalMs;
  try {
    const version = Number(dataVersion.get()?.data_version);
    if (version === doneAt) {
      next = IDLE_MS;
      if (truncatedAt !== version && Date.now() - doneSince >= truncateIdleMs) {
        const r = truncate.get() as CheckpointResult;
        if (r !== undefined && r.busy === 0) truncatedAt = version;
      }
    } else {
      const r = checkpoint.get() as CheckpointResult;
      // A reader's snapshot can hold frames back: then the next round tries again.
      if (r !== undefined && r.busy === 0 && r.checkpointed >= r.log) {
        doneAt = version;
        doneSince = Date.now();
      }
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
