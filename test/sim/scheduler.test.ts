/**
 * The scheduler orders events by (time, scheduling order), so one seed gives one event trace; and the
 * seeded streams are reproducible and independent per fork.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { seededRandom } from '../../sim/engine/random.ts';
import { createScheduler, type EventId, type TraceEntry } from '../../sim/engine/scheduler.ts';

/** A workload whose events schedule, chain and cancel more events at random (many same-time ties). */
function trace(seed: string): TraceEntry[] {
  const r = seededRandom(seed);
  const s = createScheduler();
  const out: TraceEntry[] = [];
  s.onEvent = (e) => out.push(e);
  const ids: EventId[] = [];
  const spawn = (depth: number): void => {
    const n = r.int(3);
    for (let i = 0; i < n && depth < 6; i++) {
      const label = `d${depth}-${r.int(1000)}`;
      ids.push(s.after(r.int(5) * 10, () => spawn(depth + 1), label));
    }
    if (ids.length > 0 && r.chance(0.2)) s.cancel(r.pick(ids));
  };
  for (let i = 0; i < 50; i++) s.schedule(r.int(100), () => spawn(0), `root${i}`);
  s.runUntil(10_000);
  return out;
}

describe('scheduler', () => {
  it('gives the same event trace for the same seed, another for another seed', () => {
    const a = trace('seed-a');
    assert.ok(a.length > 100, `expected a busy trace, got ${a.length} events`);
    assert.deepEqual(trace('seed-a'), a);
    assert.notDeepEqual(trace('seed-b'), a);
  });

  it('runs events in (time, scheduling order), skips cancelled ones, stops at the bound', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.integer({ min: 0, max: 50 }), cancel: fc.boolean() }), { maxLength: 200 }), (plan) => {
        const s = createScheduler();
        const ran: number[] = [];
        const ids = plan.map((p, i) => s.schedule(p.at, () => ran.push(i)));
        plan.forEach((p, i) => {
          if (p.cancel) s.cancel(ids[i] as EventId);
        });
        s.runUntil(25);
        const expected = plan.map((p, i) => ({ ...p, i })).filter((p) => !p.cancel && p.at <= 25).sort((x, y) => x.at - y.at || x.i - y.i).map((p) => p.i);
        assert.deepEqual(ran, expected);
        assert.equal(s.now(), 25);
      }),
    );
  });

  it('runUntilAsync: promise continuations an event sets off run at that event\'s time, before the next event', async () => {
    const s = createScheduler();
    const seen: string[] = [];
    let pending: Promise<void> | undefined;
    const later = async (label: string): Promise<void> => {
      await Promise.resolve();
      await Promise.resolve();
      seen.push(`${label}@${s.now()}`);
    };
    s.schedule(10, () => void (pending = later('a')));
    s.schedule(10, () => seen.push(`b@${s.now()}`));
    s.schedule(20, () => seen.push(`c@${s.now()}`));
    const settle = (): Promise<void> | undefined => {
      if (pending === undefined) return undefined;
      pending = undefined;
      return new Promise((resolve) => setImmediate(resolve));
    };
    assert.equal(await s.runUntilAsync(30, settle), 3);
    assert.deepEqual(seen, ['a@10', 'b@10', 'c@20']);
    assert.equal(s.now(), 30);
    // Without settling, the same continuation lands after every event of the run.
    const t = createScheduler();
    const order: string[] = [];
    t.schedule(10, () => void (async () => {
      await Promise.resolve();
      order.push('continuation');
    })());
    t.schedule(20, () => order.push('next event'));
    t.runUntil(30);
    await Promise.resolve();
    await Promise.resolve();
    assert.deepEqual(order, ['next event', 'continuation']);
  });

  it('refuses to schedule in the past and reports a second cancel', () => {
    const s = createScheduler();
    s.runUntil(100);
    assert.throws(() => s.schedule(99, () => {}), RangeError);
    const id = s.after(5, () => {});
    assert.equal(s.cancel(id), true);
    assert.equal(s.cancel(id), false);
  });

  it('seeded streams repeat, forks differ and draws stay in range', () => {
    const a = seededRandom('x');
    const b = seededRandom('x');
    const xs = Array.from({ length: 1000 }, () => a.next());
    assert.deepEqual(Array.from({ length: 1000 }, () => b.next()), xs);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    assert.notDeepEqual(Array.from({ length: 10 }, seededRandom('x').fork('net').next), Array.from({ length: 10 }, seededRandom('x').next));
    const mean = Array.from({ length: 20_000 }, () => a.exp(100)).reduce((s, v) => s + v, 0) / 20_000;
    assert.ok(Math.abs(mean - 100) < 5, `exponential mean ${mean}`);
  });
});
