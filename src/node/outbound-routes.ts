/**
 * Where outbound delivery (outbound.ts) takes a contact's mail: the contact's peers (the one that last
 * reached us first), its node as an onion target, the route src/routing/delivery-policy.ts chooses now,
 * and deposits in the pair's mailboxes (docs/mailboxes.md) when its node cannot be reached.
 */
import type { Clock } from '../lib/deps.ts';
import { errorOf, type Logger } from '../lib/log.ts';
import { deriveMailbox, mailboxDay } from '../protocol/mailbox/keys.ts';
import { chooseRoute, DEFAULT_HOPS } from '../routing/delivery-policy.ts';
import type { Router, RouteTarget } from '../routing/router.ts';
import type { NetNode } from '../net/index.ts';
import type { NodeStore } from './node-store.ts';
import { byPeer } from './bundles.ts';
import { depositSecretOf, inboxOf } from './inbox.ts';
import type { NetworkState } from './network-state.ts';

/** Where a contact's node and mailboxes are, as the node sees it now. */
export interface RouteView {
  /** Relays with an onion key that a path may use. */
  relayCount(): number;
  /** The r mailbox holders for `address`, never `exclude` (the contact's own node) nor ourselves. */
  holdersFor(address: Uint8Array, exclude: ReadonlySet<string>): RouteTarget[];
}

export type Route = ReturnType<typeof chooseRoute>;

export interface RouteDeps {
  readonly store: NodeStore;
  readonly net: NetNode;
  readonly router: Router;
  readonly routes: RouteView;
  readonly clock: Clock;
  readonly log: Logger;
  /** contact → the peer it last reached us from (likeliest to be up). */
  readonly lastPeer: ReadonlyMap<string, string>;
  /** `holdBack` says why a contact must wait now (the partition detector). */
  readonly network?: Pick<NetworkState, 'holdBack'>;
}

export interface Routes {
  /** The contact's peers and their addresses, the one that last reached us first. */
  peersOf(contact: string): [string, string[]][];
  /** The contact's node as an onion target (its peer ID, onion key and addresses), when known. */
  targetFor(contact: string): RouteTarget | undefined;
  /** Deposits at the holders of today's mailbox address of the pair; resolves to whether any stored it. */
  depositFor(contact: string, envelope: Uint8Array, expiresAt: number, hops: number | undefined): Promise<boolean>;
  /** The route for a contact's entries with path length `hops`, now. */
  routeFor(contact: string, hops: number | undefined): Route;
}

export function createRoutes(d: RouteDeps): Routes {
  const { store, net, clock, log } = d;

  /** The contact's peers, the one that last reached us first. */
  const peersOf = (contact: string): [string, string[]][] => {
    const c = store.contacts.get(contact);
    if (!c) return [];
    const peers = byPeer(c.addresses);
    const hint = d.lastPeer.get(contact);
    if (hint !== undefined) {
      const known = peers.get(hint);
      peers.delete(hint);
      peers.set(hint, known ?? []);
    }
    return [...peers].reverse();
  };

  const targetFor = (contact: string): RouteTarget | undefined => {
    const inbox = inboxOf(store.meta, contact);
    const first = peersOf(contact)[0];
    if (!inbox || !first) return undefined;
    return { peerId: first[0], routingKey: inbox.routingKey, addresses: first[1] };
  };

  /** Mailbox: deposits at the holders of today's address of the pair; resolves to whether any stored it. */
  const depositFor = async (contact: string, envelope: Uint8Array, expiresAt: number, hops: number | undefined): Promise<boolean> => {
    // Before the contact's `inbox` arrived (first contact): the mailbox of the invite it handed us.
    const secret = depositSecretOf(store.meta, contact);
    if (!secret) return false;
    const { address } = deriveMailbox(secret, mailboxDay(clock()));
    const away = new Set([net.peerId, ...peersOf(contact).map(([p]) => p)]);
    const holders = d.routes.holdersFor(address, away);
    if (holders.length === 0) return false;
    const relays = d.routes.relayCount();
    const opts = hops === undefined ? { hops: Math.min(DEFAULT_HOPS, relays), strict: false, exclude: away } : { hops, strict: true, exclude: away };
    try {
      const stored = await d.router.deposit(holders, address, expiresAt, envelope, opts);
      log.info('deposited in mailboxes', { contact, holders: stored.length });
      return stored.length > 0;
    } catch (e) {
      log.info('deposit failed', { contact, error: errorOf(e) });
      return false;
    }
  };

  /** The route for a contact's entries with path length `hops`, now. */
  const routeFor = (contact: string, hops: number | undefined): Route => {
    const held = d.network?.holdBack(store.contacts.get(contact)?.addresses ?? []);
    return held ? { kind: 'wait', why: held } : chooseRoute({ hops, haveInbox: inboxOf(store.meta, contact) !== undefined, relaysKnown: d.routes.relayCount() });
  };

  return { peersOf, targetFor, depositFor, routeFor };
}
