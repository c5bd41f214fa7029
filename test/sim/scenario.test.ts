/** Scenario validation: every committed scenario parses; malformed ones fail with typed errors naming the field. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DecodeError, ErrorCodes, LimitError } from '../../src/lib/errors.ts';
import { parseScenario, parseScenarioText } from '../../sim/scenario.ts';
import { scenarioJson } from './helpers.ts';

const dir = new URL('../../sim/scenarios/', import.meta.url);

function rejects(value: unknown, type: typeof DecodeError | typeof LimitError, message: RegExp): void {
  assert.throws(() => parseScenario(value), (e: unknown) => e instanceof type && message.test((e as Error).message));
}

describe('scenario format', () => {
  it('parses every committed scenario, each named after its file', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 9, `expected the 9 scenarios of issue 6, found ${files.length}`);
    for (const f of files) {
      const s = parseScenarioText(readFileSync(new URL(f, dir), 'utf8'));
      assert.equal(`${s.name}.json`, f);
    }
  });

  it('accepts the helper scenario and keeps its values', () => {
    const s = parseScenario(scenarioJson({ faults: [{ type: 'partition', atMs: 10, healAtMs: 20, fraction: 0.2 }] }));
    assert.equal(s.nodes, 50);
    assert.equal(s.node.model, 'direct', 'the node model defaults to direct');
    assert.equal(parseScenario(scenarioJson({ node: { ...(scenarioJson().node as Record<string, unknown>), model: 'routed' } })).node.model, 'routed');
    assert.deepEqual(s.faults, [{ type: 'partition', atMs: 10, healAtMs: 20, fraction: 0.2 }]);
  });

  it('names the field of every kind of mistake', () => {
    rejects(scenarioJson({ extra: 1 }), DecodeError, /^scenario\.extra: unknown field$/);
    const { seed: _seed, ...noSeed } = scenarioJson();
    rejects(noSeed, DecodeError, /^scenario\.seed: missing$/);
    rejects(scenarioJson({ mode: 'fast' }), DecodeError, /^scenario\.mode: expected 'virtual' \| 'full'/);
    rejects(scenarioJson({ nodes: 1.5 }), DecodeError, /^scenario\.nodes: expected an integer/);
    rejects(scenarioJson({ nodes: 1_000_000 }), LimitError, /at most/);
    rejects(scenarioJson({ name: 'Bad Name' }), DecodeError, /^scenario\.name: expected a string/);
    const net = scenarioJson().network as Record<string, unknown>;
    rejects(scenarioJson({ network: { ...net, loss: 1 } }), DecodeError, /^scenario\.network\.loss: expected a number in \[0, 1\), got 1$/);
    rejects(scenarioJson({ network: { ...net, latency: { baseMs: 1, spreadMs: 0, jitterMs: 0, distribution: 'normal' } } }), DecodeError, /latency\.distribution/);
    rejects(scenarioJson({ faults: [{ type: 'meteor' }] }), DecodeError, /^scenario\.faults\[0\]\.type: expected/);
    rejects(scenarioJson({ faults: [{ type: 'partition', atMs: 100, healAtMs: 50, fraction: 0.2 }] }), DecodeError, /^scenario\.faults\[0\]\.healAtMs: expected a number in \[100,/);
    rejects(scenarioJson({ faults: [{ type: 'churn', fraction: 0.3, meanOnMs: 1, meanOffMs: 1 }] }), DecodeError, /faults\[0\]\.startMs: missing/);
    rejects(scenarioJson({ faults: {} }), DecodeError, /^scenario\.faults: expected an array, got an object$/);
    rejects('[]', DecodeError, /^scenario: expected an object/);
    rejects(scenarioJson({ node: { ...(scenarioJson().node as Record<string, unknown>), model: 'gossip' } }), DecodeError, /^scenario\.node\.model: expected 'direct' \| 'routed'/);
    assert.throws(() => parseScenarioText('{'), (e: unknown) => e instanceof DecodeError && e.code === ErrorCodes.INVALID_ENCODING);
  });
});
