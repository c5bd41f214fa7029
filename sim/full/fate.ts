/**
 * Where an undelivered message stopped (issue 6: 100 % eventual delivery — what is missing must be
 * traced, not guessed). A logger that passes every line on to the run's logger and remembers, per node,
 * the last delivery event about each contact (the sender's outbox, session setup and first contact log
 * these with a `contact` field: src/node/outbound.ts, compeer.ts, first-contact.ts) and the node's last
 * path event (the router logs path failures without naming the contact: src/routing/router.ts). No
 * text is kept: the message and the error code only, as the log lines carry them.
 *
 * At the end of a run `fateOf` joins that with the sender's outbox entry and the two ends' sessions, and
 * `summarizeFates` counts the undelivered messages by sender status and by last event.
 */
import type { LogFields, Logger, LogLevel } from '../../src/lib/log.ts';

/** One remembered log line: `msg`, and the error code or hop status when the line has one. */
export interface FateEvent {
  readonly level: Exclude<LogLevel, 'silent'>;
  readonly what: string;
  /** Scenario-independent wall ms (performance.now()) of the line. */
  readonly at: number;
}

/** The fate of one undelivered message at the end of a run. */
export interface Fate {
  readonly n: number;
  readonly from: number;
  readonly to: number;
  /** The message's status at its sender ('sender down' when the sender's node is not running). */
  readonly status: string;
  /** The outbox entry: state and attempts made; undefined when the entry is gone (acked or expired). */
  readonly outbox?: { readonly state: string; readonly attempts: number; readonly dueInMs: number };
  /**
   * The oldest entry of the sender's outbox for the recipient when it is another message: what this one
   * may wait behind (nothing overtakes a hello: src/node/outbound.ts).
   */
  readonly behind?: { readonly state: string; readonly attempts: number; readonly dueInMs: number };
  /** The sender has a session with the recipient; the recipient knows the sender as a contact. */
  readonly senderSession: boolean;
  readonly recipientKnowsSender: boolean;
  /** The sender's last delivery event about the recipient, and its last path event (any contact). */
  readonly lastEvent?: string;
  /**
   * How long before the end the last event was logged: an entry overdue by minutes whose contact had
   * no event for as long was never attempted (no flush ran), one with recent events is stuck in one.
   */
  readonly lastEventAgoMs?: number;
  readonly lastPathEvent?: string;
}

export interface FateSummary {
  readonly bySenderStatus: Readonly<Record<string, number>>;
  /** Keyed `<sender status> / <last event about the recipient>` ('none': no event logged). */
  readonly byLastEvent: Readonly<Record<string, number>>;
  readonly withoutSession: number;
  readonly recipientWithoutContact: number;
  /** Undelivered messages whose outbox entry is not the oldest of the contact's and is due already. */
  readonly dueBehindAnother: number;
  /** Every undelivered message (a run leaves few; the list says which ends to look at). */
  readonly messages: readonly Fate[];
}

/** Path events (router.ts logs them without a contact): kept per node as its last path trouble. */
const PATH_MESSAGES = new Set(['path failed, re-selecting', 'path failed at its last hop, re-selecting', 'hop unreachable', 'deposit failed', 'deposit refused']);

function describe(msg: string, fields: LogFields | undefined): string {
  const e = fields?.error;
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return `${msg}: ${typeof code === 'string' ? code : e.name}`;
  }
  if (typeof fields?.status === 'string') return `${msg}: ${fields.status}${typeof fields.hop === 'number' ? ` at hop ${fields.hop}` : ''}`;
  return msg;
}

export interface FateRecorder {
  /** Wraps the run's logger: children bound to `{ node: i }` record for node i. */
  wrap(base: Logger): Logger;
  last(node: number, contact: string): FateEvent | undefined;
  lastPath(node: number): FateEvent | undefined;
}

export function createFateRecorder(): FateRecorder {
  const byContact = new Map<string, FateEvent>();
  const byNodePath = new Map<number, FateEvent>();
  const make = (base: Logger, node: number | undefined): Logger => {
    const record = (level: Exclude<LogLevel, 'silent'>, msg: string, fields: LogFields | undefined): void => {
      if (node === undefined) return;
      const contact = fields?.contact;
      if (typeof contact === 'string') byContact.set(`${node}:${contact}`, { level, what: describe(msg, fields), at: performance.now() });
      else if (PATH_MESSAGES.has(msg)) byNodePath.set(node, { level, what: describe(msg, fields), at: performance.now() });
    };
    return {
      level: base.level,
      debug: (m, f) => {
        record('debug', m, f);
        base.debug(m, f);
      },
      info: (m, f) => {
        record('info', m, f);
        base.info(m, f);
      },
      warn: (m, f) => {
        record('warn', m, f);
        base.warn(m, f);
      },
      error: (m, f) => {
        record('error', m, f);
        base.error(m, f);
      },
      child: (b) => make(base.child(b), typeof b.node === 'number' ? b.node : node),
    };
  };
  return {
    wrap: (base) => make(base, undefined),
    last: (node, contact) => byContact.get(`${node}:${contact}`),
    lastPath: (node) => byNodePath.get(node),
  };
}

export function summarizeFates(fates: readonly Fate[]): FateSummary {
  const bySenderStatus: Record<string, number> = {};
  const byLastEvent: Record<string, number> = {};
  for (const f of fates) {
    bySenderStatus[f.status] = (bySenderStatus[f.status] ?? 0) + 1;
    const key = `${f.status} / ${f.lastEvent ?? 'none'}`;
    byLastEvent[key] = (byLastEvent[key] ?? 0) + 1;
  }
  return {
    bySenderStatus,
    byLastEvent,
    withoutSession: fates.filter((f) => !f.senderSession).length,
    recipientWithoutContact: fates.filter((f) => !f.recipientKnowsSender).length,
    dueBehindAnother: fates.filter((f) => f.behind !== undefined && (f.outbox?.dueInMs ?? 0) <= 0).length,
    messages: fates,
  };
}
