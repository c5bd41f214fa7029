/**
 * How an ack goes back for an envelope that came on a path or out of a mailbox (docs/delivery.md
 * "Onion paths"): on a path to the contact's node (as many relays as known, up to the default — a
 * default path, which the router shortens when relays fail). When no path gets through, into the
 * contact's mailbox rather than as a direct request to its node: the sender chose a path, and that
 * request would show the two nodes' link to whoever had made the path fail; a sender offline since its
 * deposit learns `delivered` from its next fetch. Directly only when we know no relay at all (two nodes
 * alone: no path exists, as for a default send) or not the contact's onion key yet (first contact,
 * which goes direct anyway). A lost ack is repaired by the sender: it sends again, and the receiver
 * deduplicates and acks again.
 */
import type { Clock } from '../lib/deps.ts';
import { errorOf, type Logger } from '../lib/log.ts';
import type { NetNode } from '../net/index.ts';
import { SEALED_MAX_LENGTH } from '../protocol/sealed/envelope.ts';
import { DEFAULT_HOPS } from '../routing/delivery-policy.ts';
import type { Router } from '../routing/router.ts';
import { byPeer } from './bundles.ts';
import type { NodeStore } from './node-store.ts';
import type { Outbound } from './outbound.ts';
import { MSG_PROTOCOL } from './outbound-direct.ts';
import type { RouteView } from './outbound-routes.ts';

/**
 * How long a deposited ack is held: the sender fetches the last two days of its mailboxes, and resends
 * what stays unacked meanwhile (each resend acked again).
 */
const ACK_HOLD_MS = 2 * 86_400_000;

export interface AckRouteDeps {
  readonly store: Pick<NodeStore, 'contacts'>;
  readonly net: Pick<NetNode, 'request'>;
  readonly router: Pick<Router, 'send'>;
  readonly routes: Pick<RouteView, 'relayCount'>;
  readonly outbound: Pick<Outbound, 'targetFor' | 'depositFor'>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly requestTimeoutMs: number;
}

/** Returns `sendAck(contact, ack)`: never throws for a failed route (logged at debug). */
export function createAckRoute(d: AckRouteDeps): (contact: string, ack: Uint8Array) => Promise<void> {
  const { log } = d;
  return async (contact, ack) => {
    const target = d.outbound.targetFor(contact);
    const relays = d.routes.relayCount();
    if (target && relays > 0) {
      try {
        const r = await d.router.send(target, ack, { hops: Math.min(DEFAULT_HOPS, relays), strict: false });
        if (r.ok) return;
      } catch (e) {
        log.debug('ack path failed', { contact, error: errorOf(e) });
      }
      if (await d.outbound.depositFor(contact, ack, d.clock() + ACK_HOLD_MS, undefined)) {
        log.debug('ack deposited in mailboxes', { contact });
        return;
      }
      log.debug('ack not delivered: the sender sends again', { contact });
      return;
    }
    const c = d.store.contacts.get(contact);
    for (const [peer, addrs] of byPeer(c?.addresses ?? [])) {
      try {
        await d.net.request(peer, addrs, MSG_PROTOCOL, ack, { timeoutMs: d.requestTimeoutMs, maxResponseBytes: SEALED_MAX_LENGTH });
        return;
      } catch (e) {
        log.debug('direct ack failed', { contact, peer, error: errorOf(e) });
      }
    }
  };
}
