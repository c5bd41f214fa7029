/**
 * Shared by the node tests: Compeer nodes on 127.0.0.1 (TCP, ephemeral ports, mDNS off) over the
 * in-memory store, and a logger whose lines the test can inspect.
 */
import { systemRng } from '../../src/lib/system.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { createCompeer, type CompeerNode, type CompeerOptions } from '../../src/node/compeer.ts';
import { memoryNodeStore, type NodeStore } from '../../src/node/node-store.ts';
import { captureLogger, type Captured } from './net-helpers.ts';

export interface TestNode {
  readonly node: CompeerNode;
  readonly store: NodeStore;
  readonly logs: Captured;
}

export async function startCompeer(name: string, opts: Partial<CompeerOptions> & { bootstrap?: string[]; store?: NodeStore } = {}): Promise<TestNode> {
  const logs = captureLogger();
  const store = opts.store ?? memoryNodeStore(generateIdentity(systemRng), name);
  const node = await createCompeer({
    store,
    logger: logs.logger,
    retryIntervalMs: 200,
    requestTimeoutMs: 3_000,
    dhtTimeoutMs: 2_000,
    ...opts,
    net: { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, allowPrivateAddresses: true, bootstrap: opts.bootstrap ?? [], ...opts.net },
  });
  return { node, store, logs };
}

export function waitEvent<T>(node: CompeerNode, pick: (e: Parameters<Parameters<CompeerNode['on']>[0]>[0]) => T | undefined, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('event timeout'));
    }, timeoutMs);
    const off = node.on((e) => {
      const v = pick(e);
      if (v !== undefined) {
        clearTimeout(timer);
        off();
        resolve(v);
      }
    });
  });
}
