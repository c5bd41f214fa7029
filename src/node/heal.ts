/**
 * Healing after a cut (docs/delivery.md "Heal"; the decisions are src/routing/heal.ts). Once a second
 * this samples the open remote (non-LAN) connections:
 *   none open     redial a few known peers (the ones last connected, then the peer table's last
 *                 reached), with the probe backoff: nobody else redials a node that lost every peer.
 *   back again    after a cut: the connections are reported to the partition detector as reached
 *                 peers (so it can leave `local-only` now rather than after three 5 s samples), and a
 *                 heal runs.
 * A heal (also when the detector leaves `local-only`), at most one per HEAL_MIN_INTERVAL_MS: the
 * outbox backoff grown during the cut is reset (held entries excepted), every contact is flushed and
 * our mailboxes are fetched now. While the detector still says `local-only` the heal waits for it to
 * leave (flushing then would only hold the messages back again).
 * A LAN-only network (no remote peer connected since start: a home LAN without internet, loopback, an
 * in-process network) counts every connection instead, and redials LAN peers: there, losing every
 * connection is the cut, and `local-only` is the normal state, so it does not hold a heal back.
 * A contact's node connecting resets that contact's backoff, held entries included, and flushes it
 * (at most once per HEAL_MIN_INTERVAL_MS per contact; otherwise a plain forced flush).
 * A partial cut (the node keeps peers on its own side, so none of the above starts): the nodes of
 * contacts whose mail waits are redialled (src/node/contact-redial.ts). A peer whose connections had all
 * been gone for MIN_CUT_MS or more connecting again may be the far side coming back: the waiting
 * contacts still in their fast phase are redialled now (ContactProbes.nudgeFast, at most once per
 * PROBE_MAX_MS). A sample that lost many peers at once (looksLikeCut) is a cut of part of the network;
 * when one of those peers is back, our mailboxes are fetched, every waiting contact is redialled now,
 * and the waiting contacts whose node is connected already (no redial runs for them) have their entries
 * due again within a jitter (also when the far side answers; once per HEAL_MIN_INTERVAL_MS per contact).
 * This module only decides when; messaging sends, the mailbox fetcher fetches.
 */
import type { Clock } from '../lib/deps.ts';
import { errorOf, type Logger } from '../lib/log.ts';
import type { NetNode } from '../net/index.ts';
import { createHealTracker, healFetchDays, healReset, HEAL_MIN_INTERVAL_MS, PROBE_PEERS, type HealDecision } from '../routing/heal.ts';
import { createLostPeers } from '../routing/lost-peers.ts';
import { isLocalAddress } from '../routing/partition.ts';
import { byPeer } from './bundles.ts';
import { createContactRedial, PROBE_TIMEOUT_MS } from './contact-redial.ts';
import type { NetworkState } from './network-state.ts';
import type { NodeStore } from './node-store.ts';

/** Remote peers remembered as "last connected", the first to redial. */
const RECENT_MAX = 16;
/** A remembered peer's addresses are read from the peer table again after this (not every second). */
const RECENT_REFRESH_MS = 60_000;

export interface HealDeps {
  readonly store: Pick<NodeStore, 'contacts' | 'outbox' | 'peers' | 'sessions' | 'transaction'>;
  readonly net: Pick<NetNode, 'peerId' | 'connections' | 'dial' | 'trimmedRecently'>;
  readonly network: Pick<NetworkState, 'reach' | 'sampleConnections' | 'assess' | 'onHeal' | 'onContactReach'>;
  readonly clock: Clock;
  readonly log: Logger;
  /** Uniform draws in [0, 1) for the probe jitter (timing, not key material). */
  readonly random: () => number;
  /** Sends what waits for a contact (messaging.flush); `force` ignores the backoff of its first batch. */
  readonly flush: (contact: string, force: boolean) => void;
  /**
   * Fetches our mailboxes of the last `days` days now (the days the cut covered: routing/heal.ts
   * healFetchDays), the polling backoff started over.
   */
  readonly fetchNow: (days: number) => void;
  /**
   * Retries now the session setups still waiting for a contact's bundle (first-contact.ts; the node
   * otherwise retries every 30 s): every one at a heal, `contact`'s when its node is reached without a
   * session. Optional: without it those wait for the node's own retry.
   */
  readonly retrySessions?: (contact?: string) => void;
  /**
   * Whether mail waits for `contact` that the user sent on paths only (`send --hops N`, N > 0): its
   * node is then never redialled directly. Optional: without it every waiting contact is.
   */
  readonly strictWaiting?: (contact: string) => boolean;
  /** Sampling period (default 1 s). */
  readonly tickMs?: number;
}

export interface Heal {
  /** Samples the connections now (a connection opened: no need to wait for the tick). */
  check(): void;
  /** A contact's node connected: what waits for it goes now. */
  contactConnected(contact: string): void;
  /** Contacts whose node is being redialled (their mail waits; diagnostics, tests). */
  waitingContacts(): string[];
  /** Heals run so far (diagnostics). */
  count(): number;
  stop(): void;
}

export function startHeal(d: HealDeps): Heal {
  const { store, net, network, clock, log } = d;
  const tracker = createHealTracker({ clock });
  const recent = new Map<string, { at: number; addrs: readonly string[] }>();
  const contactHealAt = new Map<string, number>();
  let stopped = false;
  let probing = false;
  let heals = 0;
  let deferredTimer: NodeJS.Timeout | undefined;
  /** No remote connection seen since start: the LAN is the whole network (see the header). */
  let lanOnly = true;
  const lostPeers = createLostPeers((p) => net.trimmedRecently(p));
  let farFetchAt: number | undefined;
  /** Set while check() reports a return of connectivity: how long the cut lasted. */
  let backCutMs: number | undefined;

  /**
   * Resets the backoff of `contacts`' entries (held ones too when `includeHeld`), due `delayMs` from now
   * (0: at once); returns how many.
   */
  const resetBackoff = (contacts: readonly string[], includeHeld: boolean, delayMs = 0): number => {
    const now = clock();
    let n = 0;
    store.transaction(() => {
      for (const c of contacts) {
        for (const item of store.outbox.forContact(c)) {
          const change = healReset(item, now, includeHeld, now + delayMs);
          if (change && store.outbox.update(item.messageId, change)) n++;
        }
      }
    });
    return n;
  };

  /** A heal; `cutMs`: how long the cut lasted (undefined: not known), for the days fetched. */
  const run = (why: string, cutMs?: number): void => {
    if (stopped) return;
    heals++;
    const contacts = store.contacts.list().map((c) => c.userId);
    let reset = 0;
    try {
      reset = resetBackoff(contacts, false);
    } catch (e) {
      log.warn('heal: outbox backoff not reset', { error: errorOf(e) });
    }
    log.info('heal', { why, contacts: contacts.length, reset });
    for (const c of contacts) d.flush(c, true);
    d.fetchNow(healFetchDays(clock(), cutMs));
    d.retrySessions?.();
  };

  const heal = (why: string, cutMs?: number): void => {
    if (stopped) return;
    // Still local-only: contacts without a LAN address would only wait again. The detector's change
    // (onHeal below) asks once it has left.
    if (!lanOnly && network.assess().state === 'local-only') return;
    follow(tracker.ask(), why, cutMs);
  };
  /** Runs a heal now, or at the end of the interval (one timer), or not at all, as decided. */
  const follow = (decision: HealDecision | undefined, why: string, cutMs?: number): void => {
    if (decision === undefined) return;
    if (decision.run) return run(why, cutMs);
    if (decision.inMs === undefined || deferredTimer !== undefined) return;
    deferredTimer = setTimeout(() => {
      deferredTimer = undefined;
      follow(tracker.due(), `${why} (deferred)`);
    }, decision.inMs);
    deferredTimer.unref();
  };

  /**
   * Addresses to redial: not relayed (the relay is as cut off as the peer), and not LAN unless the LAN
   * is the whole network (reaching a LAN peer says nothing of the way out).
   */
  const direct = (addrs: readonly string[]): string[] => addrs.filter((a) => !a.includes('/p2p-circuit') && (lanOnly || !isLocalAddress(a)));
  /**
   * Known peers to redial, not `open` (connected already, LAN peers included): the last connected first (their addresses remembered, since the
   * peer table may prune them during the cut), then contacts' nodes, then the table's last reached —
   * never the node of a contact with mail sent on paths only waiting (HealDeps.strictWaiting).
   */
  const candidates = (open: ReadonlySet<string>): [string, readonly string[]][] => {
    const out = new Map<string, readonly string[]>();
    const hidden = new Set<string>();
    const contacts = store.contacts.list();
    for (const c of contacts) if (d.strictWaiting?.(c.userId) === true) for (const [peer] of byPeer(c.addresses)) hidden.add(peer);
    const add = (peer: string, addrs: readonly string[]): void => {
      if (!open.has(peer) && !hidden.has(peer) && peer !== net.peerId && !out.has(peer) && addrs.length > 0) out.set(peer, addrs);
    };
    for (const [peer, r] of [...recent].sort((x, y) => y[1].at - x[1].at)) add(peer, r.addrs);
    for (const c of contacts) for (const [peer, addrs] of byPeer(c.addresses)) add(peer, direct(addrs));
    const table = (store.peers?.list(256) ?? []).filter((p) => p.reachedAt !== null);
    for (const p of table.sort((x, y) => (y.reachedAt ?? 0) - (x.reachedAt ?? 0))) add(p.peerId, direct(p.addresses));
    return [...out];
  };

  let offset = 0;
  const probe = async (open: ReadonlySet<string>): Promise<void> => {
    const all = candidates(open);
    if (all.length === 0) return tracker.probeFailed();
    // A different few each round: the first ones may be the peers that went away for good.
    const pick = Array.from({ length: Math.min(PROBE_PEERS, all.length) }, (_, i) => all[(offset + i) % all.length] as [string, readonly string[]]);
    offset = (offset + pick.length) % Math.max(1, all.length);
    const results = await Promise.all(
      pick.map(async ([peer, addrs]) => {
        const first = addrs[0] as string;
        const addr = addrs.find((a) => a.endsWith(`/p2p/${peer}`)) ?? (first.includes('/p2p/') ? first : `${first}/p2p/${peer}`);
        try {
          await net.dial(addr, { timeoutMs: PROBE_TIMEOUT_MS });
          return true;
        } catch (e) {
          log.debug('heal: redial failed', { peer, error: errorOf(e) });
          network.reach(peer, false, addrs);
          return false;
        }
      }),
    );
    if (results.some(Boolean)) {
      log.info('heal: redial reached a known peer', { reached: results.filter(Boolean).length, of: results.length });
      check();
    } else tracker.probeFailed();
  };

  /**
   * A contact's entries, held ones included, due `delayMs` from now — at most once per
   * HEAL_MIN_INTERVAL_MS per contact; returns how many, or undefined when not reset.
   */
  const resetOnce = (contact: string, delayMs: number): number | undefined => {
    const now = clock();
    const last = contactHealAt.get(contact);
    if (last !== undefined && now - last < HEAL_MIN_INTERVAL_MS) return undefined;
    contactHealAt.set(contact, now);
    try {
      return resetBackoff([contact], true, delayMs);
    } catch (e) {
      log.warn('heal: outbox backoff not reset', { contact, error: errorOf(e) });
      return undefined;
    }
  };

  /**
   * Mail for us may wait on the far side of a cut of `cutMs`: the boxes of the days it covered are
   * fetched now, at most once per HEAL_MIN_INTERVAL_MS.
   */
  const fetchFar = (cutMs: number): void => {
    const now = clock();
    if (farFetchAt !== undefined && now - farFetchAt < HEAL_MIN_INTERVAL_MS) return;
    farFetchAt = now;
    d.fetchNow(healFetchDays(now, cutMs));
  };
  const redial = createContactRedial({
    store,
    net,
    clock,
    log,
    random: d.random,
    resetOnce,
    flush: d.flush,
    fetchFar,
    ...(d.retrySessions !== undefined && { retrySessions: d.retrySessions }),
    ...(d.strictWaiting !== undefined && { strictWaiting: d.strictWaiting }),
  });

  /**
   * A peer lost in a cut of part of the network is back (the node kept other peers, so no heal ran):
   * mail for us may have been deposited on the far side while we could not be reached — fetched now
   * (at most once per HEAL_MIN_INTERVAL_MS, with the far-side fetch) — and every waiting contact is
   * redialled or, connected already, goes again now.
   */
  const cutHealed = (lostFor: number): void => {
    lostPeers.endCut();
    log.info('heal: a peer lost in a cut is back', { cutMs: lostFor, waiting: redial.waiting().length });
    fetchFar(lostFor);
    redial.cutEnded();
  };

  const check = (): void => {
    if (stopped) return;
    const all = net.connections();
    if (lanOnly && all.some((c) => !isLocalAddress(c.address))) {
      lanOnly = false;
      recent.clear(); // LAN peers remembered so far are not the way out
    }
    const remote = lanOnly ? all : all.filter((c) => !isLocalAddress(c.address));
    const now = clock();
    for (const c of remote) {
      const had = recent.get(c.peerId);
      if (had !== undefined && had.addrs.length > 0 && now - had.at < RECENT_REFRESH_MS) {
        recent.set(c.peerId, { at: now, addrs: had.addrs });
        continue;
      }
      // Listen addresses from the table; an outbound connection's own address is one as well.
      const known = direct(store.peers?.get(c.peerId)?.addresses ?? []);
      const addrs = known.length > 0 ? known : c.direction === 'outbound' ? [c.address] : (had?.addrs ?? []);
      recent.set(c.peerId, { at: now, addrs });
    }
    while (recent.size > RECENT_MAX) recent.delete([...recent].sort((x, y) => x[1].at - y[1].at)[0]?.[0] as string);
    const lostBack = lostPeers.sample(new Set(remote.map((c) => c.peerId)), now);
    if (lostBack.cutBackSince !== undefined) cutHealed(now - lostBack.cutBackSince);
    else if (lostBack.back && redial.nudgeFast()) {
      // A weaker sign (a trimmed peer comes back as well): redials only, no sends.
      log.debug('heal: a lost peer is back: redialling waiting contacts', { waiting: redial.waiting().length });
    }
    const v = tracker.remote(remote.length, d.random());
    if (v.back) {
      // Reported below, they make the detector leave local-only at once, and its heal (onHeal) is this
      // one: it fetches the days this cut covered.
      backCutMs = v.cutMs;
      // Open, identified connections are remote peers reached: evidence for the detector now.
      const seen = new Set<string>();
      for (const c of remote) {
        if (seen.has(c.peerId)) continue;
        seen.add(c.peerId);
        network.reach(c.peerId, true, [c.address]);
      }
      network.sampleConnections();
      log.info('heal: remote connectivity back', { cutMs: v.cutMs, peers: seen.size, state: network.assess().state });
      heal('connectivity back', v.cutMs);
      backCutMs = undefined;
    } else if (remote.length > 0 && network.assess().state === 'local-only') {
      // Connections are open but the detector has not confirmed it yet: a sample a second, not every 5 s.
      network.sampleConnections();
    }
    if (v.probe && !probing) {
      probing = true;
      void probe(new Set(net.connections().map((c) => c.peerId)))
        .catch((e: unknown) => log.warn('heal: redial round failed', { error: errorOf(e) }))
        .finally(() => (probing = false));
    }
    redial.redialDue();
  };

  // The detector's own change: the cut's length is known when our sample of connections back caused it.
  const offHeal = network.onHeal(() => heal('left local-only', backCutMs));
  const offContact = network.onContactReach((contact, ok) => redial.reach(contact, ok));
  // Mail held in mailboxes from before a restart: its contact's node was not reachable then.
  try {
    for (const c of store.contacts.list()) if (store.outbox.forContact(c.userId).some((i) => i.state === 'held')) redial.reach(c.userId, false);
  } catch (e) {
    log.warn('heal: held mail not read', { error: errorOf(e) });
  }
  const timer = setInterval(check, d.tickMs ?? 1_000);
  timer.unref();

  return {
    check,
    contactConnected: (contact) => redial.connected(contact),
    waitingContacts: () => redial.waiting(),
    count: () => heals,
    stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(deferredTimer);
      offHeal();
      offContact();
      redial.stop();
    },
  };
}
