/**
 * The narrow surface of src/net/ that the rest of Compeer sees. No libp2p type appears here: peers are
 * peer-ID strings, addresses are multiaddr strings, payloads are bytes. A change in js-libp2p's API
 * touches src/net/ only.
 */
import type { Logger } from '../lib/log.ts';
import type { Clock } from '../lib/deps.ts';
import type { RateLimit } from './rate-limit.ts';

export type { RateLimit } from './rate-limit.ts';

/** A libp2p peer ID in its canonical string form (base58btc, "12D3KooW…" for Ed25519 keys). */
export type PeerIdString = string;
/** A multiaddr in string form, e.g. "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…". */
export type MultiaddrString = string;

/** Passed to request handlers: aborted when the stream's deadline passes or the node stops. */
export interface RequestContext {
  readonly signal: AbortSignal;
}

/**
 * Serves one request: the request payload and the remote peer ID in, the response payload out.
 * Throwing resets the stream (the requester sees STREAM_FAILED); the error is logged, never fatal.
 */
export type RequestHandler = (req: Uint8Array, from: PeerIdString, ctx: RequestContext) => Promise<Uint8Array>;

export interface HandleOptions {
  /** Largest request payload accepted (default: the node's maxFrameBytes). */
  readonly maxRequestBytes?: number;
  /** Largest response payload the handler may return (default: the node's maxFrameBytes). */
  readonly maxResponseBytes?: number;
  /** Deadline for handling one request and sending its response (default 10 s). */
  readonly timeoutMs?: number;
  /**
   * How long a stream may wait for its next complete request (default 30 s). An idle stream is then
   * closed gracefully; one holding part of a frame belongs to a slow peer and is reset.
   */
  readonly idleTimeoutMs?: number;
  /** Per-peer token bucket for this protocol; `false` disables it (default 100/s, burst 200). */
  readonly rateLimit?: RateLimit | false;
  /** Concurrent inbound streams per connection for this protocol (libp2p's default is 32). */
  readonly maxInboundStreams?: number;
}

export interface RequestOptions {
  /** Deadline for dial + negotiation + request + response (default 10 s). */
  readonly timeoutMs?: number;
  /** Largest response payload accepted (default: the node's maxFrameBytes). */
  readonly maxResponseBytes?: number;
  readonly signal?: AbortSignal;
}

/** Sending bytes to a peer on a protocol and serving such requests: what routing/ and node/ need. */
export interface Transport {
  /**
   * One request, one response on a fresh stream. Dials the peer if needed: through an existing connection,
   * else `addrs` (the peer ID is appended where missing, so a wrong peer fails the Noise handshake), else
   * the peer store and DHT. Errors: NetworkError (UNREACHABLE, TIMEOUT, STREAM_FAILED,
   * UNSUPPORTED_VERSION when the peer does not speak `protocol`), LimitError (LIMIT_EXCEEDED) for an
   * oversized request or response, CompeerError (INVALID_ARGUMENT) for a malformed peer ID or address.
   */
  request(
    peer: PeerIdString,
    addrs: readonly MultiaddrString[],
    protocol: string,
    bytes: Uint8Array,
    opts?: RequestOptions,
  ): Promise<Uint8Array>;
  /** Registers the handler for `protocol` (replacing an earlier one). */
  handle(protocol: string, handler: RequestHandler, opts?: HandleOptions): Promise<void>;
  unhandle(protocol: string): Promise<void>;
}

export type DiscoverySource = 'mdns' | 'bootstrap' | 'dht' | 'identify';

export interface DiscoveredPeer {
  readonly peerId: PeerIdString;
  readonly addresses: MultiaddrString[];
  readonly source: DiscoverySource;
}

export interface ConnectionInfo {
  readonly peerId: PeerIdString;
  readonly address: MultiaddrString;
  readonly direction: 'inbound' | 'outbound';
  /** A relayed (circuit-relay-v2) connection with data or time limits. */
  readonly limited: boolean;
}

/**
 * DHT record checks for one key namespace: keys look like `/<namespace>/<rest>`. `validate` throws to
 * reject a value (it runs on every record we store for others, receive in a lookup, or put ourselves);
 * `select` returns the index of the best of several valid values (e.g. the newest).
 */
export interface DhtNamespace {
  validate(key: string, value: Uint8Array): void | Promise<void>;
  select(key: string, values: readonly Uint8Array[]): number;
}

export type GossipVerdict = 'accept' | 'ignore' | 'reject';

export interface SubscribeOptions {
  /**
   * Runs before a message is delivered or forwarded. 'reject' penalises the forwarding peer in
   * gossipsub's score; 'ignore' drops quietly (use it for stale or duplicate-but-honest messages).
   */
  readonly validate?: (data: Uint8Array, from: PeerIdString) => GossipVerdict | Promise<GossipVerdict>;
}

/** `from` is the message's origin: gossipsub signs every message with the origin's node key. */
export type GossipHandler = (data: Uint8Array, from: PeerIdString) => void;

export interface NetNode extends Transport {
  readonly peerId: PeerIdString;
  /** Our listen addresses as others should dial them, each ending in /p2p/<peerId>. */
  addresses(): MultiaddrString[];
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Opens (or reuses) a connection; resolves to the remote peer ID. */
  dial(addr: MultiaddrString, opts?: { timeoutMs?: number }): Promise<PeerIdString>;
  /** Closes every connection to `peer`. */
  hangUp(peer: PeerIdString): Promise<void>;
  connections(): ConnectionInfo[];
  /**
   * The peers whose connections the trim keeps longest (a contact's node: src/net/trim.ts), replacing
   * the previous set. Cheap when the set did not change.
   */
  keepPeers(peers: readonly PeerIdString[]): void;
  /**
   * Whether this node's own trim closed its connection to `peer` in the last 10 s: that peer was not
   * lost to the network (the heal's cut detection, src/node/heal.ts, leaves it out).
   */
  trimmedRecently(peer: PeerIdString): boolean;
  /** Called for peers found by mDNS, bootstrap, DHT walks and identify. Returns an unsubscribe function. */
  onPeerDiscovered(cb: (peer: DiscoveredPeer) => void): () => void;
  /**
   * Validates `value` with the namespace's validator, stores it locally and on the DHT-closest peers.
   * Resolves to the number of remote peers that acknowledged the record by the deadline (0 on a lonely
   * node). Throws only when the key or value fails validation.
   */
  dhtPut(key: string, value: Uint8Array, opts?: { timeoutMs?: number }): Promise<number>;
  /**
   * Every distinct valid value found for `key`, local and remote, in no particular order: the caller
   * selects. Resolves with what was found when the deadline passes; never throws for "not found".
   * On a node without peers both DHT calls wait for their deadline (kad-dht pauses queries until its
   * routing table has a peer): pass a short `timeoutMs` where that matters.
   */
  dhtGet(key: string, opts?: { timeoutMs?: number }): Promise<Uint8Array[]>;
  /** Resolves to the number of peers the message was sent to (0 when nobody subscribes yet). */
  publish(topic: string, bytes: Uint8Array): Promise<number>;
  /** Returns an unsubscribe function. */
  subscribe(topic: string, cb: GossipHandler, opts?: SubscribeOptions): () => void;
}

export interface NetNodeOptions {
  /**
   * The node's transport identity: an Ed25519 private key as raw bytes — the 32-byte seed, or libp2p's
   * 64-byte seed‖public form. Kept by the composition root so the peer ID survives restarts; never the
   * user identity key.
   */
  readonly nodeKey: Uint8Array;
  /** 'tcp' (default): TCP and WebSockets. 'memory': @libp2p/memory, for in-process tests and sim/. */
  readonly transport?: 'tcp' | 'memory';
  /** Listen multiaddrs. Default: TCP and WS on 0.0.0.0 with ephemeral ports (memory: a random name). */
  readonly listen?: readonly MultiaddrString[];
  /** Addresses to announce instead of the listen addresses (e.g. behind a port forward). */
  readonly announce?: readonly MultiaddrString[];
  /** Peers to dial at start; they also seed the DHT routing table. */
  readonly bootstrap?: readonly MultiaddrString[];
  /** LAN discovery (default true for tcp, false for memory). An object sets the interval and service tag. */
  readonly mdns?: boolean | { readonly intervalMs?: number; readonly serviceTag?: string };
  /** Keep loopback and private addresses in DHT peer records (LAN and loopback tests). Default false. */
  readonly allowPrivateAddresses?: boolean;
  /** Act as a circuit-relay-v2 relay for others (default false; the relay transport is always on). */
  readonly relayServer?: boolean;
  /**
   * Reserve a slot on a relay (any connected peer running a relay server, e.g. a bootstrap peer) and
   * announce the relayed address: for nodes that cannot be dialled directly (default false).
   */
  readonly relayListen?: boolean;
  /** DHT record namespaces (keys `/<namespace>/…`); a key in no namespace is refused. */
  readonly dht?: {
    readonly namespaces: Readonly<Record<string, DhtNamespace>>;
    /** Largest record value accepted anywhere (default 64 KiB). */
    readonly maxRecordBytes?: number;
    /** Records held for others at most; new keys are refused beyond it (default 4096). */
    readonly maxStoredRecords?: number;
  };
  readonly gossip?: {
    /** Largest gossip message accepted (default 16 KiB). */
    readonly maxMessageBytes?: number;
    /** Per-origin, per-topic token bucket; excess messages are ignored (default 10/s, burst 20). */
    readonly perOriginRateLimit?: RateLimit;
  };
  /**
   * Consulted for every dial and every connection, inbound and outbound (a relayed one included):
   * false refuses the peer. For sim/'s full mode, whose fault controller refuses dials across a
   * partition. Default: every peer allowed (libp2p's default gater).
   */
  readonly allowPeer?: (peer: PeerIdString) => boolean;
  /** 'memory' transport only: delay in ms added to every buffer sent (sim/'s full mode). Default 0. */
  readonly memoryLatencyMs?: number;
  /**
   * TCP only: what a connection writes in one event-loop turn leaves in one syscall (src/net/coalesced-tcp.ts).
   * Default false: fewer syscalls (10.8 → 3.1 per sequential delivery), but the sequential delivery
   * latency measured no better, and 1.5–2 ms worse with the stores on a shared disk under load
   * (docs/networking.md, "TCP writes").
   */
  readonly coalesceTcpWrites?: boolean;
  /** Default request and response size limit for handle()/request() (default 256 KiB). */
  readonly maxFrameBytes?: number;
  /**
   * Inbound request bytes held at once across all streams (partial and unanswered frames; default 32 MiB).
   * A chunk that would exceed it resets its stream with LIMIT_EXCEEDED.
   */
  readonly maxInboundBufferBytes?: number;
  readonly connections?: {
    /** Default 128 (libp2p: 300). */
    readonly max?: number;
    /** New inbound connections per second per remote IP (libp2p default 5). */
    readonly inboundPerHostPerSecond?: number;
    /** Inbound connections still in the Noise/yamux upgrade at once (libp2p default 10). */
    readonly maxIncomingPending?: number;
    /**
     * libp2p's connection monitor (default true): a ping on every connection every 10 s, the
     * connection closed when one takes over 5 s. sim/'s full mode turns it off: with tens of nodes in one
     * process a late ping means a starved event loop, not a dead peer (it closed hundreds of live ones).
     */
    readonly keepAlivePings?: boolean;
  };
  readonly logger?: Logger;
  readonly clock?: Clock;
}
