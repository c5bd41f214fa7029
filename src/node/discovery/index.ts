/**
 * Discovery and the feed of the peer table (DESIGN.md "Discovery and the peer table";
 * docs/networking.md "Discovery"). The composition root calls `startDiscovery` once the net node runs.
 */
export { ANNOUNCE_TOPIC, capabilityNames, isPublicAddress, normalizeAddresses, startDiscovery } from './discovery.ts';
export type { Discovery, DiscoveryNet, DiscoveryOptions, DiscoveryPeerTable, DiscoveryStats } from './discovery.ts';
export { discoveryHook, type DiscoveryConfig } from './hook.ts';
