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

const cases: Case[] = [peel, build];

export default defineSuite({
  description: 'onion packets: peel and build vs. the X25519 work they need (issue 5)',
  cases,
});
