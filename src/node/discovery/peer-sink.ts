/**
 * What discovery needs from the peer table: a narrow slice (js-libp2p style "components"), so discovery
 * can run against the store's peer repository, an in-memory table in tests, or a simulator's.
 *
 * Discovery only reports; the table decides. Caps per IP prefix and per announcing source, scoring and
 * pruning policy all live behind this interface (src/store/ peers repository + src/routing/peer-policy.ts).
 * Methods may be synchronous (node:sqlite repositories) or asynchronous.
 */

/** Where we heard of a peer: a net discovery mechanism, or gossip relayed by `gossip:<origin peer ID>`. */
export type PeerSource = 'mdns' | 'bootstrap' | 'dht' | 'identify' | `gossip:${string}`;

/** An observed outcome that moves a peer's reachability score. */
export type PeerOutcome = 'dial-ok' | 'dial-failed';

export interface PeerSighting {
  readonly peerId: string;
  /** Multiaddr strings, each ending in /p2p/<peerId> or without a /p2p/ part. */
  readonly addresses: readonly string[];
  readonly source: PeerSource;
  /** When we learned it (our clock). */
  readonly seenAt: number;
  /** From a signed announcement only: */
  readonly announcement?: {
    /** The announcer's own timestamp (ms): newer replaces older. */
    readonly timestamp: number;
    /** Bit flags (protocol/wire/announcement.ts CAPABILITY_*). */
    readonly capabilities: number;
    /** X25519 onion routing key, 32 bytes. */
    readonly onionKey: Uint8Array | undefined;
  };
}

export interface DiscoveryPeerSink {
  /** Records a sighting; resolves to false when the table refused it (a cap, a policy). */
  upsert(sighting: PeerSighting): boolean | Promise<boolean>;
  recordOutcome(peerId: string, outcome: PeerOutcome, at: number): void | Promise<void>;
  /** Drops unreachable and expired peers; returns how many went. */
  prune(now: number): number | Promise<number>;
}
