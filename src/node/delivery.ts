/**
 * The node's side of routing (docs/delivery.md): its onion keys, the router (src/routing/router.ts) on
 * `/compeer/onion/1`, the mailbox holder (src/routing/mailbox-holder.ts) on `/compeer/mailbox/1`, and
 * the view of the peer table that paths and mailbox placement use. Every node relays and holds mail
 * for others unless told not to; it announces both, with its onion key, in its peer announcements.
 * This module wires; the decisions live in src/routing/.
 */
import type { Clock, Rng } from '../lib/deps.ts';
import type { Logger } from '../lib/log.ts';
import type { X25519PublicKey } from '../crypto/x25519.ts';
import { MAILBOX_PROTOCOL, MAILBOX_REQUEST_MAX_BYTES } from '../protocol/mailbox/wire.ts';
import { ONION_PACKET_BYTES } from '../protocol/onion/packet.ts';
import { closestPeers } from '../routing/closest.ts';
import { MAILBOX_REPLICAS } from '../routing/delivery-policy.ts';
import { decodeHopAnswer, encodeHopAnswer } from '../routing/exit-frame.ts';
import { createMailboxHolder, type MailboxHolder } from '../routing/mailbox-holder.ts';
import type { RelayCandidate } from '../routing/path-select.ts';
import { createRouter, type Router, type RouteTarget } from '../routing/router.ts';
import type { PeerRecord } from '../store/peers.ts';
import type { NetNode } from '../net/index.ts';
import type { NodeStore } from './node-store.ts';
import { loadOnionKeys, type OnionKeys } from './onion-keys.ts';
import { openReplayCache, REPLAY_JOURNAL_MS } from './onion-replay-store.ts';
import type { RouteView } from './outbound.ts';

export const ONION_PROTOCOL = '/compeer/onion/1';
/** How long the peer-table view is reused (paths are chosen per attempt; the table changes slowly). */
const VIEW_TTL_MS = 2_000;

export interface DeliveryOptions {
  /** Relay packets for others (default true). */
  readonly relay?: boolean;
  /** Hold mail for others (default true). */
  readonly mailbox?: boolean;
  /** Deadline of one hop (default 10 s). */
  readonly hopTimeoutMs?: number;
  /** How often the replay cache's new tags are journalled (default 1 s: what a crash can lose). */
  readonly replayJournalMs?: number;
}

export interface NodeDelivery {
  readonly router: Router;
  readonly routes: RouteView;
  readonly holder: MailboxHolder;
  readonly keys: OnionKeys;
  onionKey(): X25519PublicKey;
  /** Where a peer can be dialled, as far as we know. */
  addressesOf(peerId: string): readonly string[];
  /**
   * Stops the replay cache's journal and saves the cache whole for the next start
   * (onion-replay-store.ts); logs, never throws. Only once the onion handler can take no more packets
   * (net stopped): a tag recorded after the save would be missing from the cache restored next time.
   */
  saveReplay(): void;
}

export interface DeliveryDeps {
  readonly store: NodeStore;
  readonly net: NetNode;
  readonly rng: Rng;
  readonly clock: Clock;
  readonly log: Logger;
  readonly onEnvelope: (envelope: Uint8Array) => Promise<void>;
  /** A peer on a path answered or failed (the partition detector). */
  readonly onReach?: (peerId: string, ok: boolean) => void;
  readonly options?: DeliveryOptions;
}

const isRoutable = (p: PeerRecord, capability: string): boolean => p.capabilities.includes(capability) && p.routingKey?.length === 32;

export async function startDelivery(d: DeliveryDeps): Promise<NodeDelivery> {
  const { store, net, clock, log } = d;
  const relayOn = d.options?.relay ?? true;
  const mailboxOn = d.options?.mailbox ?? true;
  const hopTimeoutMs = d.options?.hopTimeoutMs ?? 10_000;
  const keys = loadOnionKeys(store, d.rng, clock);
  // Restored before the handler is registered: the keys are the same as before the restart, so the
  // tags recorded before it must be refused from the first packet on.
  const stored = openReplayCache({ store, rng: d.rng, log }, keys.epoch());
  const replay = stored.cache;
  let view: { at: number; peers: PeerRecord[] } | undefined;
  const table = (): PeerRecord[] => {
    const now = clock();
    if (!view || now - view.at > VIEW_TTL_MS) view = { at: now, peers: (store.peers?.list(2_000) ?? []).filter((p) => p.peerId !== net.peerId) };
    return view.peers;
  };
  const relays = (): RelayCandidate[] =>
    table()
      .filter((p) => isRoutable(p, 'relay'))
      .map((p) => ({ peerId: p.peerId, prefix: p.prefix, score: p.score, routingKey: p.routingKey as Uint8Array, addresses: p.addresses }));
  const addressesOf = (peerId: string): readonly string[] => {
    const known = store.peers?.get(peerId)?.addresses ?? [];
    return known.length > 0 ? known : net.connections().filter((c) => c.peerId === peerId).map((c) => c.address);
  };

  const holder = createMailboxHolder({ repo: store.mailboxes, transaction: (fn) => store.transaction(fn), clock, rng: d.rng, selfPeerId: net.peerId, logger: log });
  const router = createRouter({
    selfPeerId: net.peerId,
    transport: {
      forward: async (peer, addresses, packet) =>
        decodeHopAnswer(await net.request(peer, addresses, ONION_PROTOCOL, packet, { timeoutMs: hopTimeoutMs, maxResponseBytes: 2 })),
    },
    keys: () => {
      keys.rotate();
      return keys.pairs();
    },
    epoch: () => keys.epoch(),
    relays,
    addressesOf,
    onEnvelope: d.onEnvelope,
    relaying: relayOn,
    replay,
    ...(mailboxOn && { holder }),
    onOutcome: (peerId, ok) => {
      d.onReach?.(peerId, ok);
      try {
        store.peers?.recordOutcome(peerId, ok, clock());
      } catch (e) {
        log.debug('peer score not updated', { error: e instanceof Error ? e : String(e) });
      }
    },
    clock,
    rng: d.rng,
    log: log.child({ component: 'router' }),
  });

  // A relay penalised for failing connected to us again: the cut that failed it may be over (router.ts
  // `forgive`). Lives as long as the node's network.
  net.onPeerDiscovered((p) => {
    if (p.source === 'identify' && router.forgive(p.peerId)) log.debug('relay penalties lifted: a penalised relay connected again', { peer: p.peerId });
  });

  // Not a relay: still the last hop of paths to ourselves and of deposits (the router refuses forwarding).
  await net.handle(ONION_PROTOCOL, async (req, from) => encodeHopAnswer(await router.handlePacket(req, from)), {
    maxRequestBytes: ONION_PACKET_BYTES,
    rateLimit: relayOn ? { perSecond: 200, burst: 400 } : { perSecond: 50, burst: 100 },
    maxInboundStreams: 128,
  });
  if (mailboxOn) {
    await net.handle(MAILBOX_PROTOCOL, async (req, from) => holder.handle(from, req), {
      maxRequestBytes: MAILBOX_REQUEST_MAX_BYTES,
      rateLimit: { perSecond: 20, burst: 60 },
    });
  }

  // Started once nothing above can throw (a failed start must not leave it running); off the packet path.
  const journal = setInterval(() => stored.flush(), d.options?.replayJournalMs ?? REPLAY_JOURNAL_MS);
  journal.unref();

  const routes: RouteView = {
    relayCount: () => relays().length,
    holdersFor: (address, exclude): RouteTarget[] =>
      closestPeers(
        address,
        table().filter((p) => isRoutable(p, 'mailbox') && !exclude.has(p.peerId)),
        MAILBOX_REPLICAS,
      ).map((p) => ({ peerId: p.peerId, routingKey: p.routingKey as X25519PublicKey, addresses: p.addresses })),
  };
  const saveReplay = (): void => {
    clearInterval(journal);
    stored.save();
  };
  return { router, routes, holder, keys, onionKey: () => keys.current(), addressesOf, saveReplay };
}
