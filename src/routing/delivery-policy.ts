/**
 * The outbox's decisions, pure (docs/delivery.md "Outbox"): which route the next attempt takes and when
 * an undelivered message is tried again. The node's messaging (src/node/) carries them out; the
 * simulator runs the same functions.
 *
 * Routes: `hops` 0 → direct (a `/compeer/msg/1` stream, the ack in its response). An explicit `hops` N
 * > 0 is strict: N relays or the message waits (privacy the user asked for is never traded for speed).
 * Without `hops` (the default) a path of up to DEFAULT_HOPS relays is used, as many as are known; with
 * none known the message goes direct. A contact whose onion key we do not know yet (first contact: the
 * `hello` and what waits behind it) is reached directly, or waits when the user asked for relays.
 * Retries: exponential backoff from 1 s, capped at 5 min, ±20 % jitter (no lockstep retries); after a
 * path took the message, the ack gets time before the next attempt (a fresh path); held in mailboxes,
 * the recipient fetches it — the sender only re-deposits after a long while (holders may have failed).
 */
export const RETRY_BASE_MS = 1_000;
export const RETRY_MAX_MS = 5 * 60_000;
export const ACK_TIMEOUT_MS = 15_000;
export const HELD_RETRY_MS = 2 * 60_000;
export const HELD_RETRY_MAX_MS = 6 * 3600_000;
export const DEFAULT_TTL_MS = 7 * 24 * 3600_000;
export const MAX_TTL_MS = 30 * 24 * 3600_000;
export const DEFAULT_HOPS = 3;
export const MAX_HOPS = 5;
/** Mailbox holders per message (issue 5: r = 3). */
export const MAILBOX_REPLICAS = 3;
/** Mailbox polling period after a fetch that found mail (and the first step of the backoff). */
export const FETCH_BASE_MS = 60_000;
/** Empty fetches stretch the period up to this many times the base (16 min by default). */
export const FETCH_BACKOFF_MAX = 16;

/**
 * The one backoff shape of delivery: `baseMs` doubled per step (at most `maxSteps` doublings), capped
 * at `maxMs`, with ±20 % jitter from `unit`, a uniform draw in [0, 1) — so retries of many nodes spread.
 */
export function jitteredBackoff(baseMs: number, maxMs: number, steps: number, maxSteps: number, unit: number): number {
  return Math.round(Math.min(maxMs, baseMs * 2 ** Math.min(steps, maxSteps)) * (0.8 + 0.4 * unit));
}

/** Delay before attempt number `attempts + 1`; `unit` is a uniform draw in [0, 1). */
export function retryDelay(attempts: number, unit: number): number {
  return jitteredBackoff(RETRY_BASE_MS, RETRY_MAX_MS, attempts, 20, unit);
}

export type RouteChoice =
  | { readonly kind: 'direct' }
  | { readonly kind: 'onion'; readonly hops: number; readonly strict: boolean }
  | { readonly kind: 'wait'; readonly why: string };

export interface RouteInputs {
  /** What the user asked for (undefined: the default). */
  readonly hops: number | undefined;
  /** We know the contact's onion key (its `inbox` message arrived). */
  readonly haveInbox: boolean;
  /** Relays with an onion key in the peer table. */
  readonly relaysKnown: number;
}

export function chooseRoute(i: RouteInputs): RouteChoice {
  if (i.hops === 0) return { kind: 'direct' };
  if (i.hops !== undefined) {
    if (!i.haveInbox) return { kind: 'wait', why: "the contact's onion key is not known yet" };
    if (i.relaysKnown < i.hops) return { kind: 'wait', why: `${i.relaysKnown} of ${i.hops} relays known` };
    return { kind: 'onion', hops: i.hops, strict: true };
  }
  if (!i.haveInbox || i.relaysKnown === 0) return { kind: 'direct' };
  return { kind: 'onion', hops: Math.min(DEFAULT_HOPS, i.relaysKnown), strict: false };
}

/**
 * sent: a path took it (the ack comes as a message of its own); answered: the contact's node answered a
 * direct request without an ack (it refused or lost it — e.g. a repeat of bytes it already had — so a
 * fresh encryption goes soon); held: in mailboxes; unreachable: nobody took it; waiting: no route yet.
 */
export type AttemptOutcome = 'sent' | 'answered' | 'held' | 'unreachable' | 'waiting';

/**
 * When to try again after an attempt with this outcome (`attempts` before it; `unit` uniform in [0, 1)).
 * `recipientConnected`: the recipient's node is connected to ours now. Then a held message is tried
 * again on the retry backoff, not after minutes: the path's last hop failed, not the recipient (it came
 * back — a heal, a restart — and a relay has not reached it yet), and an online recipient does not poll
 * its mailboxes for minutes (docs/delivery.md "Heal").
 */
export function nextAttemptDelay(outcome: AttemptOutcome, attempts: number, unit: number, recipientConnected = false): number {
  switch (outcome) {
    case 'sent':
      return jitteredBackoff(ACK_TIMEOUT_MS, RETRY_MAX_MS, attempts, 10, unit);
    case 'held':
      if (recipientConnected) return retryDelay(attempts, unit);
      return jitteredBackoff(HELD_RETRY_MS, HELD_RETRY_MAX_MS, attempts, 10, unit);
    case 'answered':
    case 'unreachable':
    case 'waiting':
      return retryDelay(attempts, unit);
  }
}

/**
 * When to poll our mailboxes next (docs/mailboxes.md "When to fetch"). Mail is deposited only while we
 * cannot be reached, and what matters then is caught by the fetch at start and at the heal from
 * local-only (both reset `emptyRounds`), by senders' held retries going straight to us, and by a round
 * that found mail. So each empty round doubles the wait, up to FETCH_BACKOFF_MAX × `baseMs`: fewer polls
 * tell holders less about when we are online and cost the network less. ±20 % jitter, as retries.
 */
export function nextFetchDelay(emptyRounds: number, unit: number, baseMs: number = FETCH_BASE_MS): number {
  return jitteredBackoff(baseMs, FETCH_BACKOFF_MAX * baseMs, emptyRounds, 10, unit);
}
