/**
 * The router: moves opaque sealed envelopes through onion paths to a node or into mailboxes, and does a
 * relay's and a holder's part for others (docs/delivery.md "Paths"). It knows nothing of sessions,
 * contacts or the outbox: the node's messaging decides what to send where and when (src/node/), the
 * router decides how. Pure — transport, keys, peers, clock and randomness are injected, so the node
 * gives it libp2p streams and the store, and the simulator (sim/) gives it a simulated network.
 *
 * Sending: the envelope is chunked to the onion payload size; a path of `hops` relays is chosen for
 * diversity (path-select.ts) and every chunk travels it as its own packet (fresh ephemeral keys per
 * layer, onion/packet.ts). Each hop answers with a status and the depth of a failure (exit-frame.ts):
 * a failed relay is penalised and the path re-selected; a failure at the destination itself is reported
 * to the caller (it then deposits in the recipient's mailboxes) — after one more path with another last
 * relay when the last relay could not reach it: that is the pair's trouble as often as the destination's
 * (a node at its connection limit refuses a relay it just cut while it keeps its other connections:
 * full-partition, 26 Nov, a recipient refused three relays for 30 s), so the relay is avoided as that
 * destination's last hop for a while.
 * Relaying: peel one layer with the current or previous onion key, refuse replays (the tag cache of
 * the epoch of the key that peeled it, onion-replay.ts), forward to the next hop and pass its answer
 * back, one hop deeper. Exit: reassemble delivered chunks into an envelope for the node, or hand a
 * deposit to the mailbox holder.
 */
import type { Clock, Rng } from '../lib/deps.ts';
import { CompeerError, ErrorCodes, ProtocolError, isCompeerError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { X25519KeyPair, X25519PublicKey } from '../crypto/x25519.ts';
import { buildOnion, ONION_PAYLOAD_BYTES, peelOnion, type OnionLayer } from '../protocol/onion/packet.ts';
import { decodeDeposit, encodeDeposit, MAILBOX_BLOB_MAX_BYTES } from '../protocol/mailbox/wire.ts';
import { chunkPayload, createReassembler } from './chunks.ts';
import { decodeExit, encodeExit, type HopAnswer } from './exit-frame.ts';
import { createReplayCache, REPLAY_DEFAULTS, type ReplayCache } from './onion-replay.ts';
import { selectPath, type RelayCandidate } from './path-select.ts';

/** A node we can build the last layer for: its peer ID and onion routing key. */
export interface RouteTarget {
  readonly peerId: string;
  readonly routingKey: X25519PublicKey;
  readonly addresses: readonly string[];
}

export interface SendOptions {
  /** Relays on the path (0: straight to the target). */
  readonly hops: number;
  /** true: fail with NO_ROUTE when fewer relays are known; false: use as many as there are. */
  readonly strict: boolean;
  /** Peers never to put on the path (e.g. the recipient's node when it is known to be down). */
  readonly exclude?: ReadonlySet<string>;
}

export type SendResult =
  | { readonly ok: true; readonly path: readonly string[] }
  | { readonly ok: false; readonly reason: 'target-unreachable' | 'target-refused' | 'path-failed'; readonly path: readonly string[] };

export interface MailboxHolderPort {
  deposit(address: Uint8Array, blob: Uint8Array, expiresAt: number): { readonly outcome: string; readonly reason?: string };
}

export interface RouterTransport {
  /** Sends a packet to `peer` on the onion protocol; resolves to its answer, rejects when it cannot be reached. */
  forward(peer: string, addresses: readonly string[], packet: Uint8Array): Promise<HopAnswer>;
}

export interface RouterDeps {
  readonly selfPeerId: string;
  readonly transport: RouterTransport;
  /** Our onion key pairs, current first (a rotated-out key still peels packets built before it changed). */
  readonly keys: () => readonly X25519KeyPair[];
  /** The current key epoch (the replay cache keeps this one and the previous one). */
  readonly epoch: () => number;
  /** Relay candidates (peers announcing the relay capability and an onion key). */
  readonly relays: () => readonly RelayCandidate[];
  /** Where to dial a next hop (peer table, open connections); empty lets the transport look it up. */
  readonly addressesOf: (peerId: string) => readonly string[];
  /** A whole envelope addressed to this node arrived through a path. */
  readonly onEnvelope: (envelope: Uint8Array) => void | Promise<void>;
  /** false: only exits (packets for us, deposits) are taken; forwarding for others is refused. */
  readonly relaying?: boolean;
  /** Present when this node holds mail for others. */
  readonly holder?: MailboxHolderPort;
  /** Reachability of a peer as seen on a path (for the peer table's score). */
  readonly onOutcome?: (peerId: string, ok: boolean) => void;
  /**
   * The relay's replay cache, when its owner keeps it beyond the router (the node restores it at start
   * and saves it at stop, src/node/onion-replay-store.ts); default: a new empty one sized by
   * `limits.replayTagsPerEpoch`.
   */
  readonly replay?: ReplayCache;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly log: Logger;
  readonly limits?: RouterLimits;
}

export interface RouterLimits {
  /** Packets being forwarded at once; more are answered `busy` (default 256). */
  readonly maxInflight?: number;
  /** How long a failed relay is avoided (default 10 min). */
  readonly penaltyMs?: number;
  /** New paths tried after a relay failed, per send (default 2). */
  readonly reselections?: number;
  /** How long a relay that could not reach a destination is avoided on paths to it (default 2 min). */
  readonly lastHopPenaltyMs?: number;
  /** Onion layer tags remembered per key epoch (onion-replay.ts; default REPLAY_DEFAULTS.maxPerEpoch), when the router makes its cache. */
  readonly replayTagsPerEpoch?: number;
}

/**
 * A replay-cache refusal is logged at warn once per this interval and reason, the others at debug: a
 * peer replaying, or flooding past a full cache, would otherwise write a line per packet (200/s, for
 * the rest of the epoch).
 */
const REFUSAL_WARN_MS = 60_000;

/** Destinations whose failed last relays are remembered (the oldest are forgotten first). */
const LAST_HOP_TARGETS = 256;

export interface Router {
  send(target: RouteTarget, envelope: Uint8Array, opts: SendOptions): Promise<SendResult>;
  /** Deposits the envelope in mailbox `address` at each holder; resolves to the holders that stored it. */
  deposit(holders: readonly RouteTarget[], address: Uint8Array, expiresAt: number, envelope: Uint8Array, opts: SendOptions): Promise<string[]>;
  /** The `/compeer/onion/1` handler: never throws. */
  handlePacket(packet: Uint8Array, from: string): Promise<HopAnswer>;
  /**
   * `peer` is reachable again (it connected to us). When it was penalised as a failed relay, every
   * penalty is lifted (see `forgive` below); returns whether it was.
   */
  forgive(peer: string): boolean;
  /** The chunk size an envelope is cut into (for callers that size things). */
  readonly chunkCapacity: number;
}

/** Chunk header (chunks.ts) 18 bytes; exit type 1; deposit frame address 32 + expiry 8 + length 2 (+ slack). */
export const CHUNK_CAPACITY = Math.min(ONION_PAYLOAD_BYTES - 1 - 48, MAILBOX_BLOB_MAX_BYTES);

export function createRouter(d: RouterDeps): Router {
  const maxInflight = d.limits?.maxInflight ?? 256;
  const penaltyMs = d.limits?.penaltyMs ?? 10 * 60_000;
  const reselections = d.limits?.reselections ?? 2;
  const replay = d.replay ?? createReplayCache({ rng: d.rng, maxPerEpoch: d.limits?.replayTagsPerEpoch ?? REPLAY_DEFAULTS.maxPerEpoch });
  const reassembler = createReassembler({ clock: d.clock });
  const lastHopPenaltyMs = d.limits?.lastHopPenaltyMs ?? 2 * 60_000;
  const penalties = new Map<string, number>();
  /** destination → relays that could not reach it as its last hop → until when they are avoided. */
  const lastHops = new Map<string, Map<string, number>>();
  let inflight = 0;
  const log = d.log;
  /** reason → when it was last logged at warn, and how many refusals went to debug since. */
  const refusalWarned = new Map<string, { at: number; quiet: number }>();
  const logRefusal = (peer: string, error: string): void => {
    const now = d.clock();
    const last = refusalWarned.get(error);
    if (last !== undefined && now - last.at < REFUSAL_WARN_MS) {
      last.quiet++;
      log.debug('onion packet refused', { peer, error });
      return;
    }
    log.warn('onion packet refused', { peer, error, ...(last !== undefined && last.quiet > 0 && { refusedSinceLastWarning: last.quiet }) });
    refusalWarned.set(error, { at: now, quiet: 0 });
  };

  const penalized = (): Set<string> => {
    const now = d.clock();
    for (const [p, until] of penalties) if (until <= now) penalties.delete(p);
    return new Set(penalties.keys());
  };

  /** Relays avoided on paths to `target`: they could not reach it lately. */
  const avoidedFor = (target: string): Set<string> => {
    const m = lastHops.get(target);
    if (m === undefined) return new Set();
    const now = d.clock();
    for (const [p, until] of m) if (until <= now) m.delete(p);
    if (m.size === 0) lastHops.delete(target);
    return new Set(m.keys());
  };
  const avoidLastHop = (target: string, relay: string): void => {
    const m = lastHops.get(target) ?? new Map<string, number>();
    lastHops.delete(target);
    lastHops.set(target, m.set(relay, d.clock() + lastHopPenaltyMs));
    for (const k of lastHops.keys()) {
      if (lastHops.size <= LAST_HOP_TARGETS) break;
      lastHops.delete(k);
    }
  };

  const choosePath = (target: RouteTarget, opts: SendOptions): RelayCandidate[] => {
    if (opts.hops === 0) return [];
    const exclude = new Set([d.selfPeerId, target.peerId, ...(opts.exclude ?? [])]);
    const bad = penalized();
    // A shorter path is allowed (not strict): then failed relays are left out rather than used again,
    // and so are the relays that could not reach this target lately — kept, the only relay a node knew
    // carried every path to a destination it had no address for, and each attempt failed there for 2
    // min (full-partition, 26 Nov: 258 s after the heal, the sender connected to the recipient all
    // along). Strict: they are only used when the others cannot fill the path (it keeps its length).
    if (!opts.strict) for (const p of bad) exclude.add(p);
    for (const p of avoidedFor(target.peerId)) (opts.strict ? bad : exclude).add(p);
    const path = selectPath(d.relays(), { hops: opts.hops, exclude, rng: d.rng, penalized: bad });
    if (path.length < opts.hops && opts.strict) {
      throw new ProtocolError(ErrorCodes.NO_ROUTE, `no path: ${path.length} of ${opts.hops} relays known`);
    }
    return path;
  };

  const layersFor = (path: readonly RelayCandidate[], target: RouteTarget): OnionLayer[] => {
    const seq = [...path.map((r) => ({ peerId: r.peerId, routingKey: r.routingKey as X25519PublicKey })), target];
    return seq.map((hop, i) => {
      const next = seq[i + 1];
      return { routingKey: hop.routingKey, instruction: next ? { kind: 'forward', next: next.peerId } : { kind: 'exit' } };
    });
  };

  const forward = async (peer: string, addresses: readonly string[], packet: Uint8Array): Promise<HopAnswer> => {
    try {
      return await d.transport.forward(peer, addresses, packet);
    } catch (e) {
      // The peer and how many addresses we had for it: a relay's view of its next hop (docs/delivery.md "Heal").
      const cause = e instanceof Error && e.cause instanceof Error ? `${e.cause.name}: ${e.cause.message}`.slice(0, 200) : undefined;
      log.debug('hop unreachable', { peer, addresses: addresses.length, error: e instanceof Error ? e : String(e), ...(cause !== undefined && { cause }) });
      return { status: 'unreachable', depth: 0 };
    }
  };

  /** Sends every payload along one path; the first failure stops it. */
  const along = async (path: readonly RelayCandidate[], target: RouteTarget, payloads: readonly Uint8Array[]): Promise<HopAnswer> => {
    const layers = layersFor(path, target);
    const first = path[0] ?? target;
    for (const p of payloads) {
      const packet = buildOnion(layers, p, d.rng);
      const answer = await forward(first.peerId, first.addresses, packet);
      if (answer.status !== 'ok') return answer;
    }
    return { status: 'ok', depth: 0 };
  };

  /** Tries paths until one carries every payload, a target failure, or the re-selections run out. */
  const deliver = async (target: RouteTarget, payloads: readonly Uint8Array[], opts: SendOptions): Promise<SendResult> => {
    let path: RelayCandidate[] = [];
    let lastHopRetried = false;
    for (let round = 0; round <= reselections; round++) {
      path = choosePath(target, opts);
      const seq = [...path.map((r) => r.peerId), target.peerId];
      const answer = await along(path, target, payloads);
      if (answer.status === 'ok') {
        for (const p of seq) d.onOutcome?.(p, true);
        return { ok: true, path: seq };
      }
      const failed = Math.min(answer.depth, seq.length - 1);
      for (const p of seq.slice(0, failed)) d.onOutcome?.(p, true);
      const hop = seq[failed] as string;
      d.onOutcome?.(hop, false);
      if (failed === seq.length - 1) {
        const last = path.at(-1);
        if (answer.status === 'unreachable' && last !== undefined) {
          // The last relay could not reach the destination (see the header): avoid it there, and try
          // one more path (once per send: a destination that is down costs one more path, not more).
          avoidLastHop(target.peerId, last.peerId);
          if (!lastHopRetried && round < reselections) {
            lastHopRetried = true;
            log.info('path failed at its last hop, re-selecting', { hop: failed });
            continue;
          }
        }
        return { ok: false, reason: answer.status === 'refused' ? 'target-refused' : 'target-unreachable', path: seq };
      }
      penalties.set(hop, d.clock() + penaltyMs);
      log.info('path failed, re-selecting', { hop: failed, status: answer.status });
    }
    return { ok: false, reason: 'path-failed', path: [...path.map((r) => r.peerId), target.peerId] };
  };

  const send = async (target: RouteTarget, envelope: Uint8Array, opts: SendOptions): Promise<SendResult> => {
    const payloads = chunkPayload(envelope, CHUNK_CAPACITY, d.rng).map((chunk) => encodeExit({ kind: 'deliver', chunk }));
    return deliver(target, payloads, opts);
  };

  const deposit = async (holders: readonly RouteTarget[], address: Uint8Array, expiresAt: number, envelope: Uint8Array, opts: SendOptions): Promise<string[]> => {
    const chunks = chunkPayload(envelope, CHUNK_CAPACITY, d.rng);
    const results = await Promise.all(
      holders.map(async (h) => {
        const payloads = chunks.map((blob) => encodeExit({ kind: 'deposit', deposit: encodeDeposit({ address, expiresAt, blob }) }));
        try {
          const r = await deliver(h, payloads, opts);
          return r.ok ? h.peerId : undefined;
        } catch (e) {
          log.debug('deposit failed', { error: e instanceof Error ? e : String(e) });
          return undefined;
        }
      }),
    );
    return results.filter((p): p is string => p !== undefined);
  };

  const exit = async (payload: Uint8Array): Promise<HopAnswer> => {
    const frame = decodeExit(payload);
    if (frame.kind === 'deliver') {
      const envelope = reassembler.add(frame.chunk);
      if (envelope) await d.onEnvelope(envelope);
      return { status: 'ok', depth: 0 };
    }
    if (!d.holder) return { status: 'refused', depth: 0 };
    const dep = decodeDeposit(frame.deposit);
    const r = d.holder.deposit(dep.address, dep.blob, dep.expiresAt);
    if (r.outcome === 'stored' || r.outcome === 'duplicate') return { status: 'ok', depth: 0 };
    log.info('deposit refused', { reason: r.reason ?? r.outcome });
    return { status: 'refused', depth: 0 };
  };

  const handlePacket = async (packet: Uint8Array, from: string): Promise<HopAnswer> => {
    if (inflight >= maxInflight) return { status: 'busy', depth: 0 };
    inflight++;
    try {
      // Keys and epoch read in the same tick (a rotation cannot fall between them): keys[i] is of
      // epoch − i, and the tag belongs to the set of the key that peeled it. Checked against the
      // current set instead, a packet recorded under the previous key just before a rotation went
      // through once more just after it.
      const epoch = d.epoch();
      const keys = d.keys();
      const peeled = peelOnion(keys, packet);
      const keyIndex = keys.findIndex((k) => k.publicKey === peeled.key);
      if (keyIndex < 0) throw new CompeerError(ErrorCodes.INTERNAL, 'onion: peeled by a key not in keys()');
      const keyEpoch = epoch - keyIndex;
      // A forward we refuse anyway goes nowhere: it takes no room in the cache.
      if (peeled.kind === 'forward' && (d.relaying === false || peeled.next === d.selfPeerId || peeled.next === from)) return { status: 'refused', depth: 0 };
      const verdict = replay.check(peeled.tag, keyEpoch, from);
      if (verdict === 'replay') {
        logRefusal(from, 'replayed layer');
        return { status: 'refused', depth: 0 };
      }
      // An exit is taken even when the cache has no room for its tag (docs/onion.md "Replay cache"): a
      // full cache must not cut the node off from its own mail and deposits, and an exit replayed
      // later goes nowhere further — its chunk completes a set already delivered (dropped) or an
      // envelope the session layer drops as a duplicate (acking it again while it remembers it,
      // src/node/decrypted-memory.ts), and a deposit again is the holder's `duplicate`.
      if (peeled.kind === 'exit') return await exit(peeled.payload);
      if (verdict === 'full') {
        // Forwarding needs the tag remembered (replay tracing, onion-replay.ts): refused, not forgotten.
        logRefusal(from, "replay cache full (the epoch's or this hop's share)");
        return { status: 'refused', depth: 0 };
      }
      log.debug('onion packet relayed');
      const answer = await forward(peeled.next, d.addressesOf(peeled.next), peeled.packet);
      d.onOutcome?.(peeled.next, answer.status === 'ok' || answer.depth > 0);
      return answer.status === 'ok' ? answer : { status: answer.status, depth: answer.depth + 1 };
    } catch (e) {
      log.warn('onion packet refused', { peer: from, error: isCompeerError(e) ? e : new CompeerError(ErrorCodes.INTERNAL, String(e)) });
      return { status: 'refused', depth: 0 };
    } finally {
      inflight--;
    }
  };

  /**
   * A penalised relay connected to us again. Relays penalised together mostly failed together — a cut
   * (docs/delivery.md "Heal"): during full-partition's cut, node 1 penalised the four relays across it
   * for 10 min, and after the heal its paths were built from the few on its own side, the one last
   * relay its recipient kept refusing carried every path (the message landed 26.6 s after the heal).
   * One of them back says the cut is over: every penalty is lifted (a relay still down fails once more
   * and is penalised again; the per-destination last-hop avoidance stays: it is the pair's trouble).
   */
  const forgive = (peer: string): boolean => {
    if (!penalized().has(peer)) return false;
    penalties.clear();
    return true;
  };

  return { send, deposit, handlePacket, forgive, chunkCapacity: CHUNK_CAPACITY };
}
