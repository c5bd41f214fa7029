/**
 * Routing: the onion packet (src/protocol/onion/packet.ts, docs/onion.md; issue 5 "Onion paths").
 * Each case sets our operation against the public-key work it cannot avoid, measured in the same run:
 *   - peeling one layer needs one X25519 agreement with a key never seen before (validate, import, DH);
 *     the target is ≤ 100 µs per peel;
 *   - building a packet for 3 relays and the final node (4 layers) needs 4 ephemeral key pairs and 4
 *     agreements.
 * The gap between the two sides is the symmetric work: HKDF, the MAC over 4 KiB, two ChaCha20 streams.
 *
 *   npm run bench -- routing [--case peel]
 *
 * Adding a case: append a `Case` to `cases`. A networked one (packets over relays on TCP loopback)
 * starts its nodes in `prepare()`, returns `close()` to stop them, and reports µs per delivered packet
 * with `microsecondsPerOp` (async ops are awaited) against a raw-stream baseline.
 */
import { generateX25519, x25519, x25519PublicKey, type X25519KeyPair } from '../../src/crypto/x25519.ts';
import { systemRng } from '../../src/lib/system.ts';
import { buildOnion, ONION_PAYLOAD_BYTES, peelOnion, type OnionLayer } from '../../src/protocol/onion/packet.ts';
import { performance } from 'node:perf_hooks';
import { createCompeer, nodeStoreFrom, type CompeerNode } from '../../src/node/index.ts';
import { discoveryHook } from '../../src/node/discovery/index.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { createPeerPolicy } from '../../src/routing/peer-policy.ts';
import { storedIdentityOf } from '../../src/store/identity-keys.ts';
import { openMemoryStore } from '../../src/store/store.ts';
import { defineSuite, opsPerSecond, type Case, type Sample } from '../harness.ts';

const rng = systemRng;
const POOL = 256;

/** Mean µs per call of `op` over the budget (the reciprocal of opsPerSecond). */
export function microsecondsPerOp(op: () => unknown): Sample {
  const ops = opsPerSecond(op);
  return async (budgetMs) => 1e6 / (await ops(budgetMs));
}

/** Cycles through `items` so no call sees the same input twice in a row (no memo helps). */
function cycling<T>(items: readonly T[], op: (item: T) => unknown): () => unknown {
  let i = 0;
  return () => op(items[i++ % items.length] as T);
}

function path(relays: readonly X25519KeyPair[]): OnionLayer[] {
  return relays.map((k, i) => ({
    routingKey: k.publicKey,
    instruction: i === relays.length - 1 ? { kind: 'exit' } : { kind: 'forward', next: `12D3KooWBenchRelay${i}`.padEnd(52, 'x') },
  }));
}

const peel: Case = {
  name: 'peel one onion layer (4 KiB packet)',
  unit: 'µs',
  better: 'lower',
  baselineName: 'one X25519 agreement with a new public key (node:crypto: validate, import, DH)',
  prepare() {
    const relays = Array.from({ length: 4 }, () => generateX25519(rng));
    const packets = Array.from({ length: POOL }, () => buildOnion(path(relays), rng.bytes(ONION_PAYLOAD_BYTES), rng));
    const publicKeys = Array.from({ length: POOL }, () => generateX25519(rng).publicKey);
    const first = relays[0] as X25519KeyPair;
    return {
      ours: microsecondsPerOp(cycling(packets, (p) => peelOnion([first], p))),
      // x25519PublicKey copies its input, so every call imports the key afresh, as a peel does.
      baseline: microsecondsPerOp(cycling(publicKeys, (k) => x25519(first, x25519PublicKey(k)))),
    };
  },
};

const build: Case = {
  name: 'build a packet for 3 relays + the final node (4 layers)',
  unit: 'µs',
  better: 'lower',
  baselineName: '4 X25519 ephemeral key pairs + agreements (node:crypto)',
  prepare() {
    const relays = Array.from({ length: 4 }, () => generateX25519(rng));
    const layers = path(relays);
    const payload = rng.bytes(1024);
    return {
      ours: microsecondsPerOp(() => buildOnion(layers, payload, rng)),
      baseline: microsecondsPerOp(() => {
        for (const r of relays) x25519(generateX25519(rng), r.publicKey);
      }),
    };
  },
};

/** Three relays, Alice and Bob in this process on TCP loopback (memory stores), relays known to both. */
async function mesh(): Promise<{ alice: CompeerNode; bobId: string; close(): Promise<void> }> {
  const start = async (name: string, bootstrap: string[]): Promise<CompeerNode> => {
    const store = openMemoryStore({ peerPolicy: createPeerPolicy() });
    store.identities.create(storedIdentityOf(generateIdentity(rng), name, Date.now()));
    return createCompeer({
      store: nodeStoreFrom(store),
      net: { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, allowPrivateAddresses: true, bootstrap },
      discovery: discoveryHook({ announcePrivateAddresses: true, announceIntervalMs: 1_000 }),
    });
  };
  const r1 = await start('r1', []);
  const boot = [r1.net.addresses()[0] as string];
  const nodes = [r1, await start('r2', boot), await start('r3', boot)];
  const alice = await start('alice', boot);
  const bob = await start('bob', boot);
  nodes.push(alice, bob);
  const known = async (n: CompeerNode): Promise<number> => (await n.peers()).length;
  for (let i = 0; (await known(alice)) < 4 || (await known(bob)) < 4; i++) {
    if (i > 300) throw new Error('bench: relays not announced');
    await new Promise((r) => setTimeout(r, 100));
  }
  await alice.addContact((await bob.id()).invite, 'bob');
  await alice.send('bob', 'hello', { hops: 0 });
  for (let i = 0; !(await bob.contacts()).some((c) => c.userId === alice.userId); i++) {
    if (i > 200) throw new Error('bench: the hello did not arrive');
    await new Promise((r) => setTimeout(r, 50));
  }
  await bob.messages(alice.userId, { waitMs: 10_000, count: 1 });
  await bob.send(alice.userId, 'hi', { hops: 0 });
  await alice.messages('bob', { waitMs: 10_000, count: 2 });
  return { alice, bobId: bob.userId, close: async () => void (await Promise.all(nodes.map((n) => n.stop()))) };
}

/** Median µs from send() to "delivered" (the ack back at the sender), one message at a time. */
function deliveryLatency(node: CompeerNode, to: string, hops: number): Sample {
  return async (budgetMs) => {
    const out: number[] = [];
    const end = performance.now() + budgetMs;
    while (performance.now() < end || out.length < 3) {
      const t = performance.now();
      const { id } = await node.send(to, 'x'.repeat(1024), { hops });
      await new Promise<void>((resolve) => {
        const off = node.on((e) => {
          if (e.type === 'status' && e.id === id && e.status === 'delivered') {
            off();
            resolve();
          }
        });
      });
      out.push((performance.now() - t) * 1000);
    }
    return [...out].sort((a, b) => a - b)[Math.floor(out.length / 2)] as number;
  };
}

const threeHops: Case = {
  name: '3-hop delivery latency p50, 1 KiB (send → relays → stored → ack back on a 3-hop path)',
  unit: 'µs',
  better: 'lower',
  baselineName: 'direct delivery (hops 0) between the same two nodes',
  async prepare() {
    const m = await mesh();
    return { ours: deliveryLatency(m.alice, 'bob', 3), baseline: deliveryLatency(m.alice, 'bob', 0), close: () => m.close() };
  },
};

const cases: Case[] = [peel, build, threeHops];

export default defineSuite({
  description: 'onion packets: peel and build vs. the X25519 work they need; 3-hop vs direct delivery (issue 5)',
  cases,
});
