/** The SVG plot: one line per series run, gaps where an interval has no data, fault marks, escaped text. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderPlot } from '../../sim/report/svg.ts';

describe('svg plot', () => {
  it('draws the series with gaps, marks faults and escapes text', () => {
    const series = [0, 1, 2, 3].map((i) => ({ startMs: i * 60_000, created: 10, deliveryRatio: i === 2 ? null : 1, latencyP50Ms: 50 + i, latencyP95Ms: 90 + i }));
    const svg = renderPlot('a <b> & "c"', series, [{ atMs: 60_000, type: 'partition', detail: '1 < 2' }], 240_000);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    assert.match(svg, /a &lt;b&gt; &amp; &quot;c&quot;/);
    assert.match(svg, /partition: 1 &lt; 2/);
    // Delivery: a run of 2 points (a polyline) then one point (a circle); latency: p50 and p95 polylines.
    assert.equal(svg.match(/<polyline/g)?.length, 3);
    assert.equal(svg.match(/<circle/g)?.length, 1);
    assert.equal(svg.match(/stroke-dasharray="5,3"/g)?.length, 1);
  });
});
