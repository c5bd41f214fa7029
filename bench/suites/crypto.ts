/**
 * Crypto: Compeer's session layer (PQXDH + Double Ratchet with header encryption) against
 * @signalapp/libsignal-client (Rust via N-API) on the same work, in the same run (issue 3):
 *   (a) session setups: bundle processed, first 1 KiB message encrypted and decrypted;
 *   (b) 1 KiB messages encrypted + decrypted, one way;
 *   (c) ping-pong: alternating direction, a DH ratchet step on every message.
 * Both sides serialize session state after every operation, as a store would: ours encodes the
 * session after each encrypt and each decrypt; libsignal's stores serialize every saved record (and,
 * because its API loads the record for each operation, deserialize on every load).
 * Preparation (identities, prekeys, bundles) is outside the measured time on both sides.
 *
 *   npm run bench -- crypto
 */
import { performance } from 'node:perf_hooks';
import { bundleFromPool, decodePrekeyBundle, encodePrekeyBundle } from '../../src/protocol/handshake/bundle.ts';
import { InMemoryPrekeyPool } from '../../src/protocol/handshake/prekey-store.ts';
import { generateKemPrekey, generateOneTimeKemPrekeys, generateOneTimePrekeys, generateSignedPrekey } from '../../src/protocol/handshake/prekeys.ts';
import { InMemoryReplayCache } from '../../src/protocol/handshake/replay-cache.ts';
import { generateIdentity, type IdentityKeyPair } from '../../src/protocol/identity.ts';
import {
  acceptSession,
  encodeSession,
  initiateSession,
  sessionDecrypt,
  sessionEncrypt,
  type Session,
} from '../../src/protocol/session.ts';
import { systemClock, systemRng } from '../../src/lib/system.ts';
import { libsignalWorkloads } from '../baselines/libsignal.ts';
import { defineSuite, opsPerSecond, type Sample } from '../harness.ts';

const rng = systemRng;
const MESSAGE = rng.bytes(1024);
const BATCH = 400;
const LIBSIGNAL = 'libsignal-client 0.103';

/** Ops/s of `op` over prepared items, counting only the time spent in `op`. */
function preparedOpsPerSecond<T>(prepare: (n: number) => T[], op: (item: T) => unknown | Promise<unknown>): Sample {
  return async (budgetMs) => {
    let spent = 0;
    let n = 0;
    while (spent < budgetMs) {
      const items = prepare(BATCH);
      for (const item of items) {
        const t = performance.now();
        await op(item);
        spent += performance.now() - t;
        n++;
        if (spent >= budgetMs) break;
      }
    }
    return (n * 1000) / spent;
  };
}

/** The responder ("bob"): identity, a signed prekey, a last-resort KEM key, and prekey pools. */
function makeResponder() {
  const identity = generateIdentity(rng);
  const pool = new InMemoryPrekeyPool();
  const now = systemClock();
  pool.addSignedPrekey(generateSignedPrekey(identity, 1, rng, now));
  pool.addKemPrekeys([generateKemPrekey(identity, 'last-resort', 1, rng, now)]);
  let nextId = 2;
  return {
    identity,
    pool,
    replay: new InMemoryReplayCache(),
    /** `n` encoded bundles, each with its own one-time X25519 and one-time ML-KEM prekey. */
    bundles(n: number): Uint8Array[] {
      const t = systemClock();
      pool.addOneTimePrekeys(generateOneTimePrekeys(nextId, n, rng));
      pool.addKemPrekeys(generateOneTimeKemPrekeys(identity, nextId, n, rng, t));
      nextId += n;
      const out: Uint8Array[] = [];
      for (let i = 0; i < n; i++) {
        const b = bundleFromPool(identity, pool, t);
        if (!b) throw new Error('bench: bundle pool exhausted');
        out.push(encodePrekeyBundle(b));
      }
      return out;
    },
  };
}
type Responder = ReturnType<typeof makeResponder>;

/** Initiator side of a setup: decode + verify the bundle, PQXDH, first message, persist. */
function setupOnce(initiator: IdentityKeyPair, bob: Responder, bundleBytes: Uint8Array): { a: Session; b: Session } {
  const a = initiateSession(initiator, decodePrekeyBundle(bundleBytes), rng);
  const wire = sessionEncrypt(a, MESSAGE, rng);
  encodeSession(a);
  const accepted = acceptSession(bob.identity, bob.pool, bob.replay, wire, systemClock());
  encodeSession(accepted.session);
  return { a, b: accepted.session };
}

function established(): { a: Session; b: Session } {
  const bob = makeResponder();
  const [bundle] = bob.bundles(1);
  if (!bundle) throw new Error('bench: no bundle');
  const pair = setupOnce(generateIdentity(rng), bob, bundle);
  // One reply so both sides have left the prekey phase.
  sessionDecrypt(pair.a, sessionEncrypt(pair.b, MESSAGE, rng), systemClock());
  return pair;
}

function sendAndPersist(from: Session, to: Session): void {
  const wire = sessionEncrypt(from, MESSAGE, rng);
  encodeSession(from);
  sessionDecrypt(to, wire, systemClock());
  encodeSession(to);
}

export default defineSuite({
  description: 'Session setup and messaging: Compeer (PQXDH + header-encrypted Double Ratchet) vs libsignal-client',
  cases: [
    {
      name: '(a) session setup + first 1 KiB message',
      unit: 'setups/s',
      better: 'higher',
      baselineName: LIBSIGNAL,
      async prepare() {
        const signal = await libsignalWorkloads(MESSAGE);
        const bob = makeResponder();
        return {
          ours: preparedOpsPerSecond(
            (n) => {
              const bundles = bob.bundles(n);
              return bundles.map((bundle) => ({ initiator: generateIdentity(rng), bundle }));
            },
            ({ initiator, bundle }) => setupOnce(initiator, bob, bundle),
          ),
          baseline: preparedOpsPerSecond(
            (n) => {
              signal.prepareSetups(n);
              return Array.from({ length: n }, () => 0);
            },
            () => signal.setup(),
          ),
        };
      },
    },
    {
      name: '(b) 1 KiB message encrypt + decrypt, one way',
      unit: 'msgs/s',
      better: 'higher',
      baselineName: LIBSIGNAL,
      async prepare() {
        const signal = await libsignalWorkloads(MESSAGE);
        const { a, b } = established();
        return { ours: opsPerSecond(() => sendAndPersist(a, b)), baseline: opsPerSecond(() => signal.oneWay()) };
      },
    },
    {
      name: '(c) ping-pong, DH ratchet step every message',
      unit: 'msgs/s',
      better: 'higher',
      baselineName: LIBSIGNAL,
      async prepare() {
        const signal = await libsignalWorkloads(MESSAGE);
        const { a, b } = established();
        let turn = 0;
        return {
          ours: opsPerSecond(() => (turn++ % 2 === 0 ? sendAndPersist(a, b) : sendAndPersist(b, a))),
          baseline: opsPerSecond(() => signal.pingPong()),
        };
      },
    },
  ],
});
