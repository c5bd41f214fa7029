/**
 * The heal decisions (src/routing/heal.ts) with a fake clock: the redial backoff while cut, when
 * connectivity counts as back (after a cut, not at start, not on churn), the rate limit of heal flushes
 * (one per interval; an ask inside it after a new cut runs once at its end, never more; a second sign of
 * the same recovery is dropped), which outbox entries a heal resets, and the redials of contacts whose
 * mail waits in a partial cut (fast for CONTACT_FAST_MS, then slow; a few per round; the far side
 * answering makes every waiting contact due now, at most once per PROBE_MAX_MS).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CONTACT_EARLY_MAX_MS,
  CONTACT_EARLY_MS,
  CONTACT_FAST_MS,
  CUT_MIN_PEERS,
  looksLikeCut,
  CONTACT_SLOW_MAX_MS,
  createContactProbes,
  createHealTracker,
  healFetchDays,
  healReset,
  HEAL_FETCH_MAX_DAYS,
  HEAL_FETCH_SKEW_MS,
  HEAL_MIN_INTERVAL_MS,
  MIN_CUT_MS,
  nextContactProbeDelay,
  nextProbeDelay,
  PROBE_BASE_MS,
  PROBE_MAX_MS,
} from '../../src/routing/heal.ts';
import { MAILBOX_DAY_MS } from '../../src/protocol/mailbox/keys.ts';

function setup() {
  let now = 50_000;
  const t = createHealTracker({ clock: () => now });
  return { t, advance: (ms: number) => (now += ms), now: () => now };
}

describe('heal: redial backoff', () => {
  it('doubles from the base and stops at the cap, ±20 % jitter', () => {
    assert.equal(nextProbeDelay(0, 0.5), PROBE_BASE_MS);
    assert.equal(nextProbeDelay(1, 0.5), 2 * PROBE_BASE_MS);
    assert.equal(nextProbeDelay(2, 0.5), PROBE_MAX_MS);
    assert.equal(nextProbeDelay(50, 0.5), PROBE_MAX_MS);
    assert.equal(nextProbeDelay(0, 0), 0.8 * PROBE_BASE_MS);
    assert.equal(nextProbeDelay(9, 0.999999), Math.round(PROBE_MAX_MS * (0.8 + 0.4 * 0.999999)));
  });

  it('while no remote connection is open: a probe at once, then each after the backoff of the failures so far', () => {
    const { t, advance } = setup();
    assert.deepEqual(t.remote(0, 0.5), { back: false, cutMs: 0, probe: true }, 'the first sample with none probes');
    t.probeFailed();
    advance(PROBE_BASE_MS - 1);
    assert.equal(t.remote(0, 0.5).probe, false, 'not before the first delay (1 s)');
    advance(1);
    assert.equal(t.remote(0, 0.5).probe, true);
    t.probeFailed();
    advance(2 * PROBE_BASE_MS - 1);
    assert.equal(t.remote(0, 0.5).probe, false, 'then 2 s');
    advance(1);
    assert.equal(t.remote(0, 0.5).probe, true);
    for (let i = 0; i < 10; i++) {
      t.probeFailed();
      advance(PROBE_MAX_MS - 1);
      assert.equal(t.remote(0, 0.5).probe, false, 'capped: never more often than the cap once it is reached…');
      advance(1);
      assert.equal(t.remote(0, 0.5).probe, true, '…and never less often');
    }
  });

  it('open remote connections: no probe, and the backoff starts over after them', () => {
    const { t, advance } = setup();
    assert.equal(t.remote(2, 0.5).probe, false);
    t.remote(0, 0.5);
    t.probeFailed();
    t.probeFailed();
    advance(100);
    t.remote(1, 0.5);
    advance(100);
    assert.equal(t.remote(0, 0.5).probe, true, 'a new cut probes at once');
  });
});

describe('heal: connectivity back', () => {
  it('is back when remote connections return after a cut of at least MIN_CUT_MS, once', () => {
    const { t, advance } = setup();
    t.remote(3, 0.5);
    t.remote(0, 0.5);
    advance(MIN_CUT_MS);
    assert.deepEqual(t.remote(1, 0.5), { back: true, cutMs: MIN_CUT_MS, probe: false });
    advance(1_000);
    assert.equal(t.remote(2, 0.5).back, false, 'only the first sample after the cut');
  });

  it('is not back after churn shorter than MIN_CUT_MS, nor on the first connections after start', () => {
    const { t, advance } = setup();
    t.remote(0, 0.5);
    advance(60_000);
    assert.equal(t.remote(1, 0.5).back, false, 'start: nothing was lost');
    t.remote(0, 0.5);
    advance(MIN_CUT_MS - 1);
    assert.equal(t.remote(1, 0.5).back, false, 'a connection replaced quickly is churn');
  });

  it('refuses a count that is not a non-negative integer', () => {
    const { t } = setup();
    assert.throws(() => t.remote(-1, 0.5), /remote connections/);
    assert.throws(() => t.remote(1.5, 0.5), /remote connections/);
  });
});

describe('heal: rate limit', () => {
  /** Connected, then cut: what a flap looks like to the tracker. */
  const flap = (t: ReturnType<typeof setup>['t']): void => {
    t.remote(1, 0.5);
    t.remote(0, 0.5);
  };

  it('runs the first ask; an ask inside the interval after a new cut is deferred to its end and runs once there', () => {
    const { t, advance } = setup();
    assert.equal(t.due(), undefined, 'nothing deferred yet');
    assert.deepEqual(t.ask(), { run: true });
    advance(5_000);
    flap(t);
    assert.deepEqual(t.ask(), { run: false, inMs: HEAL_MIN_INTERVAL_MS - 5_000 });
    advance(1_000);
    flap(t);
    assert.deepEqual(t.ask(), { run: false, inMs: HEAL_MIN_INTERVAL_MS - 6_000 }, 'a flapping link asks again: still one pending');
    advance(HEAL_MIN_INTERVAL_MS - 6_000 - 1);
    assert.deepEqual(t.due(), { run: false, inMs: 1 }, 'a timer that fires early waits again');
    advance(1);
    assert.deepEqual(t.due(), { run: true }, 'the deferred heal runs at the end of the interval');
    assert.equal(t.due(), undefined, 'once');
    flap(t);
    assert.equal(t.ask().run, false, 'and it starts a new interval');
  });

  it('two signs of the same recovery (no cut between them): the second is dropped, not deferred', () => {
    const { t, advance } = setup();
    t.remote(2, 0.5);
    t.remote(0, 0.5);
    advance(30_000);
    assert.deepEqual(t.ask(), { run: true }, 'the detector left local-only');
    assert.equal(t.remote(2, 0.5).back, true);
    assert.deepEqual(t.ask(), { run: false, inMs: undefined }, 'connections back: the same heal');
    advance(HEAL_MIN_INTERVAL_MS);
    assert.equal(t.due(), undefined);
    assert.deepEqual(t.ask(), { run: true }, 'after the interval an ask runs again');
  });

  it('a deferred heal is dropped when an ask ran one meanwhile', () => {
    const { t, advance } = setup();
    t.ask();
    advance(1_000);
    flap(t);
    t.ask();
    advance(HEAL_MIN_INTERVAL_MS);
    assert.deepEqual(t.ask(), { run: true });
    assert.equal(t.due(), undefined);
  });

  it('at most one heal per interval over a minute of flapping, whatever the asks', () => {
    const { t, advance } = setup();
    let runs = 0;
    for (let ms = 0; ms < 60_000; ms += 500) {
      flap(t);
      if (t.ask().run) runs++;
      if (t.due()?.run === true) runs++;
      advance(500);
    }
    assert.equal(runs, Math.ceil(60_000 / HEAL_MIN_INTERVAL_MS));
  });
});

describe('heal: the days of mailboxes fetched when a cut ends', () => {
  const day = 20_000 * MAILBOX_DAY_MS;
  it("a cut inside one day: that day's boxes only (the mail it held back went there)", () => {
    assert.equal(healFetchDays(day + 12 * 3600_000, 30_000), 1);
    assert.equal(healFetchDays(day + 3 * 3600_000, 3600_000), 1);
  });
  it('a cut that began the day before, or within HEAL_FETCH_SKEW_MS after midnight (a sender\'s clock may lag): two days', () => {
    assert.equal(healFetchDays(day + 600_000, 1_200_000), 2);
    assert.equal(healFetchDays(day + HEAL_FETCH_SKEW_MS - 1_000, 0), 2);
    assert.equal(healFetchDays(day + HEAL_FETCH_SKEW_MS + 1_000, 0), 1);
  });
  it('never more than HEAL_FETCH_MAX_DAYS (the days a heal always fetched); unknown length: all of them', () => {
    assert.equal(healFetchDays(day + 1_000, 5 * MAILBOX_DAY_MS), HEAL_FETCH_MAX_DAYS);
    assert.equal(healFetchDays(day + 12 * 3600_000, undefined), HEAL_FETCH_MAX_DAYS);
    assert.equal(healFetchDays(1_000, 30_000), 1, 'near the epoch: day 0, nothing before it');
  });
});

describe('heal: which backoff is reset', () => {
  const now = 1_000_000;
  it('queued and sent entries: due now, attempt 0', () => {
    assert.deepEqual(healReset({ state: 'queued', attempts: 7, nextAttemptAt: now + 128_000 }, now, false), { attempts: 0, nextAttemptAt: now });
    assert.deepEqual(healReset({ state: 'sent', attempts: 3, nextAttemptAt: now + 120_000 }, now, false), { attempts: 0, nextAttemptAt: now });
  });
  it('an overdue entry keeps its place in line; one due with attempt 0 needs no change', () => {
    assert.deepEqual(healReset({ state: 'queued', attempts: 2, nextAttemptAt: now - 5 }, now, false), { attempts: 0, nextAttemptAt: now - 5 });
    assert.equal(healReset({ state: 'queued', attempts: 0, nextAttemptAt: now }, now, false), undefined);
  });
  it('held entries only when asked (the recipient connected), else the recipient fetches them', () => {
    const held = { state: 'held', attempts: 1, nextAttemptAt: now + 240_000 } as const;
    assert.equal(healReset(held, now, false), undefined);
    assert.deepEqual(healReset(held, now, true), { attempts: 0, nextAttemptAt: now });
  });
});

describe('heal: redials of waiting contacts (a partial cut)', () => {
  const half = (): number => 0.5;
  function probes() {
    let now = 70_000;
    const p = createContactProbes({ clock: () => now });
    return { p, advance: (ms: number) => (now += ms) };
  }

  it('looksLikeCut: CUT_MIN_PEERS or more and CUT_MIN_SHARE or more of the peers gone in one sample (a trim cuts fewer)', () => {
    assert.equal(looksLikeCut(CUT_MIN_PEERS, CUT_MIN_PEERS), true, 'all of a few peers');
    assert.equal(looksLikeCut(CUT_MIN_PEERS - 1, CUT_MIN_PEERS - 1), false, 'too few to tell from churn');
    assert.equal(looksLikeCut(5, 24), true, 'a fifth of the network cut off: ~20 % of the large side');
    assert.equal(looksLikeCut(3, 27), false, 'a trim cutting 3 of 27');
    assert.equal(looksLikeCut(0, 0), false);
  });

  it('backoff: doubling to PROBE_MAX_MS while the contact has waited under CONTACT_FAST_MS, then up to CONTACT_SLOW_MAX_MS', () => {
    assert.equal(nextContactProbeDelay(0, 0, 0.5), PROBE_BASE_MS);
    assert.equal(nextContactProbeDelay(9, CONTACT_EARLY_MS - 1, 0.5), CONTACT_EARLY_MAX_MS, 'the first minutes: at most 2 s apart');
    assert.equal(nextContactProbeDelay(9, CONTACT_EARLY_MS - 1, 0.999999), Math.round(CONTACT_EARLY_MAX_MS * (0.8 + 0.4 * 0.999999)));
    assert.equal(nextContactProbeDelay(9, CONTACT_EARLY_MS, 0.5), PROBE_MAX_MS);
    assert.equal(nextContactProbeDelay(9, CONTACT_FAST_MS - 1, 0.5), PROBE_MAX_MS);
    assert.equal(nextContactProbeDelay(9, CONTACT_FAST_MS, 0.5), Math.min(CONTACT_SLOW_MAX_MS, PROBE_BASE_MS * 2 ** 9));
    assert.equal(nextContactProbeDelay(40, CONTACT_FAST_MS, 0.5), CONTACT_SLOW_MAX_MS);
  });

  it('a contact not reached is due after the base delay, then on its backoff; repeated failures keep its place', () => {
    const { p, advance } = probes();
    p.unreachable('bob');
    assert.deepEqual(p.due(3, half), [], 'the failed attempt has just dialled it');
    advance(PROBE_BASE_MS);
    p.unreachable('bob'); // another failed attempt: not a new wait
    assert.deepEqual(p.due(3, half), ['bob']);
    assert.deepEqual(p.due(3, half), [], 'not again before its next time');
    let dials = 1;
    for (let ms = 0; ms < 60_000; ms += 500) {
      advance(500);
      dials += p.due(3, half).length;
    }
    // 1 s, then every 2 s (the first CONTACT_EARLY_MS): about 30 in the minute, never once a tick.
    assert.ok(dials >= 27 && dials <= 32, `${dials} redials in a minute`);
    let later = 0;
    advance(CONTACT_EARLY_MS);
    p.due(3, half);
    for (let ms = 0; ms < 60_000; ms += 500) {
      advance(500);
      later += p.due(3, half).length;
    }
    assert.ok(later >= 14 && later <= 16, `then every 4 s: ${later} redials in a minute`);
  });

  it('after CONTACT_FAST_MS the redials thin out to the slow cap', () => {
    const { p, advance } = probes();
    p.unreachable('carol');
    let late = 0;
    for (let ms = 0; ms < CONTACT_FAST_MS + 3600_000; ms += 1_000) {
      advance(1_000);
      const n = p.due(3, half).length;
      if (ms >= CONTACT_FAST_MS + 600_000) late += n;
    }
    assert.ok(late <= Math.ceil(3000_000 / CONTACT_SLOW_MAX_MS) + 1, `${late} redials in the last 50 min`);
    assert.ok(late >= 1, 'but not never');
  });

  it('at most `max` per round, the longest due first; reached or forgotten contacts leave', () => {
    const { p, advance } = probes();
    for (const c of ['a', 'b', 'c', 'd']) {
      p.unreachable(c);
      advance(10);
    }
    advance(PROBE_BASE_MS);
    assert.deepEqual(p.due(3, half), ['a', 'b', 'c']);
    assert.deepEqual(p.due(3, half), ['d']);
    advance(100);
    assert.equal(p.reached('a'), PROBE_BASE_MS + 140);
    assert.equal(p.reached('a'), undefined, 'once');
    p.forget('b');
    assert.deepEqual(p.waiting().sort(), ['c', 'd']);
  });

  it('nudge: every waiting contact due now, its backoff from the start; at most once per PROBE_MAX_MS', () => {
    const { p, advance } = probes();
    p.unreachable('a');
    p.unreachable('b');
    for (let i = 0; i < 20; i++) {
      advance(1_000);
      p.due(3, half);
    }
    assert.deepEqual(p.due(3, half), []);
    assert.equal(p.nudge(), true);
    assert.deepEqual(p.due(3, half).sort(), ['a', 'b']);
    assert.equal(p.nudge(), false, 'not again within PROBE_MAX_MS');
    assert.deepEqual(p.due(3, half), []);
    advance(PROBE_BASE_MS);
    assert.deepEqual(p.due(3, half).sort(), ['a', 'b'], 'the backoff started over (1 s)');
  });

  it('nudgeFast: only contacts in their fast phase, due now with their backoff kept; at most once per PROBE_MAX_MS', () => {
    const { p, advance } = probes();
    p.unreachable('old');
    advance(CONTACT_FAST_MS); // 'old' has waited out its fast phase
    p.unreachable('new');
    for (let i = 0; i < 20; i++) {
      advance(1_000);
      p.due(3, half);
    }
    assert.deepEqual(p.due(3, half), []);
    assert.equal(p.nudgeFast(), true);
    assert.deepEqual(p.due(3, half), ['new'], "the fast one now; 'old' keeps its slow backoff");
    assert.equal(p.nudgeFast(), false, 'not again within PROBE_MAX_MS');
    advance(PROBE_BASE_MS);
    assert.deepEqual(p.due(3, half), [], 'its backoff kept (PROBE_MAX_MS), not started over');
    advance(PROBE_MAX_MS);
    assert.equal(p.nudgeFast(), false, 'nothing to do: the fast one is due anyway');
    assert.deepEqual(p.due(3, half), ['new']);
    p.reached('new');
    advance(PROBE_MAX_MS);
    assert.equal(p.nudgeFast(), false, 'no contact in its fast phase');
  });
});
