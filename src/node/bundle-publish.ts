/**
 * Publishing our prekey bundle to the DHT (docs/node.md "Wire protocols": the `cbundle` record) — once
 * on demand, and until a DHT peer stores it: a node that starts before it has peers (or after a cut)
 * stored it nowhere, and a contact adding our invite while we are offline finds the bundle only in the
 * DHT (docs/mailboxes.md "First contact"); waiting for the hourly republish left it unreachable for up
 * to an hour. Retries at `retryMinMs` (5 s), doubling up to RETRY_MAX_MS, until one stores it.
 */
import type { Clock } from '../lib/deps.ts';
import { errorOf, type Logger } from '../lib/log.ts';
import type { NetNode } from '../net/index.ts';
import { bundleDhtKey } from './bundles.ts';
import type { NetworkState } from './network-state.ts';
import type { PrekeyManager } from './prekeys.ts';

const RETRY_MAX_MS = 300_000;

export interface BundlePublishDeps {
  readonly net: Pick<NetNode, 'dhtPut' | 'connections'>;
  readonly prekeys: Pick<PrekeyManager, 'published'>;
  readonly network: Pick<NetworkState, 'dht'>;
  readonly userId: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly dhtTimeoutMs: number;
  readonly retryMinMs?: number;
}

export interface BundlePublisher {
  /** Publishes once; resolves to the number of peers that stored it (0 on failure, logged). */
  publish(): Promise<number>;
  /** Publishes now, then again on the backoff until a peer stores it. */
  publishUntilStored(): void;
  stop(): void;
}

export function createBundlePublisher(d: BundlePublishDeps): BundlePublisher {
  const { net, log } = d;
  const retryMin = d.retryMinMs ?? 5_000;
  let delay = retryMin;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const publish = async (): Promise<number> => {
    try {
      const stored = await net.dhtPut(bundleDhtKey(d.userId), d.prekeys.published(d.clock()), { timeoutMs: d.dhtTimeoutMs });
      if (net.connections().length > 0) d.network.dht(stored > 0);
      log.debug('bundle published', { stored });
      return stored;
    } catch (e) {
      log.warn('bundle publish failed', { error: errorOf(e) });
      d.network.dht(false);
      return 0;
    }
  };

  const publishUntilStored = (): void => {
    clearTimeout(timer);
    timer = undefined;
    void publish().then((stored) => {
      if (stopped) return;
      if (stored > 0) {
        delay = retryMin;
        return;
      }
      timer = setTimeout(publishUntilStored, delay);
      timer.unref();
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    });
  };

  return {
    publish,
    publishUntilStored,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
