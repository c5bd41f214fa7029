/**
 * The fault controller on small runs: targeted removal takes the highest-degree nodes and voids their
 * messages; relay failures crash only relay-capable nodes; a Sybil flood goes through the real peer
 * table admission (per-source and per-prefix caps) and the honest traffic still lands.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runScenario } from '../../sim/simulate.ts';
import { scenario } from './helpers.ts';

const noTargets = { deliveryRatio: 0, duplicates: 0, knows8PeersMs: null, healFlushMs: null, honestTableFraction: null, survivorsReachable: null, wallTimeMs: null };

describe('faults', () => {
  it('targeted removal: removes the best-connected fraction, the survivors still deliver to each other', async () => {
    const r = await runScenario(scenario({ durationMs: 300_000, faults: [{ type: 'targeted-removal', atMs: 120_000, fraction: 0.2 }], targets: noTargets }));
    const [event] = r.faults;
    assert.match(event?.detail ?? '', /^removed 10 best-connected nodes/);
    assert.equal(r.survivorsReachable.afterRemoval.length, 1);
    assert.ok(r.survivorsReachable.atEnd > 0.9);
    assert.equal(r.messages.deliveryRatio, 1);
    assert.equal(r.messages.duplicates, 0);
  });

  it('relay failures crash relay-capable nodes each minute and they come back', async () => {
    const r = await runScenario(scenario({ durationMs: 300_000, faults: [{ type: 'relay-failures', fractionPerMinute: 0.5, startMs: 60_000, restartAfterMs: 30_000 }], targets: noTargets }));
    const ticks = r.faults.filter((f) => f.type === 'relay-failures');
    assert.ok(ticks.length >= 4);
    assert.ok(ticks.some((t) => /^crashed [1-9]\d* of/.test(t.detail)));
    assert.equal(r.messages.duplicates, 0);
    assert.equal(r.messages.lost, 0);
  });

  it('Sybil flood: caps bound the Sybil entries, honest delivery is unchanged', async () => {
    const flood = { type: 'sybil-flood', atMs: 60_000, sybilsPerHonest: 10, injectors: 2, prefixes: 4, spreadMs: 30_000 };
    const r = await runScenario(scenario({ durationMs: 300_000, faults: [flood], targets: noTargets }));
    assert.ok((r.transmissionsByKind.announce ?? 0) > 500 * 3);
    assert.ok(r.honestTable.min !== null && r.honestTable.min < 1, 'some Sybils got in (the flood is real)');
    // 4 attacker /16s × 8 per prefix: at most 32 Sybil entries in any table (src/routing/peer-policy.ts caps).
    assert.ok(r.honestTable.mean !== null && r.honestTable.mean > 49 / (49 + 32) - 1e-9, `honest mean ${r.honestTable.mean}`);
    assert.equal(r.messages.deliveryRatio, 1);
    assert.equal(r.messages.duplicates, 0);
  });
});
