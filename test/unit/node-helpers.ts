/**
 * Shared by the node tests: Compeer nodes on 127.0.0.1 (TCP, ephemeral ports, mDNS off) over the
 * in-memory store, and a logger whose lines the test can inspect.
 */
import { systemRng } from '../../src/lib/system.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { createCompeer, type CompeerNode, type CompeerOptions } from '../../src/node/compeer.ts';
import { memoryNodeStore, type NodeStore } from '../../src/node/node-store.ts';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { captureLogger, waitFor, type Captured } from './net-helpers.ts';

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

/**
 * Alice sends `count` 1 KiB texts to her contact "bob" all at once; resolves with what send() returned
 * once every one is delivered and arrived exactly once at Bob (in any order: requests in flight
 * together may be processed in either order).
 */
export async function sendAllDelivered(alice: CompeerNode, bob: CompeerNode, count: number): Promise<{ id: string }[]> {
  const arrived: string[] = [];
  const delivered = new Set<string>();
  bob.on((e) => {
    if (e.type === 'message' && e.message.direction === 'in') arrived.push(e.message.text);
  });
  alice.on((e) => {
    if (e.type === 'status' && e.status === 'delivered') delivered.add(e.id);
  });
  const texts = Array.from({ length: count }, (_, i) => `${String(i).padStart(4, '0')} ${'x'.repeat(1020)}`);
  const sent = await Promise.all(texts.map((t) => alice.send('bob', t)));
  assert.ok(await waitFor(() => sent.every((s) => delivered.has(s.id)), 60_000), `delivered: ${delivered.size} of ${count}`);
  assert.equal(arrived.length, count);
  assert.deepEqual([...arrived].sort(), texts);
  return sent;
}

/**
 * Alice and Bob for one describe block: started before its tests (then `setup`, e.g. an introduction),
 * stopped after them. Tests read `nodes.alice` / `nodes.bob` (set once the suite's `before` ran).
 */
export function suiteNodes(setup?: (alice: TestNode, bob: TestNode) => Promise<void>): { readonly alice: TestNode; readonly bob: TestNode } {
  const nodes = {} as { alice: TestNode; bob: TestNode };
  before(async () => {
    nodes.alice = await startCompeer('alice');
    nodes.bob = await startCompeer('bob');
    await setup?.(nodes.alice, nodes.bob);
  });
  after(async () => {
    await nodes.alice?.node.stop();
    await nodes.bob?.node.stop();
  });
  return nodes;
}
