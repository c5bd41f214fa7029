/**
 * Whole virtual-mode runs of 50 nodes (real peer table and policy, gossip, outbox backoff): the baseline
 * delivers every message once; a partition queues messages that flush after the heal; crashes keep
 * the store (outbox, dedup set) so churn neither loses nor duplicates; a run is reproducible.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runScenario } from '../../sim/simulate.ts';
import { scenario } from './helpers.ts';

describe('virtual mode, 50 nodes', () => {
  it('baseline: 100 % delivery, 0 duplicates, every new node knows 8 peers within 2 s', async () => {
    const r = await runScenario(scenario());
    assert.ok(r.messages.created > 500, `created ${r.messages.created}`);
    assert.equal(r.messages.delivered, r.messages.created);
    assert.equal(r.messages.deliveryRatio, 1);
    assert.equal(r.messages.duplicates, 0);
    assert.equal(r.messages.lost, 0);
    assert.ok(r.transmissionsByKind.ack !== undefined && r.messages.redundantCopies >= 0);
    assert.equal(r.messages.knows8PeersMs.count, r.newNodes);
    assert.ok((r.messages.knows8PeersMs.max ?? Infinity) <= 2000);
    assert.equal(r.survivorsReachable.atEnd, 1);
    assert.ok(r.targets.every((t) => t.met), JSON.stringify(r.targets));
  });

  it('is reproducible: the same seed gives the same results', async () => {
    const s = scenario({ durationMs: 180_000 });
    const a = await runScenario(s);
    const b = await runScenario(s);
    assert.deepEqual({ ...a, wallTimeMs: 0, memoryPerNodeBytes: 0 }, { ...b, wallTimeMs: 0, memoryPerNodeBytes: 0 });
  });

  it('partition then heal: messages queued across the cut flush after the heal', async () => {
    const s = scenario({ faults: [{ type: 'partition', atMs: 180_000, healAtMs: 240_000, fraction: 0.2 }], targets: { deliveryRatio: 1, duplicates: 0, knows8PeersMs: null, healFlushMs: null, honestTableFraction: null, survivorsReachable: null, wallTimeMs: null } });
    const r = await runScenario(s);
    const [heal] = r.messages.healFlushMs;
    assert.ok(heal !== undefined);
    assert.equal(heal.healAtMs, 240_000);
    assert.ok(heal.queued > 0, 'some messages were queued across the partition');
    assert.equal(heal.undelivered, 0);
    assert.ok(heal.flushMs !== null && heal.flushMs > 0);
    assert.ok(r.transmissionsByKind.dial !== undefined);
    assert.equal(r.messages.deliveryRatio, 1);
    assert.equal(r.messages.duplicates, 0);
    // Some messages waited through most of the one-minute cut.
    assert.ok((r.messages.latencyMs.max ?? 0) > 30_000, `max latency ${r.messages.latencyMs.max}`);
  });

  it('churn: crashed nodes keep outbox and dedup set, so nothing is lost or delivered twice', async () => {
    const s = scenario({ faults: [{ type: 'churn', fraction: 1, meanOnMs: 120_000, meanOffMs: 60_000, startMs: 60_000 }], targets: { deliveryRatio: 1, duplicates: 0, knows8PeersMs: null, healFlushMs: null, honestTableFraction: null, survivorsReachable: null, wallTimeMs: null } });
    const r = await runScenario(s);
    assert.ok(r.faults.some((f) => f.type === 'churn'));
    assert.equal(r.messages.duplicates, 0);
    assert.equal(r.messages.lost, 0);
    // Sessions go on through the drain: a few messages may still wait (within their TTL) for their recipient.
    assert.equal(r.messages.delivered + r.messages.pending, r.messages.created);
    assert.ok(r.messages.deliveryRatio >= 0.99, JSON.stringify(r.messages));
  });
});
