/**
 * `npm run bench -- <suite> [--runs N] [--warmup N] [--budget MS] [--case TEXT]`
 * Loads bench/suites/<suite>.ts, measures every case (ours and baseline, alternating, median of runs),
 * prints a markdown table and writes bench/results/<suite>.json. With no suite: lists the suites.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { median, type Case, type Suite } from './harness.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const suitesDir = join(benchDir, 'suites');

interface CaseResult {
  name: string;
  unit: string;
  ours: number;
  baseline: number;
  baselineName: string;
  ratio: number;
  better: 'higher' | 'lower';
}

function suiteNames(): string[] {
  return readdirSync(suitesDir).filter((f) => f.endsWith('.ts') && !f.startsWith('_')).map((f) => f.slice(0, -3)).sort();
}

async function loadSuite(name: string): Promise<Suite> {
  const mod = (await import(pathToFileURL(join(suitesDir, `${name}.ts`)).href)) as { default?: Suite; suite?: Suite };
  const suite = mod.default ?? mod.suite;
  if (suite === undefined || !Array.isArray(suite.cases)) throw new Error(`bench/suites/${name}.ts exports no Suite (default export)`);
  return suite;
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return v.toPrecision(3);
}

export function markdownTable(results: readonly CaseResult[]): string {
  const rows = results.map((r) =>
    `| ${r.name} | ${r.unit} | ${formatNumber(r.ours)} | ${formatNumber(r.baseline)} (${r.baselineName}) | ${r.ratio.toFixed(2)}× | ${r.better} |`);
  return ['| case | unit | ours | baseline (name) | ratio | better |', '| --- | --- | ---: | ---: | ---: | --- |', ...rows].join('\n');
}

async function measure(c: Case, o: { runs: number; warmup: number; budget: number }): Promise<CaseResult> {
  const p = await c.prepare();
  try {
    for (let i = 0; i < o.warmup; i++) {
      await p.ours(o.budget / 2);
      await p.baseline(o.budget / 2);
    }
    const ours: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      // Alternate which side goes first so slow drift (thermal, GC, page cache) hits both alike.
      if (i % 2 === 0) {
        ours.push(await p.ours(o.budget));
        base.push(await p.baseline(o.budget));
      } else {
        base.push(await p.baseline(o.budget));
        ours.push(await p.ours(o.budget));
      }
    }
    const m = median(ours);
    const b = median(base);
    return { name: c.name, unit: c.unit, ours: m, baseline: b, baselineName: c.baselineName, ratio: m / b, better: c.better };
  } finally {
    await p.close?.();
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      runs: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      budget: { type: 'string', default: '1000' },
      case: { type: 'string' },
    },
  });
  const names = suiteNames();
  if (positionals.length === 0) {
    console.log('Suites (npm run bench -- <suite>):');
    for (const n of names) console.log(`  ${n.padEnd(12)} ${(await loadSuite(n).catch(() => undefined))?.description ?? ''}`);
    return 0;
  }
  const [name] = positionals;
  if (name === undefined || !names.includes(name)) {
    console.error(`bench: unknown suite "${name}"; suites: ${names.join(', ')}`);
    return 2;
  }
  const o = { runs: Number(values.runs), warmup: Number(values.warmup), budget: Number(values.budget) };
  if (![o.runs, o.warmup, o.budget].every((n) => Number.isInteger(n) && n >= 0) || o.runs < 1) {
    console.error('bench: --runs (>= 1), --warmup and --budget must be non-negative integers');
    return 2;
  }
  const suite = await loadSuite(name);
  const cases = suite.cases.filter((c) => values.case === undefined || c.name.includes(values.case));
  const cpu = `${cpus()[0]?.model.trim() ?? 'unknown'} × ${cpus().length}`;
  console.error(`bench ${name}: ${cases.length} cases, ${o.runs} runs of ${o.budget} ms (+${o.warmup} warmup), Node ${process.version}, ${cpu}`);
  const results: CaseResult[] = [];
  for (const c of cases) {
    console.error(`  ${c.name} …`);
    results.push(await measure(c, o));
  }
  console.log(markdownTable(results));
  const out = join(benchDir, 'results', `${name}.json`);
  mkdirSync(dirname(out), { recursive: true });
  const record = { suite: name, node: process.version, cpu, date: new Date().toISOString(), cases: results };
  writeFileSync(out, `${JSON.stringify(record, null, 2)}\n`);
  console.error(`wrote ${out}`);
  return 0;
}

if (import.meta.main) process.exitCode = await main();
