/**
 * The heal decisions (docs/delivery.md "Heal"), pure: when a node that lost its remote peers should try
 * to reach them again, when connectivity counts as back, and whether a heal flush may run now.
 *
 *   probe   while no remote connection is open, redial a few known peers: nobody else will (libp2p
 *           redials only KEEP_ALIVE-tagged peers, a few times) and a node that dials nobody never sees
 *           the network come back. Backoff from PROBE_BASE_MS, doubling, capped at PROBE_MAX_MS, ±20 %
 *           jitter: a few dials every few seconds while cut, so a heal is seen within seconds.
 *   back    remote connections went from none (for at least MIN_CUT_MS) to some: connectivity returned.
 *           A connection replaced within MIN_CUT_MS is churn, not a cut; the first connections after
 *           start are not a heal either (nothing was lost).
 *   reset   a heal sets the outbox entries' backoff (grown during the cut: up to RETRY_MAX_MS) back to
 *           "due now, attempt 0". Entries `held` in mailboxes keep theirs — the recipient fetches them —
 *           unless the recipient's own node just connected (then direct is the fastest way).
 *   gate    at most one heal flush per HEAL_MIN_INTERVAL_MS (a flapping link must not turn into a retry
 *           storm). A heal asked for inside the interval after a new cut is not lost: it runs once at the
 *           interval's end; one asked for the same recovery (the detector leaving local-only and the
 *           connections coming back are two signs of one heal) is dropped.
 *   contact a partial cut: the node keeps peers on its own side (so `probe` never starts) but a contact's
 *           node could not be reached and its mail waits (held in mailboxes, or queued). Nobody on its
 *           side will reconnect across the cut for it, so that contact's node is redialled on its own
 *           backoff: from PROBE_BASE_MS doubling to CONTACT_EARLY_MAX_MS for CONTACT_EARLY_MS, then
 *           to PROBE_MAX_MS while it has waited less than CONTACT_FAST_MS (a cut that heals is seen
 *           within seconds), then to CONTACT_SLOW_MAX_MS (a
 *           contact that is simply offline costs one dial per few minutes). At most PROBE_PEERS dials
 *           per round. A waiting contact reached again (by a probe, or its node connecting) is evidence
 *           that the far side is back: every other waiting contact is due at once (`nudge`, at most once
 *           per PROBE_MAX_MS). A weaker sign — a peer we had lost for MIN_CUT_MS or more connecting
 *           again — makes the contacts still in their fast phase due at once (`nudgeFast`, at most once
 *           per PROBE_MAX_MS, their backoff kept): after a heal the first connections across the cut
 *           came 1–10 s before a contact's own redial found it (full-partition, 26 Nov), and at most
 *           one more dial per PROBE_MAX_MS per contact is what the fast phase costs anyway.
 *
 * What a heal does (the node carries it out: src/node/heal.ts): it resets the outbox backoff grown
 * during the cut, flushes every contact now and fetches its mailboxes now.
 * This module knows nothing of libp2p, timers, the outbox or the detector; time comes from the Clock.
 */
import { assertInteger } from '../lib/assert.ts';
import type { Clock } from '../lib/deps.ts';
import { mailboxDay } from '../protocol/mailbox/keys.ts';
import { jitteredBackoff, RETRY_MAX_MS } from './delivery-policy.ts';

export const PROBE_BASE_MS = 1_000;
/** The longest wait between redial rounds while cut: a heal is seen within this plus one dial. */
export const PROBE_MAX_MS = 4_000;
/** Known peers redialled per round. */
export const PROBE_PEERS = 3;
/** No remote connection for at least this long before a new one counts as connectivity returning. */
export const MIN_CUT_MS = 2_000;
export const HEAL_MIN_INTERVAL_MS = 15_000;
/**
 * A waiting contact is redialled at most CONTACT_EARLY_MAX_MS apart for its first CONTACT_EARLY_MS: a
 * cut that heals within minutes is then seen by the sender's own redial within 2.4 s plus a tick, the
 * bound of heal-to-flush when no other sign comes (issue 6: 10 s after the heal; the redials came up to
 * 5.8 s after it at the 4 s pace, full-partition, 26 Nov). At most one dial per 2 s per waiting contact.
 */
export const CONTACT_EARLY_MS = 2 * 60_000;
export const CONTACT_EARLY_MAX_MS = 2_000;
/** Then at the fast pace (up to PROBE_MAX_MS apart) until it has waited this long. */
export const CONTACT_FAST_MS = 10 * 60_000;
/** Then at most this far apart (the outbox's own retry cap). */
export const CONTACT_SLOW_MAX_MS = RETRY_MAX_MS;

/**
 * A sample in which at least this many remote peers, and this share of those connected at the sample
 * before, went away at once is a cut of part of the network (`looksLikeCut`). The trim closes 1–3 of
 * 24–29 connections at a time (≤ 12 %); a cut of a fifth of the nodes took ~20 % of a node's
 * connections on the large side and ~80 % on the small one (full-partition, 26 Nov).
 */
export const CUT_MIN_PEERS = 3;
export const CUT_MIN_SHARE = 0.15;

/** Whether losing `gone` of the `had` remote peers connected at the last sample looks like a cut (above). */
export function looksLikeCut(gone: number, had: number): boolean {
  return gone >= CUT_MIN_PEERS && gone >= had * CUT_MIN_SHARE;
}

/** Delay before redial round `rounds + 1` while cut; `unit` is a uniform draw in [0, 1). */
export function nextProbeDelay(rounds: number, unit: number): number {
  return jitteredBackoff(PROBE_BASE_MS, PROBE_MAX_MS, rounds, 10, unit);
}

export interface HealOptions {
  readonly clock: Clock;
  readonly minCutMs?: number;
  readonly minIntervalMs?: number;
}

/** What `remote()` says about one sample of the remote connection count. */
export interface RemoteVerdict {
  /** Connectivity returned after a cut of at least minCutMs (ms it lasted). */
  readonly back: boolean;
  readonly cutMs: number;
  /** No remote connection: redial known peers now (the backoff is due). */
  readonly probe: boolean;
}

/**
 * A heal asked for: run it now; or deferred, due in `inMs` (one run then covers every ask meanwhile);
 * or dropped (`inMs` undefined: a heal ran since the last cut).
 */
export type HealDecision = { readonly run: true } | { readonly run: false; readonly inMs: number | undefined };

export interface HealTracker {
  /** One sample of the open remote (non-LAN) connections; `unit` a uniform draw for the probe jitter. */
  remote(count: number, unit: number): RemoteVerdict;
  /** A probe round ran and reached nobody: the next waits longer. */
  probeFailed(): void;
  /** A heal is wanted now (connectivity back, or the detector left local-only). */
  ask(): HealDecision;
  /** The timer of a deferred heal fired: run it now (once), or undefined when none is pending. */
  due(): HealDecision | undefined;
}

/** The backoff part of an outbox entry (src/store/outbox.ts). */
export interface Backoff {
  readonly state: 'queued' | 'sent' | 'held';
  readonly attempts: number;
  readonly nextAttemptAt: number;
}

/**
 * The change a heal makes to an entry's backoff — due at `dueAt` (default `now`; later by a jitter when
 * many entries go again at once), attempt 0 — or undefined when it is due by then already (or held and
 * kept).
 */
export function healReset(e: Backoff, now: number, includeHeld: boolean, dueAt: number = now): { attempts: number; nextAttemptAt: number } | undefined {
  if (e.state === 'held' && !includeHeld) return undefined;
  if (e.nextAttemptAt <= dueAt && e.attempts === 0) return undefined;
  return { attempts: 0, nextAttemptAt: Math.min(e.nextAttemptAt, dueAt) };
}

/**
 * A waiting contact whose node is connected to ours when the network changes (a lost peer back, the far
 * side back): its entries are due again within this jitter, not at once, so that the contacts of the
 * many nodes a heal reaches at the same moment do not all send in the same instant (the outbox tick,
 * every second, sends them).
 */
export const CONNECTED_RETRY_JITTER_MS = 1_000;

/** Days of mailboxes a heal fetched before the cut's length was taken into account, and still its most. */
export const HEAL_FETCH_MAX_DAYS = 2;
/**
 * How far a sender's clock may be behind ours when it names the day of a deposit (mailbox addresses are
 * per UTC day of the sender's clock, src/protocol/mailbox/keys.ts): a cut that began this close to
 * midnight also fetches the day before.
 */
export const HEAL_FETCH_SKEW_MS = 3_600_000;

/**
 * Days of our mailboxes to fetch when a cut of `cutMs` ends at `now` (undefined: length unknown): the
 * days the cut covered, with HEAL_FETCH_SKEW_MS before it, at most HEAL_FETCH_MAX_DAYS. Mail for us
 * deposited on the far side went into the boxes of those days; older mail is the polling's. Why: a
 * heal's fetches are most of what 40 nodes send right after it — in full-partition under load (26 Nov,
 * heal6) 1,370 and 1,550 mailbox requests in the 20 s after the heal against 270 and 310 onion
 * packets, each box asked of its 3 holders (new connections, mostly), the one process's loop busy for
 * seconds with them — and yesterday's boxes hold nothing a 30 s cut put there: one day, not two.
 */
export function healFetchDays(now: number, cutMs: number | undefined): number {
  if (cutMs === undefined || !Number.isFinite(cutMs)) return HEAL_FETCH_MAX_DAYS;
  const from = Math.max(0, Math.floor(now - Math.max(0, cutMs) - HEAL_FETCH_SKEW_MS));
  return Math.min(HEAL_FETCH_MAX_DAYS, mailboxDay(Math.floor(now)) - mailboxDay(from) + 1);
}

export function createHealTracker(opts: HealOptions): HealTracker {
  const clock = opts.clock;
  const minCutMs = opts.minCutMs ?? MIN_CUT_MS;
  const minIntervalMs = opts.minIntervalMs ?? HEAL_MIN_INTERVAL_MS;
  assertInteger(minCutMs, 'minCutMs', 0, Number.MAX_SAFE_INTEGER);
  assertInteger(minIntervalMs, 'minIntervalMs', 0, Number.MAX_SAFE_INTEGER);
  /** When the remote connections last went to none (undefined: some are open, or never sampled). */
  let noneSince: number | undefined;
  let hadRemote = false;
  let rounds = 0;
  let nextProbeAt = 0;
  let lastHeal: number | undefined;
  let deferred = false;
  /** The remote connections went to none since the last heal ran. */
  let cutSinceHeal = true;

  const decide = (): HealDecision => {
    const now = clock();
    if (lastHeal === undefined || now - lastHeal >= minIntervalMs) {
      lastHeal = now;
      deferred = false;
      cutSinceHeal = false;
      return { run: true };
    }
    if (!cutSinceHeal && !deferred) return { run: false, inMs: undefined };
    deferred = true;
    return { run: false, inMs: lastHeal + minIntervalMs - now };
  };

  return {
    remote(count, unit) {
      assertInteger(count, 'remote connections', 0, Number.MAX_SAFE_INTEGER);
      const now = clock();
      if (count > 0) {
        const cutMs = noneSince === undefined ? 0 : now - noneSince;
        const back = hadRemote && noneSince !== undefined && cutMs >= minCutMs;
        hadRemote = true;
        noneSince = undefined;
        rounds = 0;
        nextProbeAt = 0;
        return { back, cutMs, probe: false };
      }
      if (noneSince === undefined) {
        noneSince = now;
        if (hadRemote) cutSinceHeal = true;
      }
      if (now < nextProbeAt) return { back: false, cutMs: now - noneSince, probe: false };
      nextProbeAt = now + nextProbeDelay(rounds, unit);
      return { back: false, cutMs: now - noneSince, probe: true };
    },
    probeFailed() {
      rounds++;
    },
    ask: decide,
    due() {
      return deferred ? decide() : undefined;
    },
  };
}

/** Delay before redialling a waiting contact again: `tries` dials so far, waiting for `waitedMs`. */
export function nextContactProbeDelay(tries: number, waitedMs: number, unit: number): number {
  const cap = waitedMs < CONTACT_EARLY_MS ? CONTACT_EARLY_MAX_MS : waitedMs < CONTACT_FAST_MS ? PROBE_MAX_MS : CONTACT_SLOW_MAX_MS;
  return jitteredBackoff(PROBE_BASE_MS, cap, tries, 10, unit);
}

/** The contacts whose node could not be reached while their mail waits, and when to redial each. */
export interface ContactProbes {
  /** An attempt could not reach the contact's node: redial it from now on (kept if already waiting). */
  unreachable(contact: string): void;
  /** The contact's node was reached: no more redials. Returns how long it had waited (undefined: it was not). */
  reached(contact: string): number | undefined;
  /** The contact is gone (removed): forget it. */
  forget(contact: string): void;
  /** Up to `max` contacts due for a redial now, longest due first; each gets its next time. */
  due(max: number, unit: () => number): string[];
  /** The far side answered again: every waiting contact is due now. False when one ran within PROBE_MAX_MS. */
  nudge(): boolean;
  /**
   * A peer lost for a while is back (maybe the far side): contacts waiting under CONTACT_FAST_MS are due
   * now, their backoff kept. False when one ran within PROBE_MAX_MS or none is in its fast phase.
   */
  nudgeFast(): boolean;
  /** Contacts waiting (diagnostics, tests). */
  waiting(): string[];
}

export function createContactProbes(opts: { readonly clock: Clock }): ContactProbes {
  const clock = opts.clock;
  const waits = new Map<string, { since: number; tries: number; nextAt: number }>();
  let lastNudge: number | undefined;
  let lastFastNudge: number | undefined;
  return {
    unreachable(contact) {
      if (waits.has(contact)) return;
      const now = clock();
      // The first redial after the base delay: the attempt that failed has just dialled it.
      waits.set(contact, { since: now, tries: 0, nextAt: now + PROBE_BASE_MS });
    },
    reached(contact) {
      const w = waits.get(contact);
      if (w === undefined) return undefined;
      waits.delete(contact);
      return clock() - w.since;
    },
    forget(contact) {
      waits.delete(contact);
    },
    due(max, unit) {
      assertInteger(max, 'max', 0, Number.MAX_SAFE_INTEGER);
      const now = clock();
      const out = [...waits].filter(([, w]) => w.nextAt <= now).sort((a, b) => a[1].nextAt - b[1].nextAt).slice(0, max);
      for (const [, w] of out) {
        w.nextAt = now + nextContactProbeDelay(w.tries, now - w.since, unit());
        w.tries++;
      }
      return out.map(([c]) => c);
    },
    nudge() {
      const now = clock();
      if (lastNudge !== undefined && now - lastNudge < PROBE_MAX_MS) return false;
      lastNudge = now;
      for (const w of waits.values()) {
        w.nextAt = Math.min(w.nextAt, now);
        w.tries = 0;
      }
      return true;
    },
    nudgeFast() {
      const now = clock();
      if (lastFastNudge !== undefined && now - lastFastNudge < PROBE_MAX_MS) return false;
      const fast = [...waits.values()].filter((w) => now - w.since < CONTACT_FAST_MS && w.nextAt > now);
      if (fast.length === 0) return false;
      lastFastNudge = now;
      for (const w of fast) w.nextAt = now;
      return true;
    },
    waiting: () => [...waits.keys()],
  };
}
