/**
 * A dependency-free SVG plot of a run's series (sim/engine/metrics.ts IntervalPoint): two panels over
 * simulated time — delivery ratio of the messages created in each interval (0..1), and the p50 (solid)
 * and p95 (dashed) latency of the deliveries in each interval (ms, axis from 0 to the largest value). Fault events are drawn as
 * vertical marks. Written beside the results JSON (sim/results/<scenario>.svg).
 */
import type { FaultEvent } from '../engine/faults.ts';
import type { IntervalPoint } from '../engine/metrics.ts';

const W = 760;
const PANEL_H = 200;
const M = { left: 70, right: 20, top: 40, gap: 60, bottom: 40 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(2);
}

interface Line {
  readonly values: readonly (number | null)[];
  readonly color: string;
  readonly dash: boolean;
}

interface Panel {
  readonly title: string;
  readonly unit: string;
  readonly lines: readonly Line[];
  readonly max: number;
}

export function renderPlot(title: string, series: readonly IntervalPoint[], faults: readonly FaultEvent[], endMs: number): string {
  const p50 = series.map((p) => p.latencyP50Ms);
  const p95 = series.map((p) => p.latencyP95Ms);
  const panels: Panel[] = [
    { title: 'delivery ratio (messages created in the interval, delivered by the end)', unit: '', lines: [{ values: series.map((p) => p.deliveryRatio), color: '#1f6feb', dash: false }], max: 1 },
    {
      title: 'latency p50 (solid) and p95 (dashed) of the deliveries in the interval',
      unit: ' ms',
      lines: [
        { values: p50, color: '#d1242f', dash: false },
        { values: p95, color: '#d1242f', dash: true },
      ],
      max: Math.max(1, ...[...p50, ...p95].filter((v): v is number => v !== null)),
    },
  ];
  const plotW = W - M.left - M.right;
  const H = M.top + panels.length * PANEL_H + (panels.length - 1) * M.gap + M.bottom;
  const x = (ms: number): number => M.left + (endMs > 0 ? (ms / endMs) * plotW : 0);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  panels.forEach((p, i) => {
    const top = M.top + i * (PANEL_H + M.gap);
    const y = (v: number): number => top + PANEL_H - (v / p.max) * PANEL_H;
    out.push(`<text x="${M.left}" y="${top - 6}">${esc(p.title)}</text>`);
    out.push(`<rect x="${M.left}" y="${top}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#888"/>`);
    for (const f of [0, 0.5, 1]) {
      out.push(`<text x="${M.left - 6}" y="${y(f * p.max) + 4}" text-anchor="end">${fmt(f * p.max)}${p.unit}</text>`);
      out.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${y(f * p.max)}" y2="${y(f * p.max)}" stroke="#eee"/>`);
    }
    for (const f of faults) {
      out.push(`<line x1="${x(f.atMs)}" x2="${x(f.atMs)}" y1="${top}" y2="${top + PANEL_H}" stroke="#999" stroke-dasharray="3,3"><title>${esc(`${f.type}: ${f.detail}`)}</title></line>`);
    }
    for (const line of p.lines) {
      // One polyline per run of defined points (gaps where an interval has no data).
      let run: string[] = [];
      const flush = (): void => {
        const dash = line.dash ? ' stroke-dasharray="5,3"' : '';
        if (run.length > 1) out.push(`<polyline fill="none" stroke="${line.color}" stroke-width="1.5"${dash} points="${run.join(' ')}"/>`);
        if (run.length === 1) out.push(`<circle cx="${run[0]?.split(',')[0]}" cy="${run[0]?.split(',')[1]}" r="2" fill="${line.color}"/>`);
        run = [];
      };
      line.values.forEach((v, k) => {
        const pt = series[k];
        if (v === null || pt === undefined) return flush();
        run.push(`${x(pt.startMs).toFixed(1)},${y(v).toFixed(1)}`);
      });
      flush();
    }
    out.push(`<text x="${M.left + plotW / 2}" y="${top + PANEL_H + 28}" text-anchor="middle">simulated time (min)</text>`);
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      out.push(`<text x="${x(f * endMs)}" y="${top + PANEL_H + 14}" text-anchor="middle">${fmt((f * endMs) / 60_000)}</text>`);
    }
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
