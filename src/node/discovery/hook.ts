/**
 * The composition root's discovery hook (`CompeerOptions.discovery` in src/node/compeer.ts): starts
 * discovery with the node's store, net node, clock and logger, and its node key (the same sealed key the
 * net node was built with, loaded again from the store's meta area).
 *
 *   createCompeer({ store, discovery: discoveryHook({ capabilities: { relay: true } }) })
 *
 * Without a peer table in the store, discovery stays off (a warning, not a failure).
 */
import { wipe } from '../../lib/bytes.ts';
import type { StartDiscovery } from '../compeer.ts';
import { loadOrCreateNodeKey } from '../node-key.ts';
import { startDiscovery, type DiscoveryOptions } from './discovery.ts';

export type DiscoveryConfig = Omit<DiscoveryOptions, 'net' | 'peers' | 'nodeKey' | 'clock' | 'logger' | 'onionKey'>;

export function discoveryHook(cfg: DiscoveryConfig = {}): StartDiscovery {
  return async (ctx) => {
    const peers = ctx.store.peers;
    if (peers === undefined) {
      ctx.log.warn('discovery off: the store has no peer table');
      return { stop: async () => {} };
    }
    const nodeKey = loadOrCreateNodeKey(ctx.store, ctx.rng, ctx.log);
    try {
      // startDiscovery imports the key into OpenSSL and keeps no reference to these bytes.
      const d = startDiscovery({
        capabilities: { relay: true, mailbox: true },
        ...cfg,
        net: ctx.net,
        peers,
        nodeKey,
        onionKey: ctx.onionKey,
        clock: ctx.clock,
        logger: ctx.log,
      });
      return { stop: () => d.stop() };
    } finally {
      wipe(nodeKey);
    }
  };
}
