/**
 * The public surface of src/net/: one factory, helpers for the node key, and our own narrow types.
 * Layers above import from here; nothing exported names a libp2p type.
 */
export { createNetNode, peerIdFromNodeKey, DHT_PROTOCOL, MDNS_SERVICE_TAG } from './node.ts';
export type * from './types.ts';
