/**
 * The requester's deadline in src/net/request.ts: a timer that is cleared when the exchange ends — a
 * finished request leaves no timer behind (an AbortSignal.timeout would fire later anyway, costing a
 * DOMException and an abort event per request; docs/perf-node.md) — and that still times a request
 * out, alone or together with the caller's own signal.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { utf8 } from '../../src/lib/bytes.ts';
import { NetworkError } from '../../src/lib/errors.ts';
import type { NetNode } from '../../src/net/types.ts';
import { codeOf, sleep, startNode } from './net-helpers.ts';

const ECHO = '/test/deadline-echo/1';
const SLOW = '/test/deadline-slow/1';

/** Timers that keep the process alive (unref'd ones, like the stream pool's, are not listed). */
const liveTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('net/request deadline', () => {
  let a: NetNode;
  let b: NetNode;

  before(async () => {
    [a, b] = await Promise.all([startNode(), startNode()]);
    await a.handle(ECHO, async (req) => req, { rateLimit: false });
    await a.handle(SLOW, async (req) => {
      await sleep(Number(new TextDecoder().decode(req)));
      return req;
    }, { rateLimit: false, timeoutMs: 5_000 });
  });

  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  test('finished requests leave no deadline timer behind', async () => {
    await b.request(a.peerId, a.addresses(), ECHO, utf8('warm-up'), { timeoutMs: 60_000 });
    await sleep(20);
    const before = liveTimers();
    for (let i = 0; i < 50; i++) {
      const res = await b.request(a.peerId, [], ECHO, utf8(`m${i}`), { timeoutMs: 60_000 });
      assert.equal(new TextDecoder().decode(res), `m${i}`);
    }
    await sleep(20);
    // 50 uncleared 60 s deadlines would show here; allow a little slack for libp2p's own timers.
    assert.ok(liveTimers() - before < 10, `live timers grew from ${before} to ${liveTimers()}`);
  });

  test('the deadline still times a request out, with or without a caller signal', async () => {
    for (const signal of [undefined, new AbortController().signal]) {
      const t = b.request(a.peerId, [], SLOW, utf8('1000'), { timeoutMs: 100, ...(signal ? { signal } : {}) });
      await assert.rejects(t, (e: unknown) => e instanceof NetworkError && codeOf(e) === 'TIMEOUT');
    }
  });

  test("the caller's signal aborts a request before the deadline", async () => {
    const ac = new AbortController();
    const t = b.request(a.peerId, [], SLOW, utf8('1000'), { timeoutMs: 60_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(t, (e: unknown) => e instanceof NetworkError && codeOf(e) === 'TIMEOUT');
  });
});
