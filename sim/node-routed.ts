/**
 * The routed node model (issue 6; docs/delivery.md): node-model.ts's peer table and gossip, with its
 * direct delivery replaced by the product's routing code, unchanged —
 *   router        src/routing/router.ts createRouter: onion paths (path-select.ts over the peer table's
 *                 relays), relaying, exits, deposits; real onion packets and X25519 keys (seeded Rng)
 *   holders       src/routing/mailbox-holder.ts over src/store/mailboxes.ts memoryMailboxRepository (kept
 *                 across crashes, as the store is), challenge / fetch / delete with real Ed25519 proofs
 *   placement     src/routing/closest.ts closestPeers (r = MAILBOX_REPLICAS) over every node not removed
 *                 for good: the exact closest-peers oracle that stands in for the DHT
 *   mailbox keys  src/protocol/mailbox/keys.ts deriveMailbox(pair secret, day)
 *   outbox        src/routing/delivery-policy.ts chooseRoute / nextAttemptDelay
 * Per message, as src/node/outbound.ts: a path of min(3, relays known) relays to the recipient; the
 * target unreachable → deposit at the r holders of today's pair mailbox (status held); retries per the
 * policy; the recipient deduplicates by id and acks on a path. Recipients fetch their mailboxes at start,
 * at a heal and then on nextFetchDelay's backoff (src/node/delivery-loops.ts). A node that restarts, and
 * every node after a partition heals, flushes: the contacts' queued messages go at once (the product
 * flushes on reconnect and heal);
 * held messages to a contact go again as soon as anything (a message, an ack) arrives from it.
 *
 * Modelled, not real: no sessions — an envelope is an opaque random blob carrying the message id and the
 * sender (600 bytes; an ack 64); contacts know each other's onion keys and mailbox secrets from the start;
 * one onion key per node, never rotated (epoch 0); a hop is one request/answer exchange over the simulated
 * network with the product's 10 s timeout; a peer that is down or across a partition fails the hop at
 * once (a refused dial); a lost datagram is sent again after 1 s (a stream's retransmission), so only a
 * crash or a cut while a request is under way costs the timeout.
 *
 * Async: the router awaits its hops, so the engine runs with runUntilAsync and `settle()` (the promise
 * continuations an event set off run at that event's simulated time).
 */
import { sha256 } from '../src/crypto/hash.ts';
import { generateX25519, type X25519KeyPair } from '../src/crypto/x25519.ts';
import { toHex, utf8 } from '../src/lib/bytes.ts';
import type { Rng } from '../src/lib/deps.ts';
import { ErrorCodes, NetworkError } from '../src/lib/errors.ts';
import { silentLogger } from '../src/lib/log.ts';
import { deriveMailbox, mailboxDay, signMailboxProof, type Mailbox } from '../src/protocol/mailbox/keys.ts';
import { MAILBOX_PROOF_LENGTH } from '../src/protocol/mailbox/keys.ts';
import { decodeMailboxRequest, decodeMailboxResponse, encodeMailboxRequest, encodeMailboxResponse, MAILBOX_FETCH_MAX, type MailboxRequest, type MailboxResponse } from '../src/protocol/mailbox/wire.ts';
import { createReassembler } from '../src/routing/chunks.ts';
import { closestPeers } from '../src/routing/closest.ts';
import { chooseRoute, FETCH_BASE_MS, MAILBOX_REPLICAS, nextAttemptDelay, nextFetchDelay, DEFAULT_HOPS, type AttemptOutcome } from '../src/routing/delivery-policy.ts';
import { decodeHopAnswer, encodeHopAnswer } from '../src/routing/exit-frame.ts';
import { createMailboxHolder } from '../src/routing/mailbox-holder.ts';
import type { RelayCandidate } from '../src/routing/path-select.ts';
import { createRouter, type RouteTarget } from '../src/routing/router.ts';
import { memoryMailboxRepository, type MailboxRepository } from '../src/store/mailboxes.ts';
import { byRank, type PeerRecord } from '../src/store/peers.ts';
import { memoryTransactions, type MemoryTransactions } from '../src/store/memory-tx.ts';
import type { NodeId } from './engine/network.ts';
import type { AppMessage } from './engine/node.ts';
import type { EventId } from './engine/scheduler.ts';
import { nodeIdOf, peerIdOf, SIZES, type DeliveryFactory, type DeliveryPart, type NodeStore, type PeerInfo, type SimMsg } from './node-model.ts';

/** The product's hop and mailbox request timeout (src/node/delivery.ts hopTimeoutMs). */
export const HOP_TIMEOUT_MS = 10_000;
export const ENVELOPE_BYTES = 600;
export const ACK_ENVELOPE_BYTES = 64;
/** A datagram the network lost is sent again after this (TCP's initial RTO, RFC 6298 §2.1: streams do not lose requests). */
export const RETRANSMIT_MS = 1_000;
/** The relay view is recomputed at most this often (src/node/delivery.ts VIEW_TTL_MS). */
const VIEW_TTL_MS = 2_000;
const FETCH_ROUNDS = 8;
const ENV_MSG = 1;
const ENV_ACK = 2;

export interface RoutingStats {
  /** Attempts on a path (or straight to the recipient when no relay is known), and those a path took. */
  pathSends: number;
  pathSendsOk: number;
  /** Onion packets forwarded by a relay to its next hop. */
  relayed: number;
  hopTimeouts: number;
  depositAttempts: number;
  /** Deposit attempts that no holder took. */
  depositNoHolder: number;
  /** Copies stored at holders. */
  holderCopies: number;
  /** Fetches of an empty mailbox answered without signing or verifying a proof (CPU shortcut, same exchanges). */
  emptyFetches: number;
  /** Messages held in mailboxes at least once; those of them delivered; those that expired undelivered. */
  held: number;
  heldDelivered: number;
  heldExpired: number;
  /** First deliveries that came out of a mailbox. */
  deliveredFromMailbox: number;
  fetchRounds: number;
  fetchedItems: number;
  acksSent: number;
  /** Unexpected exceptions out of the routing code (0 in a healthy run). */
  errors: number;
}

export interface RoutedOptions {
  readonly seed: string;
  readonly nodes: number;
  readonly info: (id: NodeId) => PeerInfo;
  /** Who writes to `id` (whose mailboxes `id` fetches). */
  readonly sendersOf: (id: NodeId) => readonly NodeId[];
  readonly isRemoved: (id: NodeId) => boolean;
  /** Draws the onion keys. */
  readonly keyRng: Rng;
}

export interface RoutedModel {
  readonly delivery: DeliveryFactory;
  /** A partition healed: every live node flushes its outbox now. */
  healed(): void;
  /** Where message `id` stands in its sender's outbox (kept across crashes): for the pending report. */
  outboxState(from: NodeId, id: number): 'held' | 'queued' | 'absent';
  /** After each event: a promise to await when real async code has continuations queued, else undefined. */
  settle(): Promise<void> | undefined;
  /** A snapshot of the counters. */
  readonly stats: RoutingStats;
}

interface OutboxEntry {
  readonly msg: AppMessage;
  attempts: number;
  /** Held at least once (for the counters). */
  held: boolean;
  /** The last attempt left it in mailboxes (src/store/outbox.ts state 'held'). */
  heldNow: boolean;
}

/** What survives a crash besides node-model.ts's store (kept beside it, keyed by it). */
interface RoutedStore {
  readonly outbox: Map<number, OutboxEntry>;
  readonly tx: MemoryTransactions;
  readonly mail: MailboxRepository;
}

type StreamMsg = Extract<SimMsg, { kind: 'onion' | 'mailbox' | 'onion-answer' | 'mailbox-answer' }>;

interface Pending {
  resolve(body: Uint8Array): void;
  readonly reject: (e: Error) => void;
  readonly timer: EventId;
}

interface Part extends DeliveryPart {
  flush(to: NodeId | undefined): void;
  /** Polls the mailboxes now and starts the fetch backoff over (start, heal). */
  fetchNow(): void;
}

export function createRoutedModel(o: RoutedOptions): RoutedModel {
  const stats: RoutingStats = {
    pathSends: 0, pathSendsOk: 0, relayed: 0, hopTimeouts: 0, depositAttempts: 0, depositNoHolder: 0, holderCopies: 0,
    held: 0, heldDelivered: 0, heldExpired: 0, deliveredFromMailbox: 0, fetchRounds: 0, emptyFetches: 0, fetchedItems: 0, acksSent: 0, errors: 0,
  };
  const mailOf = new Map<NodeId, MailboxRepository>();
  const outboxOf = new Map<NodeId, Map<number, OutboxEntry>>();
  const delivered = new Set<number>();
  const EMPTY_PROOF = new Uint8Array(MAILBOX_PROOF_LENGTH);
  const keys: X25519KeyPair[] = Array.from({ length: o.nodes }, () => generateX25519(o.keyRng));
  const targets: RouteTarget[] = keys.map((k, i) => ({ peerId: peerIdOf(i as NodeId), routingKey: k.publicKey, addresses: o.info(i as NodeId).addresses }));
  const stores = new WeakMap<NodeStore, RoutedStore>();
  const live = new Map<NodeId, Part>();
  const heldIds = new Set<number>();
  let nextReq = 0;
  let dirty = false;
  const kick = (): void => {
    dirty = true;
  };
  const go = (p: Promise<unknown>): void => {
    kick();
    p.catch(() => stats.errors++);
  };

  // Pair secrets and mailboxes are pure functions of (sender, recipient, day): cached for the run.
  const mailboxes = new Map<string, Mailbox>();
  const mailboxOf = (from: NodeId, to: NodeId, day: number): Mailbox => {
    const key = `${from}>${to}@${day}`;
    let box = mailboxes.get(key);
    if (box === undefined) {
      box = deriveMailbox(sha256(utf8(`${o.seed}/pair/${from}/${to}`)), day);
      mailboxes.set(key, box);
    }
    return box;
  };
  const nearest = new Map<string, NodeId[]>();
  const holdersFor = (address: Uint8Array, exclude: NodeId): NodeId[] => {
    const key = toHex(address);
    const pick = (near: readonly NodeId[]): NodeId[] => near.filter((id) => id !== exclude && !o.isRemoved(id)).slice(0, MAILBOX_REPLICAS);
    let near = nearest.get(key);
    if (near === undefined || pick(near).length < MAILBOX_REPLICAS) {
      const candidates = targets.filter((t) => !o.isRemoved(nodeIdOf(t.peerId) as NodeId));
      near = closestPeers(address, candidates, MAILBOX_REPLICAS * 3).map((t) => nodeIdOf(t.peerId) as NodeId);
      nearest.set(key, near);
    }
    return pick(near);
  };
  const targetOf = (id: NodeId): RouteTarget => targets[id] as RouteTarget;
  /** Honest nodes that announce 'relay' (fixed for the run): the only relay entries a table can hold. */
  const relayPeerIds: string[] = [];
  for (let i = 0; i < o.nodes; i++) if (o.info(i as NodeId).capabilities.includes('relay')) relayPeerIds.push(peerIdOf(i as NodeId));

  const delivery: DeliveryFactory = (ctx, store, boot) => {
    let st = stores.get(store);
    if (st === undefined) {
      const tx = memoryTransactions();
      st = { outbox: new Map(), tx, mail: memoryMailboxRepository(tx) };
      stores.set(store, st);
    }
    mailOf.set(ctx.id, st.mail);
    outboxOf.set(ctx.id, st.outbox);
    const { outbox } = st;
    const self = ctx.id;
    const selfPeer = peerIdOf(self);
    const now = ctx.clock;
    const rng = ctx.random.asRng();
    const pending = new Map<number, Pending>();
    const timers = new Map<number, EventId>();
    const inflight = new Set<number>();
    /** Messages a flush asked for while an attempt was under way: tried again as soon as it ends. */
    const reflush = new Set<number>();
    const reassembler = createReassembler({ clock: now });
    let fetching = false;

    /** A stream's datagram: a loss costs a retransmission, not the request. */
    const streamSend = (to: NodeId, msg: StreamMsg): void => {
      if (ctx.send(to, msg, SIZES.header + msg.body.length) === 'lost') ctx.after(RETRANSMIT_MS, () => streamSend(to, msg));
    };
    /** One request/answer exchange of a protocol's bytes with `to`. */
    const request = (kind: 'onion' | 'mailbox', to: NodeId | undefined, body: Uint8Array): Promise<Uint8Array> =>
      new Promise((resolve, reject) => {
        if (to === undefined || !ctx.reachable(to)) {
          reject(new NetworkError(ErrorCodes.UNREACHABLE, 'peer unreachable'));
          return;
        }
        const req = nextReq++;
        const timer = ctx.after(HOP_TIMEOUT_MS, () => {
          pending.delete(req);
          stats.hopTimeouts++;
          kick();
          reject(new NetworkError(ErrorCodes.TIMEOUT, `no answer within ${HOP_TIMEOUT_MS} ms`));
        });
        pending.set(req, { resolve, reject, timer });
        streamSend(to, { kind, req, body });
      });

    let view: { at: number; relays: RelayCandidate[] } | undefined;
    const relays = (): RelayCandidate[] => {
      if (view === undefined || now() - view.at > VIEW_TTL_MS) {
        // The table's relay entries in list() order (byRank), read by id: only honest nodes announce
        // 'relay', so this is list() filtered, without copying the whole table (~1,000 rows at 1,000
        // nodes) every 2 s per sending node — the same view, a fifth of the copies.
        const rows: PeerRecord[] = [];
        for (const peerId of relayPeerIds) {
          const p = store.peers.get(peerId);
          if (p !== undefined && p.capabilities.includes('relay')) rows.push(p);
        }
        rows.sort(byRank);
        const list: RelayCandidate[] = rows.map((p) => ({ peerId: p.peerId, prefix: p.prefix, score: p.score, routingKey: targetOf(nodeIdOf(p.peerId) as NodeId).routingKey, addresses: p.addresses }));
        view = { at: now(), relays: list };
      }
      return view.relays;
    };
    const hops = (): number => Math.min(DEFAULT_HOPS, relays().length);

    const envelope = (type: number, id: number, bytes: number): Uint8Array => {
      const e = rng.bytes(bytes);
      const v = new DataView(e.buffer, e.byteOffset, e.byteLength);
      v.setUint8(0, type);
      v.setUint32(1, id);
      v.setUint32(5, self);
      return e;
    };

    /** The contact reached us: what we left in its mailboxes goes again now (src/node/messaging.ts wakeHeld). */
    const wakeHeld = (contact: NodeId): void => {
      for (const [id, e] of outbox) if (e.msg.to === contact && e.heldNow && !inflight.has(id)) arm(id, 0);
    };

    const onEnvelope = (env: Uint8Array, fromMailbox: boolean): void => {
      const v = new DataView(env.buffer, env.byteOffset, env.byteLength);
      const id = v.getUint32(1);
      const from = v.getUint32(5) as NodeId;
      if (v.getUint8(0) === ENV_ACK) {
        wakeHeld(from);
        const t = timers.get(id);
        if (t !== undefined) ctx.cancel(t);
        timers.delete(id);
        outbox.delete(id);
        return;
      }
      wakeHeld(from);
      if (store.received.has(id)) ctx.report.redundant(id);
      else {
        store.received.add(id);
        ctx.report.delivered(id);
        delivered.add(id);
        if (fromMailbox) stats.deliveredFromMailbox++;
      }
      // The ack: a small envelope of its own on a path (src/node/messaging.ts), not retried.
      stats.acksSent++;
      go(router.send(targetOf(from), envelope(ENV_ACK, id, ACK_ENVELOPE_BYTES), { hops: hops(), strict: false }));
    };

    const holder = createMailboxHolder({ repo: st.mail, transaction: (fn) => st.tx.transaction(fn), clock: now, rng, selfPeerId: selfPeer });
    const router = createRouter({
      selfPeerId: selfPeer,
      transport: { forward: async (peer, _addresses, packet) => decodeHopAnswer(await request('onion', nodeIdOf(peer), packet)) },
      keys: () => [keys[self] as X25519KeyPair],
      epoch: () => 0,
      relays,
      // The router asks where the next hop is only when it relays: the count of packets relayed.
      addressesOf: (peerId) => {
        stats.relayed++;
        const id = nodeIdOf(peerId);
        return id !== undefined && id < o.nodes ? targetOf(id).addresses : [];
      },
      onEnvelope: (env) => onEnvelope(env, false),
      holder,
      onOutcome: (peerId, ok) => void store.peers.recordOutcome(peerId, ok, now()),
      clock: now,
      rng,
      log: silentLogger,
    });

    // The outbox (src/node/outbound.ts, one message per attempt): path, else mailboxes, then the policy's delay.
    const arm = (id: number, delayMs: number): void => {
      const entry = outbox.get(id);
      if (entry === undefined) return;
      const old = timers.get(id);
      if (old !== undefined) ctx.cancel(old);
      const due = Math.min(now() + delayMs, entry.msg.expiresAt);
      timers.set(id, ctx.after(Math.max(0, due - now()), () => go(attempt(id))));
    };
    const deposit = async (e: OutboxEntry, env: Uint8Array, pathHops: number): Promise<boolean> => {
      const box = mailboxOf(e.msg.from, e.msg.to, mailboxDay(now()));
      const holders = holdersFor(box.address, e.msg.to).map(targetOf);
      stats.depositAttempts++;
      const stored = await router.deposit(holders, box.address, Math.floor(e.msg.expiresAt), env, { hops: pathHops, strict: false, exclude: new Set([peerIdOf(e.msg.to)]) });
      stats.holderCopies += stored.length;
      if (stored.length === 0) stats.depositNoHolder++;
      return stored.length > 0;
    };
    const route = async (e: OutboxEntry): Promise<AttemptOutcome> => {
      const choice = chooseRoute({ hops: undefined, haveInbox: true, relaysKnown: relays().length });
      const pathHops = choice.kind === 'onion' ? choice.hops : 0;
      const env = envelope(ENV_MSG, e.msg.id, ENVELOPE_BYTES);
      stats.pathSends++;
      const r = await router.send(targetOf(e.msg.to), env, { hops: pathHops, strict: false });
      if (r.ok) {
        stats.pathSendsOk++;
        return 'sent';
      }
      if (r.reason === 'path-failed') return 'unreachable';
      return (await deposit(e, env, pathHops)) ? 'held' : 'unreachable';
    };
    const attempt = async (id: number): Promise<void> => {
      timers.delete(id);
      const e = outbox.get(id);
      if (e === undefined || inflight.has(id)) return;
      if (now() >= e.msg.expiresAt) {
        outbox.delete(id);
        ctx.report.expired(id);
        if (e.held) stats.heldExpired++;
        return;
      }
      inflight.add(id);
      let outcome: AttemptOutcome;
      try {
        outcome = await route(e);
      } finally {
        inflight.delete(id);
      }
      if (!outbox.has(id)) return;
      const again = reflush.delete(id);
      e.heldNow = outcome === 'held';
      if (outcome === 'held' && !e.held) {
        e.held = true;
        if (!heldIds.has(id)) stats.held++;
        heldIds.add(id);
      }
      arm(id, again ? 0 : nextAttemptDelay(outcome, e.attempts, ctx.random.next()));
      e.attempts++;
    };

    // Fetching our mail (src/node/mailbox-fetch.ts): challenge, fetch with a proof, delete what was taken.
    const ask = async (holderId: NodeId, req: MailboxRequest): Promise<MailboxResponse> => decodeMailboxResponse(await request('mailbox', holderId, encodeMailboxRequest(req)));
    const drain = async (holderId: NodeId, box: Mailbox): Promise<void> => {
      const holderPeer = peerIdOf(holderId);
      for (let round = 0; round < FETCH_ROUNDS; round++) {
        const ch = await ask(holderId, { type: 'challenge' });
        if (ch.type !== 'challenge') return;
        stats.fetchRounds++;
        // CPU shortcut: an empty mailbox answers an empty list whatever the proof, so none is made for it.
        const empty = (mailOf.get(holderId)?.usage(box.address).count ?? 0) === 0;
        const proof = empty ? EMPTY_PROOF : signMailboxProof(box, holderPeer, ch.nonce, 'fetch');
        const res = await ask(holderId, { type: 'fetch', address: box.address, proof, limit: MAILBOX_FETCH_MAX });
        if (res.type !== 'items' || res.items.length === 0) return;
        stats.fetchedItems += res.items.length;
        for (const item of res.items) {
          const env = reassembler.add(item.blob);
          if (env !== undefined) onEnvelope(env, true);
        }
        await ask(holderId, { type: 'delete', address: box.address, proof: signMailboxProof(box, holderPeer, ch.nonce, 'delete'), ids: res.items.map((i) => i.id) });
        if (!res.more) return;
      }
    };
    /** Resolves to the envelopes taken out of mailboxes (0: an empty round). */
    const fetchMail = async (): Promise<number> => {
      if (fetching) return 0;
      fetching = true;
      const before = stats.fetchedItems;
      try {
        const today = mailboxDay(now());
        for (const sender of o.sendersOf(self)) {
          for (const day of today > 0 ? [today, today - 1] : [today]) {
            const box = mailboxOf(sender, self, day);
            // The r holders of a box at once, as src/node/mailbox-fetch.ts since 7d2dacf: a holder that
            // times out does not hold back the others' mail; a copy from two holders is deduplicated.
            // Unreachable or timed out: the next round asks again.
            await Promise.all(holdersFor(box.address, self).map((h) => drain(h, box).catch(() => undefined)));
          }
        }
      } finally {
        fetching = false;
      }
      return stats.fetchedItems - before;
    };
    // Polling as src/node/delivery-loops.ts: found mail → again after a minute; empty rounds back off.
    let emptyRounds = 0;
    let pollTimer: EventId | undefined;
    const poll = (reset: boolean): void => {
      if (reset) emptyRounds = 0;
      if (pollTimer !== undefined) ctx.cancel(pollTimer);
      pollTimer = undefined;
      go(
        fetchMail().then((got) => {
          emptyRounds = got > 0 ? 0 : emptyRounds + 1;
          if (pollTimer === undefined) pollTimer = ctx.after(nextFetchDelay(emptyRounds, ctx.random.next(), FETCH_BASE_MS), () => poll(false));
        }),
      );
    };

    const part: Part = {
      receive(from, msg) {
        switch (msg.kind) {
          case 'onion':
            go(router.handlePacket(msg.body, peerIdOf(from)).then((a) => streamSend(from, { kind: 'onion-answer', req: msg.req, body: encodeHopAnswer(a) })));
            return;
          case 'mailbox': {
            const req = decodeMailboxRequest(msg.body);
            const empty = req.type === 'fetch' && st.mail.usage(req.address).count === 0;
            if (empty) stats.emptyFetches++;
            const body = empty ? encodeMailboxResponse({ type: 'items', items: [], more: false }) : holder.handle(peerIdOf(from), msg.body);
            streamSend(from, { kind: 'mailbox-answer', req: msg.req, body });
            return;
          }
          case 'onion-answer':
          case 'mailbox-answer': {
            const p = pending.get(msg.req);
            if (p === undefined) return;
            pending.delete(msg.req);
            ctx.cancel(p.timer);
            kick();
            p.resolve(msg.body);
            return;
          }
        }
      },
      submit(msg) {
        outbox.set(msg.id, { msg, attempts: 0, held: false, heldNow: false });
        go(attempt(msg.id));
      },
      queued: () => outbox.size,
      fetchNow: () => poll(true),
      flush(to) {
        for (const [id, e] of outbox) {
          if (to !== undefined && e.msg.to !== to) continue;
          if (inflight.has(id)) reflush.add(id);
          else arm(id, 0);
        }
      },
    };

    // Start: our own queue goes out, our mail is fetched, and contacts flush what they hold for us.
    live.set(self, part);
    part.flush(undefined);
    ctx.after(ctx.random.next() * 1_000, () => poll(true));
    if (!boot.first) for (const [id, p] of live) if (id !== self) p.flush(self);
    return part;
  };

  return {
    delivery,
    outboxState(from, id) {
      const e = outboxOf.get(from)?.get(id);
      return e === undefined ? 'absent' : e.heldNow ? 'held' : 'queued';
    },
    healed() {
      for (const p of live.values()) {
        p.flush(undefined);
        p.fetchNow();
      }
    },
    settle() {
      if (!dirty) return undefined;
      dirty = false;
      return new Promise((resolve) => setImmediate(resolve));
    },
    get stats() {
      let heldDelivered = 0;
      for (const id of heldIds) if (delivered.has(id)) heldDelivered++;
      return { ...stats, heldDelivered };
    },
  };
}
