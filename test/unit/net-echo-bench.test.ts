/**
 * src/net/echo-bench.ts: the raw echo floor with its server end on this thread (the node suite's floor)
 * or in a worker thread of its own (as the suite's recipient node runs). Measures nothing here: checks
 * that each layout runs where it says, answers every round trip, and leaves no thread behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { threadId } from 'node:worker_threads';
import { measureEcho } from '../../src/net/echo-bench.ts';

describe('echo floor layouts', () => {
  it('runs the server end on this thread by default', async () => {
    const s = await measureEcho({ mode: 'raw-stream', bytes: 64, count: 20, warmup: 5 });
    assert.equal(s.count, 20);
    assert.equal(s.serverThreadId, threadId);
    assert.ok(s.p50Us > 0 && s.perSecond > 0);
  });

  for (const mode of ['raw-stream', 'raw-per-request'] as const) {
    it(`runs the server end in a worker thread when asked (${mode}), and stops it`, async () => {
      const s = await measureEcho({ mode, bytes: 1024, count: 10, warmup: 2, serverThread: 'worker', coalesceWrites: mode === 'raw-stream' });
      assert.equal(s.count, 10);
      assert.notEqual(s.serverThreadId, threadId);
      assert.ok(s.p50Us > 0 && s.perSecond > 0);
    });
  }
});
