/**
 * Assembles Compeer's libp2p 3 node and exposes it through the narrow `NetNode` API (types.ts).
 *
 * Stack: TCP + WebSockets (or @libp2p/memory), circuit-relay-v2 transport, Noise, yamux; services
 * identify, ping, kad-dht (server mode, /compeer/kad/1.0.0, caller-supplied record namespaces),
 * gossipsub; discovery by mDNS and bootstrap; optionally a circuit-relay-v2 server.
 * Every default changed from libp2p's is listed, with the reason, in docs/networking.md.
 *
 * This is the only file that knows how the pieces fit; request.ts, dht.ts and gossip.ts each wrap one
 * service, and nothing outside src/net/ sees a libp2p type.
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { bootstrap } from '@libp2p/bootstrap';
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { KEEP_ALIVE, peerDiscoverySymbol, type ConnectionGater, type PeerDiscovery, type PeerId, type PeerInfo, type PrivateKey } from '@libp2p/interface';
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht';
import { mdns } from '@libp2p/mdns';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { memory } from '@libp2p/memory';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { webSockets } from '@libp2p/websockets';
import { createLibp2p } from 'libp2p';
import { assertBytes, assertInteger } from '../lib/assert.ts';
import { equalBytes } from '../lib/bytes.ts';
import { CompeerError, CryptoError, ErrorCodes, NetworkError } from '../lib/errors.ts';
import { silentLogger } from '../lib/log.ts';
import { createDhtRecords, DEFAULT_MAX_RECORD_BYTES, dhtGet, dhtPut } from './dht.ts';
import { createGossip, DEFAULT_GOSSIP_RATE_LIMIT, DEFAULT_MAX_GOSSIP_BYTES } from './gossip.ts';
import { validateRateLimit } from './rate-limit.ts';
import { DEFAULT_MAX_STORED_RECORDS, RecordDatastore } from './record-store.ts';
import { addressFor, createRequestLayer, DEFAULT_MAX_FRAME_BYTES, DEFAULT_TIMEOUT_MS, MAX_ACTIVE_PER_PEER, parseMultiaddr, parsePeerId } from './request.ts';
import type { ConnectionInfo, DiscoveredPeer, DiscoverySource, NetNode, NetNodeOptions } from './types.ts';
import { ownPeerStoreLocks } from './peer-store-locks.ts';
import { createConnectionTrim, inboundReserve } from './connection-trim.ts';
import { createJoining } from './joining.ts';
import { createSightings } from './sightings.ts';
import { coalescedTcp } from './coalesced-tcp.ts';

export const DHT_PROTOCOL = '/compeer/kad/1.0.0';
export const MDNS_SERVICE_TAG = '_compeer._udp.local';
export const DEFAULT_MAX_CONNECTIONS = 128;
/** kad-dht's KEEP_ALIVE tag on its closest peers (@libp2p/kad-dht's KEEP_ALIVE_TAG, not exported). */
const KAD_KEEP_ALIVE_TAG = `${KEEP_ALIVE}-kad-dht`;
const INBOUND_UPGRADE_TIMEOUT_MS = 5_000;
/**
 * Streams a peer may open on a new connection before libp2p has attached the connection's stream
 * listener (yamux default 10; over it yamux aborts the whole connection). A burst of our own requests
 * on a fresh connection — up to MAX_ACTIVE_PER_PEER per protocol, plus identify — can arrive in one
 * TCP segment and be parsed before that listener exists: always with coalesced writes
 * (`coalesceTcpWrites`: 13 concurrent requests failed, test/unit/net-coalesced-tcp.test.ts), and on
 * any network that merges segments. Each early stream holds at most its receive window.
 */
const MAX_EARLY_STREAMS = MAX_ACTIVE_PER_PEER + 8;
/** The largest configurable frame limit: frames are held in memory whole. */
const MAX_FRAME_LIMIT = 64 * 1024 * 1024;

/** The node key from raw bytes: a 32-byte Ed25519 seed, or libp2p's 64-byte seed‖public form. */
export async function nodePrivateKey(raw: Uint8Array): Promise<PrivateKey> {
  assertBytes(raw, 'nodeKey', 32, 64);
  const key = await generateKeyPairFromSeed('Ed25519', raw.subarray(0, 32));
  if (raw.length === 64 && !equalBytes(key.publicKey.raw, raw.subarray(32))) {
    throw new CryptoError(ErrorCodes.INVALID_KEY, 'nodeKey: public half does not match the seed');
  }
  return key;
}

/** The peer ID a node key yields, without starting a node (for the composition root and invites). */
export async function peerIdFromNodeKey(raw: Uint8Array): Promise<string> {
  return peerIdFromPrivateKey(await nodePrivateKey(raw)).toString();
}

/**
 * The connection gater: dials to, and connections with, peers `allow` refuses fail (partitions, tests);
 * and inbound connections from peers the trim just cut, while we are still full (`cooling`:
 * src/net/trim.ts).
 */
function peerGater(allow: ((peer: string) => boolean) | undefined, cooling: (peer: PeerId) => boolean): ConnectionGater {
  const deny = (peer: PeerId): boolean => allow !== undefined && !allow(peer.toString());
  return {
    denyDialPeer: deny,
    denyInboundEncryptedConnection: (peer) => deny(peer) || cooling(peer),
    denyOutboundEncryptedConnection: deny,
    denyInboundRelayedConnection: (relay, remote) => deny(relay) || deny(remote),
    denyOutboundRelayedConnection: (source, destination) => deny(source) || deny(destination),
  };
}

export async function createNetNode(opts: NetNodeOptions): Promise<NetNode> {
  const log = (opts.logger ?? silentLogger).child({ mod: 'net' });
  const clock = opts.clock ?? Date.now;
  const privateKey = await nodePrivateKey(opts.nodeKey);
  const maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  assertInteger(maxFrameBytes, 'maxFrameBytes', 0, MAX_FRAME_LIMIT);
  const isMemory = opts.transport === 'memory';
  const gossipCfg = {
    maxMessageBytes: opts.gossip?.maxMessageBytes ?? DEFAULT_MAX_GOSSIP_BYTES,
    perOrigin: opts.gossip?.perOriginRateLimit ?? DEFAULT_GOSSIP_RATE_LIMIT,
  };
  validateRateLimit(gossipCfg.perOrigin, 'gossip.perOriginRateLimit');
  const records = createDhtRecords(opts.dht?.namespaces ?? {}, opts.dht?.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES, log.child({ part: 'dht' }));
  for (const a of [...(opts.listen ?? []), ...(opts.announce ?? []), ...(opts.bootstrap ?? [])]) parseMultiaddr(a);

  // Discovery modules are wrapped so each 'peer' event can be tagged with where it came from.
  const discovered = new Set<(p: DiscoveredPeer) => void>();
  const sightings = createSightings(clock);
  const emitDiscovered = (peer: DiscoveredPeer): void => {
    if (!sightings.fresh(peer)) return; // a repeat: nothing new for the peer table (src/net/sightings.ts)
    for (const cb of discovered) {
      try {
        cb(peer);
      } catch (err) {
        log.error('peer discovery callback threw', { err: err instanceof Error ? err : String(err) });
      }
    }
  };
  const sources: Array<{ d: PeerDiscovery; source: DiscoverySource }> = [];
  const tagged = <C>(factory: (c: C) => PeerDiscovery, source: DiscoverySource) => (c: C): PeerDiscovery => {
    const d = factory(c);
    sources.push({ d, source });
    return d;
  };
  const mdnsOpt = opts.mdns ?? !isMemory;
  const peerDiscovery = [];
  if (mdnsOpt !== false) {
    const m = typeof mdnsOpt === 'object' ? mdnsOpt : {};
    peerDiscovery.push(tagged(mdns({ interval: m.intervalMs ?? 10_000, serviceTag: m.serviceTag ?? MDNS_SERVICE_TAG }), 'mdns'));
  }
  // @libp2p/bootstrap refuses /memory addresses; memory nodes dial their bootstrap list at start instead.
  if (opts.bootstrap !== undefined && opts.bootstrap.length > 0 && !isMemory) {
    peerDiscovery.push(tagged(bootstrap({ list: [...opts.bootstrap] }), 'bootstrap'));
  }

  // A memory listener needs a process-unique name: the peer ID is one.
  const defaultListen = isMemory ? [`/memory/${peerIdFromPrivateKey(privateKey).toString()}`] : ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws'];
  const listen = [...(opts.listen ?? defaultListen), ...(opts.relayListen === true ? ['/p2p-circuit'] : [])];
  const maxConnections = opts.connections?.max ?? DEFAULT_MAX_CONNECTIONS;
  // Keeps us at max inside libp2p's max + reserve, and refuses peers it just cut (src/net/connection-trim.ts).
  const trimmer = createConnectionTrim(maxConnections, clock, log);
  const libp2p = await createLibp2p({
    privateKey,
    start: false,
    datastore: new RecordDatastore(records, opts.dht?.maxStoredRecords ?? DEFAULT_MAX_STORED_RECORDS, log.child({ part: 'dht' })),
    // identify announces this instead of "js-libp2p/<version> node/<version> <os>".
    nodeInfo: { name: 'compeer', version: '1', userAgent: 'compeer' },
    addresses: { listen, ...(opts.announce !== undefined ? { announce: [...opts.announce] } : {}) },
    transports: isMemory ? [memory({ latency: opts.memoryLatencyMs ?? 0 }), circuitRelayTransport()] : [opts.coalesceTcpWrites === true ? coalescedTcp() : tcp(), webSockets(), circuitRelayTransport()],
    connectionGater: peerGater(opts.allowPeer, (peer) => trimmer.cooling(peer)),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ maxEarlyStreams: MAX_EARLY_STREAMS })],
    peerDiscovery,
    connectionManager: {
      maxConnections: maxConnections + inboundReserve(maxConnections),
      inboundConnectionThreshold: opts.connections?.inboundPerHostPerSecond ?? 5,
      maxIncomingPendingConnections: opts.connections?.maxIncomingPending ?? 10,
      inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT_MS,
    },
    ...(opts.connections?.keepAlivePings === false && { connectionMonitor: { enabled: false } }),
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        peerInfoMapper: opts.allowPrivateAddresses === true ? passthroughMapper : removePrivateAddressesMapper,
        validators: records.validators,
        selectors: records.selectors,
      }),
      pubsub: gossipsub({
        // Our publications go to the topic's mesh (D = 6), not to every subscribed peer: announcements
        // are re-published hop by hop (src/node/discovery/), so flooding sent each one to every
        // connection at each hop (docs/networking.md, "Defaults we changed").
        floodPublish: false,
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        maxInboundDataLength: Math.max(1024 * 1024, 4 * gossipCfg.maxMessageBytes),
      }),
      ...(opts.relayServer === true ? { relay: circuitRelayServer() } : {}),
    },
  });

  // Nodes in one process (the simulator, tests) must not share their peer-store locks (peer-store-locks.ts).
  if (!ownPeerStoreLocks(libp2p.peerStore, libp2p.peerId.toString())) log.debug('peer-store locks left as they are: unexpected @libp2p/peer-store shape');

  const transport = createRequestLayer({
    libp2p,
    log: log.child({ part: 'request' }),
    clock,
    maxFrameBytes,
    ...(opts.maxInboundBufferBytes !== undefined ? { maxBufferedBytes: opts.maxInboundBufferBytes } : {}),
  });
  const gossip = createGossip(libp2p.services.pubsub, { ...gossipCfg, clock, log: log.child({ part: 'gossip' }) });

  // DHT walks report peers through kad-dht's own discovery emitter; identify reports every identified peer.
  const dhtDiscovery = (libp2p.services.dht as Partial<Record<typeof peerDiscoverySymbol, PeerDiscovery>>)[peerDiscoverySymbol];
  if (dhtDiscovery !== undefined) sources.push({ d: dhtDiscovery, source: 'dht' });
  for (const { d, source } of sources) {
    d.addEventListener('peer', (evt: CustomEvent<PeerInfo>) => {
      const info = evt.detail;
      if (info.id.equals(libp2p.peerId)) return;
      emitDiscovered({ peerId: info.id.toString(), addresses: info.multiaddrs.map((a) => a.toString()), source });
      // LAN peers are few and are exactly who local-only mode talks to: connect to them.
      if (source === 'mdns' && libp2p.getConnections(info.id).length === 0) {
        libp2p.dial(info.id, { signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS) }).catch((err: unknown) => {
          log.debug('dial to mDNS peer failed', { peer: info.id.toString(), err: err instanceof Error ? err : String(err) });
        });
      }
    });
  }
  trimmer.attach(libp2p);
  // @libp2p/bootstrap refuses /memory addresses: memory nodes make the first bootstrap round themselves.
  const joining = createJoining({
    libp2p,
    bootstrap: (opts.bootstrap ?? []).map(parseMultiaddr),
    dialFirst: isMemory,
    onBootstrapped: (peerId, addr) => emitDiscovered({ peerId, addresses: [addr], source: 'bootstrap' }),
    log: log.child({ part: 'join' }),
  });
  // kad-dht tags its 20 closest peers KEEP_ALIVE and libp2p's reconnect queue redials such a peer the
  // moment it drops, up to 6 times: a full peer that trimmed us paid a Noise handshake for each
  // (docs/networking.md, "Defaults we changed"). We keep the DHT, not the standing connections.
  libp2p.addEventListener('peer:update', (evt) => {
    const { peer } = evt.detail;
    if (!peer.tags.has(KAD_KEEP_ALIVE_TAG)) return;
    libp2p.peerStore.merge(peer.id, { tags: { [KAD_KEEP_ALIVE_TAG]: undefined } }).catch((err: unknown) => {
      log.debug('kad-dht keep-alive tag not dropped', { peer: peer.id.toString(), err: err instanceof Error ? err : String(err) });
    });
  });
  libp2p.addEventListener('peer:identify', (evt) => {
    const r = evt.detail;
    emitDiscovered({ peerId: r.peerId.toString(), addresses: r.listenAddrs.map((a) => a.toString()), source: 'identify' });
  });

  const timeout = (ms: number | undefined): AbortSignal => AbortSignal.timeout(ms ?? DEFAULT_TIMEOUT_MS);
  let running = false;
  const requireRunning = (): void => {
    if (!running) throw new CompeerError(ErrorCodes.NOT_RUNNING, 'network node is not running');
  };

  const node: NetNode = {
    peerId: libp2p.peerId.toString(),
    addresses: () => libp2p.getMultiaddrs().map((a) => addressFor(a.toString(), libp2p.peerId).toString()),
    async start() {
      await libp2p.start();
      gossip.started();
      running = true;
      trimmer.start();
      joining.start();
      log.info('network node started', { peer: libp2p.peerId.toString(), addresses: node.addresses() });
    },
    async stop() {
      running = false;
      joining.stop();
      trimmer.stop();
      gossip.stopped();
      transport.close();
      await libp2p.stop();
      log.info('network node stopped');
    },
    async dial(addr, o = {}) {
      requireRunning();
      const ma = parseMultiaddr(addr);
      try {
        const conn = await libp2p.dial(ma, { signal: timeout(o.timeoutMs) });
        return conn.remotePeer.toString();
      } catch (cause) {
        throw new NetworkError(ErrorCodes.UNREACHABLE, 'dial failed', { cause });
      }
    },
    async hangUp(peer) {
      await libp2p.hangUp(parsePeerId(peer));
    },
    connections(): ConnectionInfo[] {
      return libp2p.getConnections().map((c) => ({
        peerId: c.remotePeer.toString(),
        address: c.remoteAddr.toString(),
        direction: c.direction,
        limited: c.limits !== undefined,
      }));
    },
    keepPeers: (peers) => trimmer.keepPeers(peers.filter((p) => p !== node.peerId)),
    trimmedRecently: (peer) => trimmer.trimmedRecently(peer),
    onPeerDiscovered(cb) {
      const wrapped = (p: DiscoveredPeer): void => cb(p);
      discovered.add(wrapped);
      return () => discovered.delete(wrapped);
    },
    async dhtPut(key, value, o = {}) {
      requireRunning();
      return dhtPut(libp2p.services.dht, records, key, value, timeout(o.timeoutMs), log.child({ part: 'dht' }));
    },
    async dhtGet(key, o = {}) {
      requireRunning();
      return dhtGet(libp2p.services.dht, records, key, timeout(o.timeoutMs), log.child({ part: 'dht' }));
    },
    async publish(topic, bytes) {
      requireRunning();
      return gossip.publish(topic, bytes);
    },
    subscribe: (topic, cb, o) => gossip.subscribe(topic, cb, o),
    async request(peer, addrs, protocol, bytes, o) {
      requireRunning();
      trimmer.asked(peer);
      try {
        return await trimmer.inFlight(peer, () => transport.request(peer, addrs, protocol, bytes, o));
      } finally {
        trimmer.asked(peer);
      }
    },
    handle: (protocol, handler, o) =>
      transport.handle(
        protocol,
        async (req, from, ctx) => {
          trimmer.touch(from);
          return trimmer.inFlight(from, () => handler(req, from, ctx));
        },
        o,
      ),
    unhandle: (protocol) => transport.unhandle(protocol),
  };
  return node;
}
