/**
 * Outbound delivery (docs/delivery.md "Outbox"): the contact's due outbox entries, oldest first, go out
 * as one session message per batch on the route src/routing/delivery-policy.ts chooses —
 *   direct  a `/compeer/msg/1` request to the contact's known peers; the ack is in the response
 *   onion   a path of relays to the contact's node (src/routing/router.ts); the ack comes back later as
 *           a message of its own
 *   mailbox when the contact's node cannot be reached: deposited at the r holders closest to this day's
 *           mailbox address of the pair (status `held`); the contact fetches it when it is back
 * The session state and the envelope are saved before the envelope leaves. An envelope that reached
 * nobody is sent again as the same bytes (no ratchet step wasted); once it may have arrived (sent, held,
 * answered without an ack) the next attempt is a fresh encryption of the same app messages — the
 * receiver deduplicates by message id and acks again. One flush per contact at a time; once the contact
 * has acked in this run, a flush keeps up to WINDOW requests in flight, and a direct request carries up
 * to ENVELOPES_PER_REQUEST envelopes (one receiver commit, one ack): docs/perf-node.md T5, T6.
 * Which entries make a batch and the envelope kept for it: outbound-batches.ts; where a batch goes (the
 * contact's peers, its node as an onion target, its mailboxes): outbound-routes.ts; statuses and next
 * attempts after an attempt: outbound-reschedule.ts; a direct request and its ack: outbound-direct.ts.
 */
import type { Clock, Rng } from '../lib/deps.ts';
import { ErrorCodes, ProtocolError, isCompeerError } from '../lib/errors.ts';
import { errorOf, type Logger } from '../lib/log.ts';
import { APP_ACK_MAX_IDS, type AppMessage, type BatchableMessage } from '../protocol/wire/app-message.ts';
import type { AttemptOutcome } from '../routing/delivery-policy.ts';
import type { Router, RouteTarget } from '../routing/router.ts';
import type { OutboxItem } from '../store/outbox.ts';
import type { NetNode } from '../net/index.ts';
import type { CompeerEvent } from './types.ts';
import type { NodeStore } from './node-store.ts';
import type { SessionIo } from './session-io.ts';
import { createBatcher, encodeCache, type Batch } from './outbound-batches.ts';
import { createRoutes, type Route, type RouteView } from './outbound-routes.ts';
import { createReschedule } from './outbound-reschedule.ts';
import { createDirect } from './outbound-direct.ts';
import type { NetworkState } from './network-state.ts';

export type { RouteView } from './outbound-routes.ts';

export { MSG_PROTOCOL } from './outbound-direct.ts';
/** Requests in flight per contact (T5): enough to overlap one request's round trip with the next's work. */
const WINDOW = 3;
/** Envelopes (app-message batches) per direct request (T6): 3 full ones (64 KiB padding buckets) fit MSG_BATCH_MAX_BYTES. */
const ENVELOPES_PER_REQUEST = 3;
/** Batches encrypted ahead in a send's commit while requests are in flight: a full window's worth. */
const AHEAD = WINDOW * ENVELOPES_PER_REQUEST;



export interface OutboundDeps {
  readonly store: NodeStore;
  readonly net: NetNode;
  readonly io: SessionIo;
  readonly router: Router;
  readonly routes: RouteView;
  readonly rng: Rng;
  readonly clock: Clock;
  readonly log: Logger;
  readonly emit: (events: readonly CompeerEvent[]) => void;
  readonly requestTimeoutMs: number;
  /** contact → the peer it last reached us from (likeliest to be up). */
  readonly lastPeer: ReadonlyMap<string, string>;
  /** What attempts measured (the partition detector); `holdBack` says why a contact must wait now. */
  readonly network?: Pick<NetworkState, 'reach' | 'ack' | 'holdBack' | 'contactReach'>;
}

export interface Outbound {
  flush(contact: string, force?: boolean): Promise<void>;
  /**
   * Inside the caller's transaction: when nothing of the contact's is in flight, encrypts its next
   * batch now (the envelope cached on the entry, the session saved), so the caller's commit covers
   * both the messages and their encryption and the flush that follows sends at once (L1). Returns what
   * to run once that transaction has committed (nothing when it rolled back): the note of the batches
   * encrypted ahead (prepareAhead) may only be trusted then.
   */
  prepare(contact: string): (() => void) | undefined;
  /**
   * The contact's entries changed other than through its flush: one queued before others (an explicit
   * createdAt: a hello may now lead), or some removed (an ack that came another way). Encryption ahead
   * and the flush read the outbox from the start again (skipping what is in flight), as without notes.
   */
  forgetAhead(contact: string): void;
  tick(): Promise<void>;
  /** The contact's node as an onion target (its peer ID, onion key and addresses), when known. */
  targetFor(contact: string): RouteTarget | undefined;
  /**
   * Deposits `envelope` in the contact's mailbox of today (on paths of `hops` relays; undefined: as
   * many as known, up to the default); resolves to whether any holder stored it.
   */
  depositFor(contact: string, envelope: Uint8Array, expiresAt: number, hops: number | undefined): Promise<boolean>;
}



export function createOutbound(d: OutboundDeps): Outbound {
  const { store, net, io, clock, log } = d;
  const flushing = new Set<string>();
  /** contact → the entries its running flush has in flight. */
  const inFlight = new Map<string, ReadonlySet<string>>();
  const again = new Set<string>();
  /** Contacts whose node acked in this run (so it holds the session): more than one batch may fly. */
  const confirmed = new Set<string>();
  /**
   * contact → the note of encryption ahead, only while the contact's pump runs (memory only: a
   * restart starts without): `batches`, those prepareAhead encrypted (their ids, oldest first) in
   * commits that returned and the flush has not taken yet, and `taken`, the last entry of the last
   * batch the flush took. prepareAhead reads the outbox after the last of these instead of reading them
   * (and their 64 KiB envelopes, through a skip list of every id in flight) again at every send's
   * commit. A stale note (an entry removed some other way) costs only ahead-encryption until the pump
   * ends; the flush never reads it. An entry queued before others (first-contact.ts's hello) drops it.
   */
  const ahead = new Map<string, { batches: string[][]; taken?: string }>();
  /** contact → how often its entries changed other than through its flush (forgetAhead): see pumpWith's `through`. */
  const disturbed = new Map<string, number>();
  const { peersOf, targetFor, depositFor, routeFor } = createRoutes(d);
  const { nextBatch, cachedEnvelope } = createBatcher(d);
  const reschedule = createReschedule(d);
  const direct = createDirect(d, peersOf);


  /** The cached envelope when it covers exactly `items`, else a fresh encryption (saved and cached first). */
  const envelopeFor = (contact: string, items: readonly OutboxItem[], apps: readonly BatchableMessage[], now: number): Uint8Array => {
    const first = items[0] as OutboxItem;
    const cached = cachedEnvelope(items);
    if (cached) return cached;
    return store.transaction(() => {
      const set = io.loadSet(contact);
      if (!set?.active) throw new ProtocolError(ErrorCodes.NO_SESSION, 'no session with this contact');
      // A new session (ours, not answered yet): one request at a time until the contact acks on it.
      if (set.active.pendingInitialMessage !== undefined) confirmed.delete(contact);
      const app: AppMessage = apps.length === 1 ? (apps[0] as BatchableMessage) : { type: 'batch', messages: apps };
      const envelope = io.seal(contact, set, app, now);
      store.outbox.update(first.messageId, { wire: encodeCache(items.map((i) => i.messageId), envelope) });
      return envelope;
    });
  };

  /**
   * One attempt for `batches` (in order, one envelope each; several only on a direct route) on `route`;
   * resolves to the ids acked.
   */
  const attempt = async (contact: string, batches: readonly Batch[], route: Route): Promise<Set<string>> => {
    const hops = io.hopsOf((batches[0] as Batch).items[0]?.messageId ?? '');
    let acked = new Set<string>();
    const outcomes: AttemptOutcome[] = batches.map(() => 'unreachable');
    let envelopes: Uint8Array[] | undefined;
    let noSession = false;
    if (route.kind === 'wait') {
      outcomes.fill('waiting');
      log.debug('message waits for a route', { contact, why: route.why });
    } else {
      try {
        const now = clock();
        // Envelopes already encrypted (a retry, or the send's own commit: L1) need no transaction.
        const cached = batches.map((b) => cachedEnvelope(b.items));
        envelopes = cached.every((e) => e !== undefined)
          ? (cached as Uint8Array[])
          : store.transaction(() => batches.map((b) => envelopeFor(contact, b.items, b.apps, now)));
      } catch (e) {
        noSession = isCompeerError(e) && e.code === ErrorCodes.NO_SESSION;
        log.warn('could not encrypt for the contact', { contact, error: errorOf(e) });
      }
    }
    const expiry = (b: Batch): number => Math.min(...b.items.map((i) => i.expiresAt));
    if (envelopes && route.kind === 'direct') {
      const r = await direct(contact, envelopes);
      acked = r.acked;
      for (const [i, b] of batches.entries()) {
        outcomes[i] = r.reached[i] ? 'answered' : (await depositFor(contact, envelopes[i] as Uint8Array, expiry(b), hops)) ? 'held' : 'unreachable';
      }
    } else if (envelopes?.length === 1 && route.kind === 'onion') {
      const envelope = envelopes[0] as Uint8Array;
      const target = targetFor(contact);
      try {
        const r = target ? await d.router.send(target, envelope, { hops: route.hops, strict: route.strict }) : undefined;
        if (r?.ok) outcomes[0] = 'sent';
        else if (!r || r.reason !== 'path-failed') outcomes[0] = (await depositFor(contact, envelope, expiry(batches[0] as Batch), hops)) ? 'held' : 'unreachable';
      } catch (e) {
        if (!isCompeerError(e) || e.code !== ErrorCodes.NO_ROUTE) throw e;
        outcomes[0] = 'waiting';
      }
    }
    // Held while the contact's node is connected to ours (delivery-policy.ts nextAttemptDelay).
    const open = outcomes.includes('held') ? new Set(net.connections().map((c) => c.peerId)) : undefined;
    const connected = open !== undefined && peersOf(contact).some(([p]) => open.has(p));
    for (const [i, b] of batches.entries()) {
      if (!b.items.every((item) => acked.has(item.messageId))) reschedule(contact, b.items, acked, outcomes[i] as AttemptOutcome, connected);
    }
    // The heal redials the node of a contact whose mail could not reach it (src/node/heal.ts): an
    // answer or an ack is its node reached; held or unreachable after a real attempt is mail waiting,
    // and so is no session (its bundle could not be fetched: first-contact.ts retries the setup).
    // 'sent' (a path took it) says nothing of the contact's node; 'waiting' tried nothing.
    if (noSession) d.network?.contactReach(contact, false);
    else if (envelopes) {
      if (acked.size > 0 || outcomes.includes('answered')) d.network?.contactReach(contact, true);
      else if (outcomes.some((o) => o === 'held' || o === 'unreachable')) d.network?.contactReach(contact, false);
    }
    return acked;
  };

  /**
   * Up to WINDOW batches of a contact in flight at once (T5), once the contact has acked in this run
   * (its node holds the session: no initial message in flight that a later request could overtake);
   * one before. Every batch is encrypted in order; the receiver decrypts them in any order (the
   * ratchet keeps skipped keys) and deduplicates by message id, and each entry leaves the outbox only
   * on its own ack. A batch that is not fully acked stops new ones until the flush starts again.
   */
  const pump = async (contact: string, force: boolean): Promise<void> => {
    const busy = new Set<string>();
    inFlight.set(contact, busy);
    try {
      await pumpWith(contact, force, busy);
    } finally {
      inFlight.delete(contact);
      ahead.delete(contact);
    }
  };

  const pumpWith = async (contact: string, force: boolean, busy: Set<string>): Promise<void> => {
    const running = new Set<Promise<void>>();
    let stop = false;
    // Nothing overtakes a hello in flight (a stranger's first message must be one).
    let hellos = 0;
    /**
     * The last entry of the last batch taken while every entry of the contact up to it is in flight
     * (undefined: not known). Then the next free entries are those after it: read with `after`, not
     * through a skip list of every id in flight (~0.9 µs each in the store, up to WINDOW × 3 batches of
     * them per read). countThrough checks it before each read (an index range): when any other entry
     * is there (one not due yet, a hello queued before the others), the read skips as before.
     */
    let through: string | undefined;
    /** Whether what the last read returned lies after every entry in flight. */
    let ordered = false;
    // An entry in flight removed by something else (an ack that came another way, an expiry) would
    // leave the count short by one that is not there: `through` holds only while nothing did.
    const since = (): number => disturbed.get(contact) ?? 0;
    let throughSince = since();
    const read = (): ReturnType<typeof nextBatch> => {
      const known = through !== undefined && busy.size > 0 && throughSince === since();
      const after = known && store.outbox.countThrough(contact, through as string) === busy.size ? through : undefined;
      ordered = after !== undefined || busy.size === 0;
      return nextBatch(contact, clock(), force, busy, ENVELOPES_PER_REQUEST, after);
    };
    const take = (b: Batch): Batch => {
      for (const i of b.items) busy.add(i.messageId);
      through = ordered ? (b.items.at(-1)?.messageId ?? through) : undefined;
      if (busy.size === b.items.length) throughSince = since();
      // The flush takes batches in order: a noted one taken, it and those noted before it are off the note.
      const note = ahead.get(contact) ?? { batches: [] };
      const k = note.batches.findIndex((ids) => ids[0] === b.items[0]?.messageId);
      if (k >= 0) note.batches.splice(0, k + 1);
      note.taken = b.items.at(-1)?.messageId;
      ahead.set(contact, note);
      return b;
    };
    for (;;) {
      while (!stop && hellos === 0 && running.size < (confirmed.has(contact) ? WINDOW : 1)) {
        const first = read();
        if (first.items.length === 0) break;
        force = false;
        const batches: Batch[] = [take(first)];
        const hops = io.hopsOf((first.items[0] as OutboxItem).messageId);
        const route = routeFor(contact, hops);
        // More envelopes in the same request while the route is direct and one ack covers them all.
        let ids = first.items.length;
        let drained = false;
        while (route.kind === 'direct' && confirmed.has(contact) && batches.length < ENVELOPES_PER_REQUEST) {
          const next = first.more();
          const head = next.items[0];
          if (!head) drained = first.complete && next.drained;
          if (!head || ids + next.items.length > APP_ACK_MAX_IDS || io.hopsOf(head.messageId) !== hops) break;
          batches.push(take(next));
          ids += next.items.length;
        }
        const all = batches.flatMap((b) => b.items);
        const hello = batches.some((b) => b.apps.some((a) => a.type === 'hello')) ? 1 : 0;
        hellos += hello;
        const run = attempt(contact, batches, route)
          .then((acked) => {
            if (acked.size > 0) confirmed.add(contact);
            if (!all.every((i) => acked.has(i.messageId))) stop = true;
          })
          .finally(() => {
            for (const i of all) busy.delete(i.messageId);
            hellos -= hello;
            running.delete(run);
          });
        running.add(run);
        // That read held everything it could return and all of it is taken: a read now, in the same
        // turn, would find nothing (64–134 µs of a lone delivery, and with coalesced TCP writes it held
        // the request's bytes back). The next completion reads again; a send meanwhile flushes again.
        if (drained) break;
      }
      if (running.size === 0) return;
      await Promise.race(running);
    }
  };

  const flush = async (contact: string, force = false): Promise<void> => {
    if (flushing.has(contact)) {
      again.add(contact);
      return;
    }
    flushing.add(contact);
    try {
      do {
        again.delete(contact);
        await pump(contact, force);
        force = false;
      } while (again.has(contact));
    } catch (e) {
      log.warn('flush failed', { contact, error: errorOf(e) });
    } finally {
      flushing.delete(contact);
    }
  };

  const prepare = (contact: string): (() => void) | undefined => {
    const busy = inFlight.get(contact);
    if (busy !== undefined) return prepareAhead(contact, busy);
    if (flushing.has(contact)) return undefined;
    const { items, apps } = nextBatch(contact, clock(), false, new Set());
    const head = items[0];
    if (!head || routeFor(contact, io.hopsOf(head.messageId)).kind === 'wait') return undefined;
    envelopeFor(contact, items, apps, clock());
    return undefined;
  };

  /**
   * While the contact's flush has requests in flight: encrypts the batches it will send next (up to a
   * full window's worth, those already encrypted included), so that the caller's commit covers them
   * and the flush sends them without a commit of its own. Only on a direct route to a contact that
   * acked in this run (its node holds the session; no hello among them). The batches it encrypted at
   * earlier commits (the note, `ahead`) are not read again: the outbox is read after the last of them,
   * when that entry is still there (else all of it, as the first time, and the note is made anew).
   * Returns the note to keep once the caller's transaction has committed.
   */
  const prepareAhead = (contact: string, busy: ReadonlySet<string>): (() => void) | undefined => {
    if (!confirmed.has(contact)) return undefined;
    const kept = ahead.get(contact);
    let note = (kept?.batches ?? []).filter((ids) => !ids.some((id) => busy.has(id)));
    let last = note.at(-1)?.at(-1) ?? kept?.taken;
    if (last !== undefined && store.outbox.get(last)?.contact !== contact) {
      note = [];
      last = undefined;
    }
    if (note.length >= AHEAD) return undefined;
    const taken = new Set(busy);
    for (const ids of note) for (const id of ids) taken.add(id);
    const now = clock();
    let batch: Batch = nextBatch(contact, now, false, taken, AHEAD - note.length, last);
    const more = (batch as ReturnType<typeof nextBatch>).more;
    const added: string[][] = [];
    for (let n = note.length; n < AHEAD; n++) {
      const head = batch.items[0];
      // confirmed again each time: envelopeFor forgets it when the session turns out to be a new one.
      if (!head || !confirmed.has(contact) || batch.apps.some((a) => a.type === 'hello')) break;
      if (routeFor(contact, io.hopsOf(head.messageId)).kind !== 'direct') break;
      envelopeFor(contact, batch.items, batch.apps, now);
      added.push(batch.items.map((i) => i.messageId));
      for (const i of batch.items) taken.add(i.messageId);
      batch = more();
    }
    const batches = [...note, ...added];
    // Committed: the envelopes are on their entries. Synchronous after the commit, so the flush
    // cannot have taken any of them in between; a pump that ended meanwhile keeps no note.
    return () => {
      if (inFlight.has(contact)) ahead.set(contact, { ...ahead.get(contact), batches });
    };
  };

  const forgetAhead = (contact: string): void => {
    ahead.delete(contact);
    disturbed.set(contact, (disturbed.get(contact) ?? 0) + 1);
  };

  const tick = async (): Promise<void> => {
    const now = clock();
    const events: CompeerEvent[] = [];
    store.transaction(() => {
      for (const item of store.outbox.removeExpired(now)) {
        io.forget(item.messageId);
        forgetAhead(item.contact);
      }
      for (const m of store.messages.expire(now)) events.push({ type: 'status', id: m.id, contact: m.contact, status: m.status });
    });
    d.emit(events);
    const contacts = new Set(store.outbox.due(now, 256).map((i) => i.contact));
    await Promise.all([...contacts].map((c) => flush(c)));
  };

  return { flush, prepare, forgetAhead, tick, targetFor, depositFor };
}
