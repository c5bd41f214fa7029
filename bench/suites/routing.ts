/**
 * Routing: the onion packet (src/protocol/onion/packet.ts, docs/onion.md; issue 5 "Onion paths").
 * Peeling one layer cannot avoid one X25519 agreement with a key never seen before; issue 5's target is
 * ≤ 100 µs per peel. So the per-packet cases are each set against the floor — one X25519 agreement alone
 * (OpenSSL, both keys already imported) — measured in the same run, and the table reads as "how many DH
 * floors": the peel itself, then its parts one by one (validate E and agree with it as raw key data,
 * derive the layer keys, open 4,159 bytes of ChaCha20-Poly1305), and for reference the KeyObject import
 * path a peel no longer takes. Building a packet for 3 relays + the final node is set against
 * the 4 key pairs + agreements it needs. These cases report CPU time per operation (process.cpuUsage):
 * on a 2-core machine shared with other work, wall time also counts the time this process waits for a core.
 *
 *   npm run bench -- routing [--case peel]
 *
 * Adding a case: append a `Case` to `cases`. A networked one (packets over relays on TCP loopback)
 * starts its nodes in `prepare()`, returns `close()` to stop them, and reports µs per delivered packet
 * with `microsecondsPerOp` (async ops are awaited) against a raw-stream baseline.
 */
import { createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { aeadOpenDetached, aeadSealDetached } from '../../src/crypto/aead-detached.ts';
import { generateX25519, x25519, x25519Once, x25519PublicKey, type X25519KeyPair } from '../../src/crypto/x25519.ts';
import { systemRng } from '../../src/lib/system.ts';
import { buildOnion, ONION_PAYLOAD_BYTES, peelOnion, type OnionLayer } from '../../src/protocol/onion/packet.ts';
import { layerKeys } from '../../src/protocol/onion/_keys.ts';
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

/** Mean CPU µs (user + system, process.cpuUsage) per call of a sync `op`, calls run for about the budget. */
function cpuMicrosecondsPerOp(op: () => unknown): Sample {
  return (budgetMs) => {
    const end = performance.now() + budgetMs;
    const start = process.cpuUsage();
    let n = 0;
    do {
      for (let i = 0; i < 16; i++) op();
      n += 16;
    } while (performance.now() < end);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / n;
  };
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

const FLOOR = 'X25519 DH alone (node:crypto, both keys already imported: the floor of a peel)';

/** The floor: one agreement between a relay key and a pool of public keys already imported. */
function dhFloor(relay: X25519KeyPair): Sample {
  const imported: KeyObject[] = Array.from({ length: POOL }, () => generateKeyPairSync('x25519').publicKey);
  return cpuMicrosecondsPerOp(cycling(imported, (publicKey) => diffieHellman({ privateKey: relay.handle, publicKey })));
}

/** A case for one per-packet operation against the DH floor, both in CPU µs. */
function againstFloor(name: string, setup: (relay: X25519KeyPair) => () => unknown): Case {
  return {
    name,
    unit: 'µs CPU',
    better: 'lower',
    baselineName: FLOOR,
    prepare() {
      const relay = generateX25519(rng);
      return { ours: cpuMicrosecondsPerOp(setup(relay)), baseline: dhFloor(relay) };
    },
  };
}

const peel = againstFloor('peel one onion layer (4 KiB packet; issue 5 target ≤ 100 µs)', (relay) => {
  const relays = [relay, ...Array.from({ length: 3 }, () => generateX25519(rng))];
  const packets = Array.from({ length: POOL }, () => buildOnion(path(relays), rng.bytes(ONION_PAYLOAD_BYTES), rng));
  return cycling(packets, (p) => peelOnion([relay], p));
});

// What a peel does with E: validate it and hand it to OpenSSL as raw key data inside the agreement.
const importAndDh = againstFloor('peel part: validate a new E + DH with E as raw key data (x25519Once)', (relay) => {
  const publicKeys = Array.from({ length: POOL }, () => generateX25519(rng).publicKey);
  return cycling(publicKeys, (k) => x25519Once(relay, k));
});

// The path a peel no longer takes (x25519PublicKey copies its input, so every call imports afresh).
const importKoAndDh = againstFloor('for reference: validate + import a new E as a KeyObject, then DH', (relay) => {
  const publicKeys = Array.from({ length: POOL }, () => generateX25519(rng).publicKey);
  return cycling(publicKeys, (k) => x25519(relay, x25519PublicKey(k)));
});

const importOnly = againstFloor("for reference: import a new E alone (createPublicKey 'raw-public')", () => {
  const raw = Array.from({ length: POOL }, () => generateX25519(rng).publicKey);
  return cycling(raw, (k) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0; // as x25519.ts does: node's brand checks throw internally
    try {
      return createPublicKey({ key: k as unknown as Buffer, format: 'raw-public', asymmetricKeyType: 'x25519' });
    } finally {
      Error.stackTraceLimit = limit;
    }
  });
});

const keys = againstFloor('peel part: layer keys (one SHA-512 of label, s, E, P)', (relay) => {
  const shared = Array.from({ length: POOL }, () => rng.bytes(32));
  return cycling(shared, (s) => layerKeys(Uint8Array.from(s), relay.publicKey, relay.publicKey));
});

const open = againstFloor('peel part: ChaCha20-Poly1305 open of 4,159 bytes (aead-detached.ts)', () => {
  const nonce = new Uint8Array(12);
  const ad = rng.bytes(33);
  const sealed = Array.from({ length: POOL }, () => {
    const key = rng.bytes(32);
    return { key, ...aeadSealDetached(key, nonce, rng.bytes(4159), ad) };
  });
  return cycling(sealed, (c) => aeadOpenDetached(c.key, nonce, c.ciphertext, c.tag, ad));
});

const build: Case = {
  name: 'build a packet for 3 relays + the final node (4 layers)',
  unit: 'µs CPU',
  better: 'lower',
  baselineName: '4 X25519 ephemeral key pairs + agreements (node:crypto)',
  prepare() {
    const relays = Array.from({ length: 4 }, () => generateX25519(rng));
    const layers = path(relays);
    const payload = rng.bytes(1024);
    return {
      ours: cpuMicrosecondsPerOp(() => buildOnion(layers, payload, rng)),
      baseline: cpuMicrosecondsPerOp(() => {
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

const cases: Case[] = [peel, importAndDh, importKoAndDh, importOnly, keys, open, build, threeHops];

export default defineSuite({
  description: 'onion packets: peel and its parts vs. the X25519 DH floor, build vs. its key pairs; 3-hop vs direct delivery (issue 5)',
  cases,
});
