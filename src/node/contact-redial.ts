/**
 * Redialling the nodes of waiting contacts (docs/delivery.md "Heal", a partial cut: the node keeps
 * peers on its own side, so no heal of src/node/heal.ts starts). A contact whose node an attempt could
 * not reach (outbound.ts reports it through network-state.ts) is redialled on its own backoff
 * (src/routing/heal.ts ContactProbes) until it is reached — by a redial, its node connecting or an
 * answer. Reached after waiting: that contact's entries are due now and flushed, every other waiting
 * contact is redialled now (the far side is back), and when it waited MIN_CUT_MS or more our mailboxes
 * are fetched (mail for us may wait on the far side; heal.ts rate-limits that fetch). When the network
 * changed (a cut of part of the network ended, the far side answered), the waiting contacts whose node
 * is connected already have their entries due again within a jitter.
 * A contact with mail that the user sent on paths only (`send --hops N`, N > 0) waiting is not redialled.
 * This module only decides whom to redial and when; heal.ts owns the outbox resets and the fetch.
 */
import type { Clock } from '../lib/deps.ts';
import { errorOf, type Logger } from '../lib/log.ts';
import type { NetNode } from '../net/index.ts';
import { CONNECTED_RETRY_JITTER_MS, createContactProbes, MIN_CUT_MS, PROBE_PEERS } from '../routing/heal.ts';
import { byPeer } from './bundles.ts';
import type { NodeStore } from './node-store.ts';

/** A redial gives up after this (a cut host's dials would otherwise hang until TCP gives up). */
export const PROBE_TIMEOUT_MS = 3_000;

export interface ContactRedialDeps {
  readonly store: Pick<NodeStore, 'contacts' | 'sessions'>;
  readonly net: Pick<NetNode, 'peerId' | 'connections' | 'dial'>;
  readonly clock: Clock;
  readonly log: Logger;
  /** Uniform draws in [0, 1) for the probe jitter (timing, not key material). */
  readonly random: () => number;
  /**
   * A contact's entries, held ones included, due `delayMs` from now, at most once per
   * HEAL_MIN_INTERVAL_MS per contact (heal.ts); returns how many, or undefined when not reset.
   */
  readonly resetOnce: (contact: string, delayMs: number) => number | undefined;
  /** Sends what waits for a contact (messaging.flush); `force` ignores the backoff of its first batch. */
  readonly flush: (contact: string, force: boolean) => void;
  /**
   * The far side is back after `waitedMs`: our mailboxes of the days it covered may hold mail deposited
   * there (heal.ts rate-limits it).
   */
  readonly fetchFar: (waitedMs: number) => void;
  /** Session setups waiting for this contact's bundle: its node is reachable now (HealDeps.retrySessions). */
  readonly retrySessions?: (contact?: string) => void;
  /** Whether mail waits for this contact that may go on paths only (HealDeps.strictWaiting). */
  readonly strictWaiting?: (contact: string) => boolean;
}

export interface ContactRedial {
  /** Redials the nodes of the waiting contacts that are due. */
  redialDue(): void;
  /** A contact's node connected (or a redial reached it): what waits for it goes now. */
  connected(contact: string): void;
  /** An attempt reached (`ok`) or could not reach a contact's node (network-state.ts onContactReach). */
  reach(contact: string, ok: boolean): void;
  /** A cut of part of the network ended: every waiting contact is redialled now or, connected, goes again. */
  cutEnded(): void;
  /** A weaker sign (a lost peer is back): the contacts in their fast phase are redialled now; whether. */
  nudgeFast(): boolean;
  /** Contacts whose node is being redialled (their mail waits). */
  waiting(): string[];
  stop(): void;
}

export function createContactRedial(d: ContactRedialDeps): ContactRedial {
  const { store, net, clock, log } = d;
  const probes = createContactProbes({ clock });
  /** Waiting contacts whose node is being redialled now (one slow dial must not hold back the others'). */
  const dialling = new Set<string>();
  let stopped = false;

  /** A contact's entries due now (resetOnce), then a forced flush. */
  const resetContact = (contact: string): void => {
    d.resetOnce(contact, 0);
    d.flush(contact, true);
  };

  /**
   * The network changed (a cut ended, the far side answered): the waiting contacts whose node is
   * connected to ours already — a redial would prove nothing, and their entries may sit far out on the
   * backoff grown while their routes failed — go again within a jitter, held entries too (their node is
   * connected: delivery-policy.ts nextAttemptDelay), at most once per HEAL_MIN_INTERVAL_MS per contact
   * (the same budget as a contact's node connecting). The outbox tick sends them. Not on a mere lost
   * peer's return: trimmed peers come back every few seconds, and a contact whose last relay cannot
   * reach it would be re-sent and re-deposited every 15 s instead of on its backoff.
   */
  const retryConnected = (): void => {
    const waiting = probes.waiting();
    if (waiting.length === 0) return;
    const open = new Set(net.connections().map((c) => c.peerId));
    for (const contact of waiting) {
      if (!contactPeers(contact).some(([p]) => open.has(p))) continue;
      const n = d.resetOnce(contact, Math.floor(d.random() * CONNECTED_RETRY_JITTER_MS));
      if (n !== undefined) log.debug('heal: a connected waiting contact goes again', { contact, reset: n });
    }
  };

  /** A waiting contact's node was reached after `waitedMs`: the far side is back (see the header). */
  const farSideBack = (contact: string, waitedMs: number): void => {
    log.info('heal: contact reachable again', { contact, waitedMs, others: probes.waiting().length });
    if (probes.nudge()) retryConnected();
    if (waitedMs >= MIN_CUT_MS) d.fetchFar(waitedMs);
    if (probes.waiting().length > 0) setImmediate(redialDue);
  };

  /** The peers of a contact's node with the address to dial each (not relayed when a direct one is known). */
  const contactPeers = (contact: string): [string, string][] => {
    const c = store.contacts.get(contact);
    return [...byPeer(c?.addresses ?? [])].flatMap(([peer, addrs]): [string, string][] => {
      const pick = addrs.find((a) => !a.includes('/p2p-circuit')) ?? addrs[0];
      if (pick === undefined || peer === net.peerId) return [];
      return [[peer, pick.includes(`/p2p/${peer}`) ? pick : `${pick}/p2p/${peer}`]];
    });
  };

  const redialDue = (): void => {
    // At most PROBE_PEERS new dials a round and 2 × PROBE_PEERS in flight. Per contact, not per round: a
    // round waiting for its slowest dial held back a nudge's redials of the others (full-partition
    // under load: a dial of 1.6 s delayed another waiting contact's by 2.1 s, reached 7.2 s after the heal).
    const room = Math.min(PROBE_PEERS, 2 * PROBE_PEERS - dialling.size);
    if (stopped || room <= 0) return;
    const due = probes.due(room, d.random).filter((c) => !dialling.has(c));
    if (due.length === 0) return;
    const open = new Set(net.connections().map((c) => c.peerId));
    for (const contact of due) {
      const peers = contactPeers(contact);
      if (peers.length === 0) {
        if (store.contacts.get(contact) === undefined) probes.forget(contact);
        continue;
      }
      // Connected already: the outbox's own retries decide (a redial would prove nothing).
      if (peers.some(([p]) => open.has(p))) continue;
      // `send --hops N`: a direct dial would show both nodes connecting, what the user asked to hide
      // (docs/delivery.md "Routes"). Its paths and mailbox retries go on; its node connecting still counts.
      if (d.strictWaiting?.(contact) === true) {
        log.debug('heal: waiting contact not redialled: its mail goes on paths only', { contact });
        continue;
      }
      dialling.add(contact);
      void (async () => {
        for (const [peer, addr] of peers) {
          const started = clock();
          try {
            log.debug('heal: redialling a waiting contact', { contact, peer });
            await net.dial(addr, { timeoutMs: PROBE_TIMEOUT_MS });
            log.info('heal: redial reached a waiting contact', { contact, peer, tookMs: clock() - started });
            if (!stopped) connected(contact);
            return;
          } catch (e) {
            log.debug('heal: contact redial failed', { contact, peer, tookMs: clock() - started, error: errorOf(e) });
          }
        }
      })().finally(() => dialling.delete(contact));
    }
  };

  const connected = (contact: string): void => {
    if (stopped) return;
    const waited = probes.reached(contact);
    // No session yet (the bundle fetch failed, e.g. across the cut): its node is reachable now.
    if (!store.sessions.has(contact)) d.retrySessions?.(contact);
    resetContact(contact);
    if (waited !== undefined) farSideBack(contact, waited);
  };

  return {
    redialDue,
    connected,
    reach(contact, ok) {
      if (stopped) return;
      if (!ok) return probes.unreachable(contact);
      const waited = probes.reached(contact);
      if (waited === undefined) return;
      resetContact(contact);
      farSideBack(contact, waited);
    },
    cutEnded() {
      probes.nudge();
      retryConnected();
    },
    nudgeFast: () => probes.nudgeFast(),
    waiting: () => probes.waiting(),
    stop() {
      stopped = true;
    },
  };
}
