/**
 * createCompeer: the composition root of one Compeer node. It wires the store (NodeStore port), the
 * libp2p node (src/net/), the prekey lifecycle (prekeys.ts), bundles (bundles.ts) and messaging
 * (messaging.ts), and implements CompeerApi (types.ts; `send` and `messages` in message-api.ts). Events
 * go out only after the store committed.
 *
 * Lifecycle: start → node key from meta (created once, so the peer ID is stable) → net node with the
 * `cbundle` DHT namespace → handlers /compeer/msg/1 and /compeer/bundle/2 → prekeys maintained and the
 * bundle published → discovery hook (opts.discovery, src/node/discovery/) → timers (retries, prekey
 * maintenance and republishing) → flush of the outbox. stop() undoes it in reverse.
 * This module knows nothing of the HTTP API or the CLI.
 */
import { toHex } from '../lib/bytes.ts';
import type { X25519PublicKey } from '../crypto/x25519.ts';
import type { Clock, Rng } from '../lib/deps.ts';
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import { silentLogger, type Logger } from '../lib/log.ts';
import { systemClock, systemRng } from '../lib/system.ts';
import { decodeKnownIdentity } from '../protocol/identity-cache.ts';
import { encodePublicIdentity, userIdOf } from '../protocol/identity.ts';
import { inviteToLink, parseInviteLink } from '../protocol/invite.ts';
import { fingerprintHash } from '../protocol/verify/fingerprint.ts';
import { formatSafetyNumber, safetyNumber, safetyNumberParty } from '../protocol/verify/safety-number.ts';
import { SAFETY_NUMBER_ITERATIONS } from '../protocol/wire/constants.ts';
import { MSG_BATCH_MAX_BYTES } from '../protocol/wire/msg-batch.ts';
import type { ContactRecord } from '../store/contacts.ts';
import { createNetNode, type NetNode, type NetNodeOptions } from '../net/index.ts';
import type { CompeerApi, ContactInfo, IdentityInfo, PeerInfo, StatusInfo, VerifyInfo } from './types.ts';
import type { NodeStore } from './node-store.ts';
import { bundleHandler, createPrekeyManager } from './prekeys.ts';
import { BUNDLE_NAMESPACE, BUNDLE_PROTOCOL, bundleNamespace, byPeer } from './bundles.ts';
import { contactInfo, createMessaging, MSG_PROTOCOL, type Messaging } from './messaging.ts';
import { startDelivery, type DeliveryOptions } from './delivery.ts';
import { createNetworkState } from './network-state.ts';
import { createSasCoordinator, runSas } from './sas.ts';
import { createEventHub } from './events.ts';
import { createMailboxFetcher, FULL_FETCH_DAYS } from './mailbox-fetch.ts';
import { startDeliveryLoops } from './delivery-loops.ts';
import { createFirstContact } from './first-contact.ts';
import { checkName, inviteOrder, issueInvite } from './invites.ts';
import { loadOrCreateNodeKey } from './node-key.ts';
import { createSendQueue } from './send-queue.ts';
import { createMessageApi, messageInfo } from './message-api.ts';
import { createBundlePublisher } from './bundle-publish.ts';


/** What the discovery part (src/node/discovery/) gets, and gives back. */
export interface DiscoveryContext {
  readonly net: NetNode;
  readonly store: NodeStore;
  readonly log: Logger;
  readonly clock: Clock;
  readonly rng: Rng;
  /** The node's current onion key, announced with the relay and mailbox capabilities. */
  readonly onionKey: () => X25519PublicKey;
}
export type StartDiscovery = (ctx: DiscoveryContext) => Promise<{ stop(): Promise<void> }>;

export interface CompeerOptions {
  readonly store: NodeStore;
  readonly net?: Omit<NetNodeOptions, 'nodeKey' | 'dht' | 'logger' | 'clock'>;
  readonly logger?: Logger;
  readonly rng?: Rng;
  readonly clock?: Clock;
  /** Started after the net node; stopped first. */
  readonly discovery?: StartDiscovery;
  /** Refuse to send to a contact whose key changed until it is verified again (default true). */
  readonly refuseChangedKeys?: boolean;
  /** Outbox retry timer (default 1 s). */
  readonly retryIntervalMs?: number;
  /** Prekey maintenance and bundle republishing (default 1 h). */
  readonly maintenanceIntervalMs?: number;
  /**
   * First wait before publishing the bundle again when no DHT peer stored it (default 5 s; doubling
   * up to 5 min, until one does).
   */
  readonly publishRetryMs?: number;
  /** Deadline of one delivery or bundle request (default 5 s). */
  readonly requestTimeoutMs?: number;
  /** Deadline of a DHT put/get (default 5 s). */
  readonly dhtTimeoutMs?: number;
  /** Relaying and mail holding for others (default: both on). */
  readonly delivery?: DeliveryOptions;
  /** How long `verify` waits for a SAS exchange to complete (default 10 s). */
  readonly sasWaitMs?: number;
  /** How often our mailboxes are fetched (default 60 s; a full fetch of the last days runs at start). */
  readonly mailboxFetchIntervalMs?: number;
}

export interface CompeerNode extends CompeerApi {
  readonly userId: string;
  readonly peerId: string;
  readonly net: NetNode;
  /** Publishes the current bundle to the DHT now; resolves to the number of peers that stored it. */
  publishBundle(): Promise<number>;
  /** Runs the deferred session setups, the outbox retries and a mailbox fetch now (tests; otherwise on the timers). */
  retryNow(): Promise<void>;
  /** Fetches our mailboxes of the last `days` days now; resolves to the envelopes received. */
  fetchMail(days?: number): Promise<number>;
  stop(): Promise<void>;
}

const SESSION_RETRY_MS = 30_000;


export async function createCompeer(opts: CompeerOptions): Promise<CompeerNode> {
  const { store } = opts;
  const rng = opts.rng ?? systemRng;
  const clock = opts.clock ?? systemClock;
  const log = (opts.logger ?? silentLogger).child({ component: 'node' });
  const requestTimeoutMs = opts.requestTimeoutMs ?? 5_000;
  const dhtTimeoutMs = opts.dhtTimeoutMs ?? 5_000;
  const refuseChanged = opts.refuseChangedKeys ?? true;
  const own = store.identity;
  const userId = userIdOf(own.public);
  const events = createEventHub(log);
  const emit = events.emit;

  const net = await createNetNode({
    ...opts.net,
    nodeKey: loadOrCreateNodeKey(store, rng, log),
    dht: { namespaces: { [BUNDLE_NAMESPACE]: bundleNamespace } },
    logger: opts.logger ?? silentLogger,
    clock,
  });
  const prekeys = createPrekeyManager(store, rng);
  let stopped = false;
  // The router hands envelopes to messaging, which sends through the router: bound once both exist.
  const late: { messaging?: Messaging } = {};
  const receiveRouted = async (envelope: Uint8Array): Promise<void> => {
    await late.messaging?.receiveRouted(envelope);
  };
  const sas = createSasCoordinator(rng, log);
  const network = createNetworkState(net, clock, log, (peer) => delivery.addressesOf(peer));
  const delivery = await startDelivery({
    store,
    net,
    rng,
    clock,
    log,
    onEnvelope: receiveRouted,
    onReach: (peer, ok) => network.reach(peer, ok),
    ...(opts.delivery && { options: opts.delivery }),
  });
  const msg = createMessaging({
    store,
    net,
    router: delivery.router,
    routes: delivery.routes,
    rng,
    clock,
    log,
    emit,
    ownAddresses: () => net.addresses(),
    onionKey: delivery.onionKey,
    requestTimeoutMs,
    network,
    sas,
  });
  late.messaging = msg;
  const first = createFirstContact({ store, net, msg, own, rng, clock, log, requestTimeoutMs });
  const mail = createMailboxFetcher({ store, net, rng, clock, log, holdersFor: delivery.routes.holdersFor, onEnvelope: receiveRouted, timeoutMs: requestTimeoutMs });

  const bundles = createBundlePublisher({ net, prekeys, network, userId, clock, log, dhtTimeoutMs, ...(opts.publishRetryMs !== undefined && { retryMinMs: opts.publishRetryMs }) });
  const publishBundle = bundles.publish;
  let discovery: { stop(): Promise<void> } | undefined;
  try {
    await net.handle(MSG_PROTOCOL, (req, from) => msg.handle(req, from), {
      rateLimit: { perSecond: 2_000, burst: 4_000 },
      maxInboundStreams: 256,
      maxRequestBytes: MSG_BATCH_MAX_BYTES,
    });
    await net.handle(BUNDLE_PROTOCOL, bundleHandler(prekeys, store, clock, log, () => stopped), { maxRequestBytes: 64, rateLimit: { perSecond: 5, burst: 20 } });
    prekeys.maintain(clock());
    await net.start();
    discovery = opts.discovery ? await opts.discovery({ net, store, log, clock, rng, onionKey: delivery.onionKey }) : undefined;
  } catch (e) {
    // Leave nothing running; the store stays open (the caller opened it and closes it).
    stopped = true;
    await net.stop().catch(() => {});
    delivery.saveReplay(); // stops the replay journal's timer; writes the cache whole (nothing was taken out of the store)
    throw e;
  }
  bundles.publishUntilStored();

  // The outbox tick does not wait for the flushes it starts: each contact's flush guards itself
  // (outbound.ts, one per contact; a tick that finds it running marks it to run again), so a contact
  // whose attempt takes long (a dead peer's request deadline, then deposits, on a slow loop) must not
  // hold back every other contact's due retries until it ends. Session setups (a bundle fetch: a
  // request, then the DHT) run on their own guard for the same reason.
  let sessionsRunning = false;
  let nextSessionRetry = 0;
  const retry = setInterval(() => {
    if (stopped) return;
    msg.tick().catch((e: unknown) => log.warn('outbox tick failed', { error: e instanceof Error ? e : String(e) }));
    const now = clock();
    // A retry asked while one runs (the heal) waits for it to end, not for the next 30 s.
    if (now < nextSessionRetry || sessionsRunning) return;
    nextSessionRetry = now + SESSION_RETRY_MS;
    keepContacts(); // their addresses change with their `addresses` messages
    sessionsRunning = true;
    first
      .retryPending()
      .catch((e: unknown) => log.warn('session retry failed', { error: e instanceof Error ? e : String(e) }))
      .finally(() => (sessionsRunning = false));
  }, opts.retryIntervalMs ?? 1_000);
  const loops = startDeliveryLoops({
    store,
    net,
    msg,
    mail,
    holder: delivery.holder,
    network,
    log,
    // The heal says when a contact's node is reachable again: that contact's setup goes now
    // (first-contact.ts retry: jittered, rate-limited); at a heal, the next 1 s tick retries every
    // waiting setup instead of waiting for the 30 s retry.
    retrySessions: (contact) => (contact === undefined ? void (nextSessionRetry = 0) : void first.retry(contact)),
    ...(opts.mailboxFetchIntervalMs !== undefined && { fetchIntervalMs: opts.mailboxFetchIntervalMs }),
  });
  const fetchMail = (days: number): Promise<number> => loops.fetchMail(days);
  const maintenance = setInterval(() => {
    try {
      prekeys.maintain(clock());
    } catch (e) {
      log.error('prekey maintenance failed', { error: e instanceof Error ? e : String(e) });
    }
    bundles.publishUntilStored();
    try {
      if (delivery.keys.rotate()) msg.announceInbox();
    } catch (e) {
      log.error('delivery maintenance failed', { error: e instanceof Error ? e : String(e) });
    }
    announceSafely();
  }, opts.maintenanceIntervalMs ?? 3600_000);
  // Addresses can change shortly after start (a relay reservation, identify's observed address).
  const lateAnnounce = setTimeout(announceSafely, 10_000);
  retry.unref();
  maintenance.unref();
  lateAnnounce.unref();
  msg.announceAddresses(net.addresses().slice(0, 8));
  msg.announceInbox();
  keepContacts();
  for (const c of store.contacts.list()) void msg.flush(c.userId, true);

  const commitSend = createSendQueue({ store, messaging: msg, emit, clock, toInfo: messageInfo });

  /** Connections to our contacts' nodes are the last the net layer trims (src/net/trim.ts). */
  function keepContacts(): void {
    try {
      net.keepPeers([...new Set(store.contacts.list().flatMap((c) => [...byPeer(c.addresses).keys()]))]);
    } catch (e) {
      log.warn('could not mark the contacts\' peers', { error: e instanceof Error ? e : String(e) });
    }
  }

  function announceSafely(): void {
    if (stopped) return;
    try {
      msg.announceAddresses(net.addresses().slice(0, 8));
      for (const c of store.contacts.list()) void msg.flush(c.userId);
    } catch (e) {
      log.warn('address announcement failed', { error: e instanceof Error ? e : String(e) });
    }
  }

  const resolve = (q: string): ContactRecord => {
    if (typeof q !== 'string' || q.length === 0 || q.length > 128) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'contact: a name or user ID prefix');
    return store.contacts.resolve(q);
  };
  const messageApi = createMessageApi({ store, rng, clock, log, events, first, commitSend, resolve, refuseChanged });

  const api: CompeerNode = {
    userId,
    peerId: net.peerId,
    net,
    publishBundle,
    retryNow: async () => {
      await first.retryPending();
      await fetchMail(2);
      await msg.tick();
    },
    fetchMail: (days = FULL_FETCH_DAYS) => fetchMail(days),

    async id(opts?: { forContact?: string }): Promise<IdentityInfo> {
      // For a contact starting over with a new identity: its hello may move that contact (invites.ts).
      const forKey = opts?.forContact === undefined ? undefined : resolve(opts.forContact).userId;
      const secret = store.transaction(() => issueInvite(store.meta, rng, clock(), forKey));
      const addresses = inviteOrder(net.addresses());
      const fp = toHex(fingerprintHash(safetyNumberParty(own.public), SAFETY_NUMBER_ITERATIONS).subarray(0, 16));
      return {
        userId,
        name: store.name,
        safetyFingerprint: fp.match(/.{4}/g)?.join(' ') ?? fp,
        invite: inviteToLink({ identity: own.public, secret, addresses, name: store.name }),
        addresses,
      };
    },

    async addContact(link, name) {
      const invite = parseInviteLink(link);
      if (invite.userId === userId) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'this is our own invite');
      const chosen = checkName(name ?? invite.name);
      const key = msg.contactKeyFor(invite.userId);
      const existing = store.contacts.get(key);
      if (existing) {
        // Already a contact (e.g. they added us first): the invite adds nothing but maybe a name.
        if (name !== undefined && chosen !== existing.name) store.transaction(() => store.contacts.rename(key, chosen));
        const c = store.contacts.get(key) ?? existing;
        return { userId: c.userId, name: c.name };
      }
      store.transaction(() => {
        store.contacts.add({ userId: invite.userId, name: chosen, publicKey: encodePublicIdentity(invite.identity), createdAt: clock(), addresses: invite.addresses });
        first.remember(invite.userId, invite.secret);
      });
      const c = store.contacts.get(invite.userId);
      if (c) {
        keepContacts();
        emit([{ type: 'contact', contact: contactInfo(c) }]);
        try {
          await first.startSession(c);
        } catch (e) {
          // The contact stays; the session starts at the first send (bundle fetched again then).
          log.warn('session setup deferred', { contact: c.userId, error: e instanceof Error ? e : String(e) });
        }
        void msg.flush(c.userId, true);
      }
      return { userId: invite.userId, name: chosen };
    },

    async contacts(): Promise<ContactInfo[]> {
      return store.contacts.list().map(contactInfo);
    },

    ...messageApi,

    async verify(contact, confirm): Promise<VerifyInfo> {
      const c = resolve(contact);
      const sn = safetyNumber(own.public, decodeKnownIdentity(c.publicKey));
      if (confirm) {
        store.transaction(() => store.contacts.setVerified(c.userId, true));
        const updated = store.contacts.get(c.userId);
        if (updated) emit([{ type: 'contact', contact: contactInfo(updated) }]);
      }
      if (!confirm && sas.result(c.userId) === null) await runSas({ store, msg, sas, own, rng, clock }, c.userId, opts.sasWaitMs ?? 10_000);
      return { safetyNumber: formatSafetyNumber(sn.digits), sas: sas.result(c.userId), verified: confirm || c.verified };
    },

    async peers(): Promise<PeerInfo[]> {
      const table = store.peers?.list(256) ?? [];
      if (table.length > 0) return table.map((p) => ({ peerId: p.peerId, addresses: [...p.addresses], lastSeen: p.lastSeen, score: p.score }));
      const now = clock();
      const byPeer = new Map<string, PeerInfo>();
      for (const conn of net.connections()) {
        const p = byPeer.get(conn.peerId) ?? { peerId: conn.peerId, addresses: [], lastSeen: now, score: 0 };
        p.addresses.push(conn.address);
        byPeer.set(conn.peerId, p);
      }
      return [...byPeer.values()];
    },

    async status(): Promise<StatusInfo> {
      const peers = new Set(net.connections().map((c) => c.peerId)).size;
      const counts = store.outbox.counts();
      network.sampleConnections();
      const { state, reason } = network.assess();
      return {
        state,
        reason,
        peers,
        outbox: { queued: counts.queued + counts.sent, held: counts.held },
      };
    },

    on(listener) {
      return events.on(listener);
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(retry);
      clearInterval(maintenance);
      loops.stop();
      clearTimeout(lateAnnounce);
      bundles.stop();
      if (discovery) await discovery.stop().catch((e: unknown) => log.warn('discovery stop failed', { error: e instanceof Error ? e : String(e) }));
      await net.stop();
      delivery.saveReplay(); // after net.stop(): no packet can be recorded after the snapshot
      events.clear();
      store.close();
    },
  };
  return api;
}
