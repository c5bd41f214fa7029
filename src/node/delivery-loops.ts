/**
 * The node's delivery timers and triggers (docs/delivery.md): mailbox fetches (the last days 3 s after
 * start; then the last two, every minute while mail comes, backing off to 16 min while it does not —
 * src/routing/delivery-policy.ts nextFetchDelay), expiry of mail held for others (every minute), connection sampling for the
 * partition detector, and the two moments a queue should go at once — a contact's node connects, or
 * the network heals (src/node/heal.ts: connectivity back after a cut, or the detector leaving
 * local-only). This module only schedules; the work is in messaging, the mailbox fetcher and the holder.
 */
import type { Clock } from '../lib/deps.ts';
import type { Logger } from '../lib/log.ts';
import type { NetNode } from '../net/index.ts';
import { FETCH_BASE_MS, nextFetchDelay } from '../routing/delivery-policy.ts';
import type { MailboxHolder } from '../routing/mailbox-holder.ts';
import { startHeal } from './heal.ts';
import type { MailboxFetcher } from './mailbox-fetch.ts';
import { FULL_FETCH_DAYS } from './mailbox-fetch.ts';
import type { Messaging } from './messaging.ts';
import type { NetworkState } from './network-state.ts';
import type { NodeStore } from './node-store.ts';

export interface DeliveryLoopDeps {
  readonly store: NodeStore;
  readonly net: NetNode;
  readonly msg: Messaging;
  readonly mail: MailboxFetcher;
  readonly holder: MailboxHolder;
  readonly network: NetworkState;
  readonly log: Logger;
  /** Mailbox fetch base period (default FETCH_BASE_MS, 60 s); empty rounds back off from it. */
  readonly fetchIntervalMs?: number;
  /** Uniform draws in [0, 1) for the fetch and redial jitter (default Math.random: timing, not key material). */
  readonly random?: () => number;
  /** Default Date.now (the heal's rate limit and cut lengths). */
  readonly clock?: Clock;
  /** Session setups still waiting for a bundle: retry `contact`'s, or every one, now (src/node/heal.ts HealDeps.retrySessions). */
  readonly retrySessions?: (contact?: string) => void;
}

export interface DeliveryLoops {
  fetchMail(days: number): Promise<number>;
  stop(): void;
}

export function startDeliveryLoops(d: DeliveryLoopDeps): DeliveryLoops {
  const { store, msg, log } = d;
  let stopped = false;
  const fetchMail = async (days: number): Promise<number> => (stopped ? 0 : d.mail.fetch(days));
  // Connections are evidence from the start (a LAN-only node is local-only without a failed remote dial).
  d.network.sampleConnections();
  const sampler = setInterval(() => d.network.sampleConnections(), 5_000);
  const baseMs = d.fetchIntervalMs ?? FETCH_BASE_MS;
  const random = d.random ?? Math.random;
  // Back from a cut: the backoff grown meanwhile is reset, what waited goes now, mail held for us is fetched.
  const heal = startHeal({
    store,
    net: d.net,
    network: d.network,
    clock: d.clock ?? Date.now,
    log,
    random,
    flush: (contact, force) => void msg.flush(contact, force),
    fetchNow: (days) => poll(days, true),
    strictWaiting: (contact) => msg.strictWaiting(contact),
    ...(d.retrySessions !== undefined && { retrySessions: d.retrySessions }),
  });
  // A new connection (identify ran on it): maybe the end of a cut; and if it is a contact's node, what
  // waits for it goes now.
  const offPeer = d.net.onPeerDiscovered((p) => {
    if (stopped || p.source !== 'identify') return;
    d.network.sampleConnections(); // the detector sees the new connection now, not at the next sample
    heal.check();
    const suffix = `/p2p/${p.peerId}`;
    for (const c of store.contacts.list()) if (c.addresses.some((a) => a.endsWith(suffix))) heal.contactConnected(c.userId);
  });
  let emptyRounds = 0;
  let pollTimer: NodeJS.Timeout | undefined;
  /** A poll: found mail or not decides the next wait. `reset` (start, heal) starts the backoff over. */
  const poll = (days: number, reset: boolean): void => {
    if (reset) emptyRounds = 0;
    clearTimeout(pollTimer);
    pollTimer = undefined;
    void fetchMail(days)
      .then((got) => {
        emptyRounds = got > 0 ? 0 : emptyRounds + 1;
      })
      .catch((e: unknown) => log.warn('mailbox fetch failed', { error: e instanceof Error ? e : String(e) }))
      .finally(() => {
        if (stopped || pollTimer !== undefined) return;
        pollTimer = setTimeout(() => poll(2, false), nextFetchDelay(emptyRounds, random(), baseMs));
        pollTimer.unref();
      });
  };
  const expiryTimer = setInterval(() => {
    try {
      d.holder.expire(); // mail held for others goes when its TTL ends
    } catch (e) {
      log.error('mailbox expiry failed', { error: e instanceof Error ? e : String(e) });
    }
  }, 60_000);
  // Peers to ask must be known first: the full fetch of the last days waits for discovery a little.
  const firstFetch = setTimeout(() => poll(FULL_FETCH_DAYS, true), 3_000);
  for (const t of [sampler, expiryTimer, firstFetch]) t.unref();
  return {
    fetchMail,
    stop() {
      stopped = true;
      clearInterval(sampler);
      clearInterval(expiryTimer);
      clearTimeout(firstFetch);
      clearTimeout(pollTimer);
      offPeer();
      heal.stop();
    },
  };
}
