/**
 * `npm run sim -- <scenario> [--json]`: runs sim/scenarios/<scenario>.json (or a path to a scenario
 * file) in its mode (virtual, or full: sim/full/), prints the metrics table (or the results as JSON), and writes
 * sim/results/<scenario>.json and .svg (issue 6).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCompeerError } from '../src/lib/errors.ts';
import { renderPlot } from './report/svg.ts';
import { parseScenarioText } from './scenario.ts';
import { runScenario, type PendingReport, type RunResult } from './simulate.ts';

const here = dirname(fileURLToPath(import.meta.url));

function ms(v: number | null): string {
  return v === null ? '—' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;
}

function pendingRow(p: PendingReport): [string, string] {
  const box = p.outbox === null ? '' : `; at the sender: ${p.outbox.held} held in mailboxes, ${p.outbox.queued} queued, ${p.outbox.absent} gone`;
  const up = p.recipientUpSinceCreatedMs;
  return ['pending at the end', `${p.total}: ${p.recipientOffline} for an offline recipient (${p.recipientNeverUpSince} never up since created), ${p.senderOffline} at an offline sender, ${p.bothUp} with both up${box}; recipient up since created p50 ${ms(up.p50)}, max ${ms(up.max)}`];
}

function table(r: RunResult): string {
  const m = r.messages;
  const rows: [string, string][] = [
    ['scenario', `${r.scenario} (${r.nodes} nodes, ${ms(r.simulatedMs)} simulated, seed ${r.seed})`],
    ['wall time', `${ms(r.wallTimeMs)} (${r.events.toLocaleString('en')} events)`],
    ['messages', `${m.created} created, ${m.delivered} delivered, ${m.pending} pending, ${m.void} void`],
    ['delivery ratio', `${(m.deliveryRatio * 100).toFixed(3)} %`],
    ['duplicates', `${m.duplicates} (redundant copies dropped by dedup: ${m.redundantCopies})`],
    ['lost (TTL over)', String(m.lost)],
    ...(r.pendingAtEnd === undefined || r.pendingAtEnd.total === 0 ? [] : [pendingRow(r.pendingAtEnd)]),
    ['latency p50/p95/p99', `${ms(m.latencyMs.p50)} / ${ms(m.latencyMs.p95)} / ${ms(m.latencyMs.p99)}`],
    ['overhead', r.overhead === null ? '—' : `${r.overhead.toFixed(1)} transmissions per delivered message`],
    ['new node knows 8 peers', `p50 ${ms(m.knows8PeersMs.p50)}, p95 ${ms(m.knows8PeersMs.p95)}, max ${ms(m.knows8PeersMs.max)} (${m.knows8PeersMs.count}/${r.newNodes} nodes)`],
    ['heal to flushed queues', m.healFlushMs.length === 0 ? '—' : m.healFlushMs.map((h) => `${ms(h.flushMs)} (${h.queued} queued, ${h.undelivered} undelivered)`).join('; ')],
    ['peer table size', `min ${r.tableSize.min}, mean ${r.tableSize.mean.toFixed(0)}, max ${r.tableSize.max}`],
    ['honest share of tables', r.honestTable.min === null ? '—' : `min ${(r.honestTable.min * 100).toFixed(1)} %, mean ${((r.honestTable.mean ?? 0) * 100).toFixed(1)} %, ${r.honestTable.nodesBelow80} nodes below 80 %`],
    ['survivors in one component', `${r.survivorsReachable.afterRemoval.map((x) => `${(x * 100).toFixed(1)} %`).join(', ') || '—'} after removal; ${(r.survivorsReachable.atEnd * 100).toFixed(1)} % at end`],
    ['memory per node', `${(r.memoryPerNodeBytes / 1024).toFixed(1)} KiB (heap delta / nodes)`],
    ['node model', r.model],
  ];
  const g = r.routing;
  if (g !== null) {
    const mm = g.mailboxModel;
    rows.push(
      ['paths', `${g.pathSendsOk} of ${g.pathSends} sends taken; ${g.relayed} packets relayed; ${g.hopTimeouts} hop timeouts; ${g.acksSent} acks`],
      ['mailboxes', `${g.held} messages held (${g.holderCopies} copies, ${g.depositNoHolder} of ${g.depositAttempts} deposits taken by no holder); ${g.heldDelivered} of them delivered, ${g.deliveredFromMailbox} first from a mailbox`],
      ['mailbox loss model', `${(1 - mm.holderUp).toFixed(1)}^${mm.replicas} = ${(mm.modelLoss * 100).toFixed(1)} % → ${mm.modelLostOfHeld} of ${g.held} held lost without retries; the run lost ${mm.runLostOfHeld}`],
    );
  }
  const f = r.full;
  if (f !== undefined) {
    rows.push(
      ['full mode', `memory latency ${f.latencyMs} ms per buffer; booted at ${ms(f.bootedAtMs)}, introduced at ${ms(f.introducedAtMs)} (${f.introductions.ok} introductions, ${f.introductions.failed} failed); ${f.boots} node starts`],
      ['memory per node (RSS)', `${(f.rssPerNodeBytes / 1024 / 1024).toFixed(2)} MiB (RSS delta / nodes; heap ${(f.heapPerNodeBytes / 1024 / 1024).toFixed(2)} MiB)`],
      ['acks, errors', `${f.acked} delivered messages acked to their sender; ${f.sendErrors} sends refused; ${f.stepFailures} failed steps`],
      ['undelivered at sender', Object.entries(f.undeliveredBySenderStatus).map(([k, v]) => `${v} ${k}`).join(', ') || '—'],
      ['partition gater', `${f.cutConnections} connections hung up, ${f.refusedByGater} dials or connections refused`],
    );
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
  lines.push('', 'targets:');
  for (const t of r.targets) lines.push(`  ${t.met ? 'met   ' : 'MISSED'} ${t.name} ${t.target}: ${t.value === null ? '—' : Number.isInteger(t.value) ? t.value : t.value.toFixed(4)}`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const names = argv.filter((a) => !a.startsWith('--'));
  if (names.length !== 1) {
    console.error('usage: npm run sim -- <scenario | path.json> [--json]');
    return 2;
  }
  const name = names[0] as string;
  const file = name.endsWith('.json') ? name : join(here, 'scenarios', `${name}.json`);
  try {
    const scenario = parseScenarioText(readFileSync(file, 'utf8'));
    const every = scenario.mode === 'full' ? 10_000 : 10 * 60_000;
    const progress = json ? {} : { progressEveryMs: every, onProgress: (t: number) => console.error(`  … ${ms(t)} ${scenario.mode === 'full' ? 'run' : 'simulated'}`) };
    const result =
      scenario.mode === 'full'
        ? await (await import('./full/simulate-full.ts')).runFullScenario(scenario, { ...progress, ...(!json && { onSetup: (what: string) => console.error(`  … setup: ${what}`) }) })
        : await runScenario(scenario, progress);
    const outDir = join(here, 'results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, `${scenario.name}.json`), JSON.stringify(result, null, 2) + '\n');
    writeFileSync(join(outDir, `${scenario.name}.svg`), renderPlot(`${scenario.name}: ${scenario.nodes} nodes`, result.series, result.faults, result.simulatedMs));
    console.log(json ? JSON.stringify(result, null, 2) : table(result));
    return 0;
  } catch (e) {
    if (isCompeerError(e)) {
      console.error(`sim: ${e.code}: ${e.message}`);
      return 1;
    }
    if ((e as { code?: string }).code === 'ENOENT') {
      console.error(`sim: no scenario file ${file}`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
