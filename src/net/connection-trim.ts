/**
 * The libp2p side of the connection trim: keeps a node at `connections.max` inside libp2p's own
 * max + inboundReserve, so a slot stays free for the next peer that dials us. Which connections go and
 * the cool-down of those cut are pure rules in trim.ts; this module reads libp2p's connections and
 * peer-store tags (kept from `peer:update`: TAG_MIRROR_MAX), tracks which peers are in use and which
 * carry requests in flight, tags contacts' nodes, and closes the victims.
 */
import { type Connection, KEEP_ALIVE, type Libp2p, type PeerId, type PeerUpdate, type Tag } from '@libp2p/interface';
import type { Clock } from '../lib/deps.ts';
import type { Logger } from '../lib/log.ts';
import { parsePeerId } from './request.ts';
import { createTrimCooldown, inUse, TRIM_ACTIVE_MS, TRIM_GRACE_MS, trimVictims } from './trim.ts';

/**
 * libp2p peer-store tag on the peers `keepPeers` names (contacts' nodes): above kad-dht's close peers
 * (kad-close 50 + KEEP_ALIVE 1), so the trim cuts them last and never cools them down.
 */
const KEEP_TAG = 'compeer-keep';
const KEEP_TAG_VALUE = 100;
/**
 * How long the trim waits for a peer's tags. The peer store locks each peer; right after a heal the
 * reads waited up to 13.7 s behind the locks (full-partition, loop delay under 1.1 s), the node above
 * libp2p's limit meanwhile. A peer not read in time is cut late (valued as a contact's node).
 */
export const TRIM_TAGS_READ_MS = 500;
/**
 * A peer the trim closed within this long is not "lost" to the network: the heal's sample (every 1–5 s)
 * must not take the trim's own bursts (3–7 closed at once) for a cut (src/node/heal.ts).
 */
export const TRIMMED_RECENTLY_MS = 10_000;

/**
 * Peers whose tags the trim keeps from libp2p's `peer:update` events (every peer-store write carries the
 * peer's whole record): a peer never seen has no tags, and the store is read only once the mirror has
 * forgotten a peer.
 * Why: read from the store, each trim took every connected peer's lock — ~20,000 reads a
 * full-partition run, streams waiting behind them for seconds after the heal (docs/delivery.md, Heal).
 * Bounded (oldest update forgotten first; a forgotten peer is read again).
 */
export const TAG_MIRROR_MAX = 4_096;

/** A trimmed connection's graceful close, then it is aborted. */
const TRIM_CLOSE_MS = 1_000;

/**
 * Inbound slots kept free above connections.max: libp2p refuses every inbound connection once it holds
 * its own maxConnections, and prunes only above it (a node full of its own dials would refuse its
 * contacts for good). Its limit is max + this; the trim keeps us at max.
 */
export function inboundReserve(max: number): number {
  return Math.max(2, Math.ceil(max / 8));
}

export interface ConnectionTrim {
  /** For the connection gater: a peer the trim just cut is refused inbound while we are full. */
  cooling(peer: PeerId): boolean;
  /** A Compeer request with `peer` (sent or served): its connection is in use. */
  touch(peer: string): void;
  /** A Compeer request we send to `peer`: its connection is in use, and the cool-down lets it in (`cooling`). */
  asked(peer: string): void;
  /** Runs `work` (a Compeer request with `peer`, sent or served) as work in flight on its connection (trim.ts). */
  inFlight<T>(peer: string, work: () => Promise<T>): Promise<T>;
  /** Whether the trim closed our connection to `peer` in the last TRIMMED_RECENTLY_MS (NetNode.trimmedRecently). */
  trimmedRecently(peer: string): boolean;
  /** The peers cut last and never cooled down (contacts' nodes); replaces the previous set. */
  keepPeers(peers: readonly string[]): void;
  /** Trims on every new connection of this node. */
  attach(libp2p: Libp2p): void;
  /** While started, a trim that could not cut enough looks again after the grace. */
  start(): void;
  stop(): void;
}

const errText = (err: unknown): Error | string => (err instanceof Error ? err : String(err));

/**
 * A Compeer stream opened on `c` within TRIM_GRACE_MS: a request starting, maybe still inside libp2p —
 * negotiated, its protocol being written to the peer store before our handler gets it (docs/delivery.md
 * "Heal", up to seconds under load) — so neither `inFlight` nor the last request counts it yet. The
 * connection is in use as a new one is. Only new streams: request.ts pools its streams between requests,
 * and counting every open one took nearly every connection for busy (heal5's 55 s run). Why (heal6,
 * full-partition under load): a recipient's trim cut the last relay of a sender's path while the relay's
 * forward to it was on its way in (its connection opened more than 5 s before, the relay's last request
 * older): the path failed at its last hop, 8 s after the sender had reached its contact.
 */
function startingWork(c: Connection, now: number): boolean {
  return c.streams.some((s) => s.protocol?.startsWith('/compeer/') === true && now - (s.timeline?.open ?? 0) < TRIM_GRACE_MS);
}

/**
 * Work in flight is what `inFlight` runs (NetNode.request and the handlers), not a connection's open
 * streams: request.ts keeps its streams open between requests (a pool), so nearly every connection has
 * one — counted as work (heal5, 26 Nov), 26 of a node's 27 connections "carried work" and its forced
 * cut took the one that did not yet: a new peer come to deliver (a 55 s heal-to-flush).
 */
export function createConnectionTrim(maxConnections: number, clock: Clock, log: Logger, o: { tagMirrorMax?: number } = {}): ConnectionTrim {
  const tagMirrorMax = o.tagMirrorMax ?? TAG_MIRROR_MAX;
  const cooldown = createTrimCooldown(clock);
  let libp2p: Libp2p | undefined;
  let kept = new Set<string>();
  let running = false;
  let recheck: ReturnType<typeof setTimeout> | undefined;
  const lastActive = new Map<string, number>();
  const lastAsked = new Map<string, number>();
  // Latest first out; bounded, and entries older than TRIM_ACTIVE_MS dropped.
  const note = (m: Map<string, number>, peer: string): void => {
    m.delete(peer);
    m.set(peer, clock());
    for (const [k, at] of m) {
      if (m.size <= 4_096 && clock() - at < TRIM_ACTIVE_MS) break;
      m.delete(k);
    }
  };
  const working = new Map<string, number>();
  const mirror = new Map<string, ReadonlyMap<string, Tag>>();
  // Until the mirror forgets a peer, a peer not in it has no tags: the peer store is in memory and new
  // with the node (record-store.ts), and attach() comes before its start, so every tag write was seen.
  let forgotten = false;
  const remember = (peer: string, tags: ReadonlyMap<string, Tag>): void => {
    mirror.delete(peer);
    mirror.set(peer, tags);
    if (mirror.size > tagMirrorMax) {
      mirror.delete(mirror.keys().next().value as string);
      forgotten = true;
    }
  };
  const onPeerUpdate = (e: CustomEvent<PeerUpdate>): void => remember(e.detail.peer.id.toString(), e.detail.peer.tags);
  const summary = (tags: ReadonlyMap<string, Tag>): { value: number; keepAlive: boolean } => ({
    value: [...tags.values()].reduce((sum, t) => sum + t.value, 0),
    keepAlive: [...tags.keys()].some((k) => k.startsWith(KEEP_ALIVE)),
  });

  let storeReads = 0; // peer-store reads by the trim (logged with each trim)
  const tagsOf = async (node: Libp2p, peer: PeerId): Promise<{ value: number; keepAlive: boolean; unknown?: true }> => {
    const known = mirror.get(peer.toString());
    if (known !== undefined) return summary(known);
    // Not read: a peer that just connected is being written by identify, and the read would wait for its
    // lock (5–8.6 s at setup in heal5's first run with the mirror).
    if (!forgotten) return { value: 0, keepAlive: false };
    storeReads++;
    try {
      const tags = (await node.peerStore.get(peer, { signal: AbortSignal.timeout(TRIM_TAGS_READ_MS) })).tags;
      if (!mirror.has(peer.toString())) remember(peer.toString(), tags); // an update meanwhile is newer
      return summary(tags);
    } catch (err) {
      if (err instanceof Error && err.name === 'NotFoundError') return { value: 0, keepAlive: false }; // not in the peer store: no tags
      // Not read in time: valued as a contact's node, so cut after every peer known to be worth less.
      return { value: KEEP_TAG_VALUE, keepAlive: false, unknown: true };
    }
  };

  // Reads the tags of every connected peer not read yet, all at once.
  const readTags = async (node: Libp2p, conns: readonly Connection[], tags: Map<string, { value: number; keepAlive: boolean; unknown?: true }>): Promise<void> => {
    const peers = new Map(conns.map((c) => [c.remotePeer.toString(), c.remotePeer] as const));
    await Promise.all(
      [...peers].filter(([key]) => !tags.has(key)).map(async ([key, id]) => {
        tags.set(key, await tagsOf(node, id));
      }),
    );
  };

  const trim = async (node: Libp2p): Promise<void> => {
    if (node.getConnections().length <= maxConnections) return;
    const started = clock();
    const tags = new Map<string, { value: number; keepAlive: boolean; unknown?: true }>();
    // The tags are read in parallel, and the count is taken after them. Read one after another with
    // the count taken before, right after a heal (40 nodes reconnecting in one process) the reads took
    // 2.4–4.7 s and the count was stale: a trim cut 1 at 25 while the node already held 33–34 (libp2p's
    // limit 27), and the next trim started only after it (full-partition, 26 Nov).
    await readTags(node, node.getConnections(), tags);
    await readTags(node, node.getConnections(), tags); // peers connected meanwhile
    const all = node.getConnections();
    if (all.length <= maxConnections) return;
    const now = clock();
    const candidates = all.map((c) => {
      const peer = c.remotePeer.toString();
      const t = tags.get(peer) ?? { value: 0, keepAlive: false };
      const starting = startingWork(c, now);
      const used = starting || inUse(now, c.timeline.open, lastActive.get(peer));
      const fresh = starting || now - c.timeline.open < TRIM_GRACE_MS;
      return { c, value: t.value, busy: c.streams.length > 0, openedAt: c.timeline.open, inUse: used, fresh, inFlight: working.get(peer) ?? 0, kept: t.keepAlive || t.unknown === true || kept.has(peer), keepAlive: t.keepAlive };
    });
    // One of libp2p's inbound slots stays free (its limit is max + reserve), whatever it cuts.
    const chosen = trimVictims(candidates, all.length - maxConnections, all.length - (maxConnections + inboundReserve(maxConnections) - 1));
    const victims = chosen.map((v) => v.c);
    log.debug('connection trim', {
      open: all.length,
      inUse: candidates.filter((v) => v.inUse).length,
      inFlight: candidates.filter((v) => v.inFlight > 0).length,
      cut: victims.length,
      cutInFlight: chosen.filter((v) => v.inFlight > 0).length,
      tookMs: clock() - started,
      storeReads,
      peers: victims.map((c) => c.remotePeer.toString()),
    });
    cooldown.cut(victims.map((c) => c.remotePeer.toString()));
    // Cut means no longer kept alive: without its KEEP_ALIVE tag our reconnect queue does not redial it.
    await Promise.all(
      chosen
        .filter((v) => v.keepAlive)
        .map(async (v) => {
          const signal = AbortSignal.timeout(TRIM_TAGS_READ_MS);
          const tags = mirror.get(v.c.remotePeer.toString()) ?? (await node.peerStore.get(v.c.remotePeer, { signal })).tags;
          const keys = [...tags.keys()].filter((k) => k.startsWith(KEEP_ALIVE));
          await node.peerStore.merge(v.c.remotePeer, { tags: Object.fromEntries(keys.map((k) => [k, undefined])) }, { signal });
        })
        .map((p) => p.catch((err: unknown) => log.debug('keep-alive tag not dropped', { err: errText(err) }))),
    );
    // Over max for connections in use: look again once a grace may be over (no connection may open meanwhile).
    if (all.length - victims.length > maxConnections && recheck === undefined && running) {
      recheck = setTimeout(() => {
        recheck = undefined;
        maybeTrim();
      }, TRIM_GRACE_MS);
      recheck.unref();
    }
    // A graceful close waits for the streams to end: bounded, then aborted (as libp2p's own pruner
    // does). An unbounded one kept `trimming` set for good on a busy node — no trim ever again: 47
    // connections at a cap of 24 in a 100-node run.
    await Promise.all(
      victims.map((c) => c.close({ signal: AbortSignal.timeout(TRIM_CLOSE_MS) }).catch((err: unknown) => c.abort(err instanceof Error ? err : new Error(String(err))))),
    );
  };

  let trimming = false;
  let openedMeanwhile = false;
  const maybeTrim = (): void => {
    const node = libp2p;
    if (node === undefined) return;
    if (trimming) {
      openedMeanwhile = true;
      return;
    }
    if (node.getConnections().length <= maxConnections) return;
    trimming = true;
    openedMeanwhile = false;
    trim(node)
      .catch((err: unknown) => log.warn('connection trim failed', { err: errText(err) }))
      .finally(() => {
        trimming = false;
        if (openedMeanwhile) maybeTrim(); // connections opened while it ran
      });
  };

  return {
    cooling(peer) {
      const open = libp2p?.getConnections().length ?? 0;
      const p = peer.toString();
      // Never a contact's node (keepPeers), nor a peer we sent a Compeer request to lately — one we are
      // dialling ourselves (a first contact's bundle fetch, a waiting contact's redial): the cool-down is for
      // idle redial loops (trim.ts). Requests we only served do not count: a stranger could keep itself
      // exempt with them and come back after every cut (a Noise handshake each time).
      const at = lastAsked.get(p);
      const purpose = kept.has(p) || (at !== undefined && clock() - at < TRIM_ACTIVE_MS);
      const refused = !purpose && cooldown.refuses(p, open >= maxConnections);
      if (refused) log.debug('cut peer refused', { peer: peer.toString(), open });
      return refused;
    },
    trimmedRecently: (peer) => cooldown.cutWithin(peer, TRIMMED_RECENTLY_MS),
    touch: (peer) => note(lastActive, peer),
    asked(peer) {
      note(lastActive, peer);
      note(lastAsked, peer);
    },
    async inFlight(peer, work) {
      working.set(peer, (working.get(peer) ?? 0) + 1);
      try {
        return await work();
      } finally {
        const n = (working.get(peer) ?? 1) - 1;
        if (n > 0) working.set(peer, n);
        else working.delete(peer);
      }
    },
    keepPeers(peers) {
      const next = new Set(peers);
      if (next.size === kept.size && [...next].every((p) => kept.has(p))) return;
      const changed = [...[...next].filter((p) => !kept.has(p)).map((p) => [p, true] as const), ...[...kept].filter((p) => !next.has(p)).map((p) => [p, false] as const)];
      kept = next;
      const node = libp2p;
      if (node === undefined) return;
      for (const [p, keep] of changed) {
        let id: PeerId;
        try {
          id = parsePeerId(p);
        } catch {
          continue; // not a peer ID: nothing to tag
        }
        node.peerStore.merge(id, { tags: { [KEEP_TAG]: keep ? { value: KEEP_TAG_VALUE } : undefined } }).catch((err: unknown) => {
          log.debug('peer tag failed', { peer: p, err: errText(err) });
        });
      }
    },
    attach(node) {
      libp2p = node;
      node.addEventListener('peer:update', onPeerUpdate);
      node.addEventListener('connection:open', maybeTrim);
    },
    start() {
      running = true;
    },
    stop() {
      running = false;
      if (recheck !== undefined) clearTimeout(recheck);
      recheck = undefined;
    },
  };
}
