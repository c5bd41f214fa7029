/**
 * The node's delivery timers and triggers (docs/delivery.md): mailbox fetches (the last days 3 s after
 * start, the last two every minute), expiry of mail held for others, connection sampling for the
 * partition detector, and the two moments a queue should go at once — a contact's node connects, or
 * the network heals from local-only. This module only schedules; the work is in messaging, the
 * mailbox fetcher and the holder.
 */
import type { Logger } from '../lib/log.ts';
import type { NetNode } from '../net/index.ts';
import type { MailboxHolder } from '../routing/mailbox-holder.ts';
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
  /** Mailbox fetch period (default 60 s). */
  readonly fetchIntervalMs?: number;
}

export interface DeliveryLoops {
  fetchMail(days: number): Promise<number>;
  stop(): void;
}

export function startDeliveryLoops(d: DeliveryLoopDeps): DeliveryLoops {
  const { store, msg, log } = d;
  let stopped = false;
  const fetchMail = async (days: number): Promise<number> => (stopped ? 0 : d.mail.fetch(days));
  const flushAll = (): void => {
    for (const c of store.contacts.list()) void msg.flush(c.userId, true);
  };
  const sampler = setInterval(() => d.network.sampleConnections(), 5_000);
  // A contact's node connected (identify ran on a new connection): what waits for it goes now.
  const offPeer = d.net.onPeerDiscovered((p) => {
    if (stopped || p.source !== 'identify') return;
    const suffix = `/p2p/${p.peerId}`;
    for (const c of store.contacts.list()) if (c.addresses.some((a) => a.endsWith(suffix))) void msg.flush(c.userId, true);
  });
  // Back from local-only: what waited goes now, and mail held for us meanwhile is fetched.
  const offHeal = d.network.onHeal(() => {
    if (stopped) return;
    flushAll();
    void fetchMail(2);
  });
  const mailTimer = setInterval(() => {
    void fetchMail(2);
    try {
      d.holder.expire(); // mail held for others goes when its TTL ends
    } catch (e) {
      log.error('mailbox expiry failed', { error: e instanceof Error ? e : String(e) });
    }
  }, d.fetchIntervalMs ?? 60_000);
  // Peers to ask must be known first: the full fetch of the last days waits for discovery a little.
  const firstFetch = setTimeout(() => void fetchMail(FULL_FETCH_DAYS), 3_000);
  for (const t of [sampler, mailTimer, firstFetch]) t.unref();
  return {
    fetchMail,
    stop() {
      stopped = true;
      clearInterval(sampler);
      clearInterval(mailTimer);
      clearTimeout(firstFetch);
      offPeer();
      offHeal();
    },
  };
}
