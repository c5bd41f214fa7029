/** A small valid scenario for sim tests, with overrides (a plain object: parseScenario validates it). */
import { parseScenario, type Scenario } from '../../sim/scenario.ts';

export function scenarioJson(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'test',
    seed: 'test-seed',
    mode: 'virtual',
    nodes: 50,
    durationMs: 600_000,
    metricsIntervalMs: 60_000,
    network: { latency: { baseMs: 20, spreadMs: 60, jitterMs: 10, distribution: 'exponential' }, loss: 0.01, bandwidthBytesPerSec: null },
    traffic: { messagesPerNodePerMinute: 2, ttlMs: 3_600_000, messageBytes: 512, contactsPerNode: 5, startMs: 60_000, drainMs: 600_000 },
    node: { bootstrapNodes: 5, startWindowMs: 20_000, gossipFanout: 6, maxPeers: 2000, relayFraction: 0.2, retryOnContact: false },
    faults: [],
    targets: { deliveryRatio: 1, duplicates: 0, knows8PeersMs: 2000, healFlushMs: null, honestTableFraction: null, survivorsReachable: 1, wallTimeMs: null },
    ...over,
  };
}

export function scenario(over: Record<string, unknown> = {}): Scenario {
  return parseScenario(scenarioJson(over));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 250 ms until it holds or `timeoutMs` passes (full-mode tests run in real time). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(250);
  }
  return check();
}
