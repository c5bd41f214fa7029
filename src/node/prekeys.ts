/**
 * The prekey lifecycle of one node (DESIGN.md "End-to-end encryption"; numbers in wire/constants.ts):
 *
 *   first start   a signed prekey (SPK), a last-resort ML-KEM prekey, and ONE_TIME_PREKEY_TARGET one-time
 *                 X25519 and one-time ML-KEM prekeys
 *   `maintain()`  replenish one-time keys below the low watermark; rotate the SPK and the last-resort KEM
 *                 key every SIGNED_PREKEY_ROTATION_MS; delete rotated-out SPKs after SIGNED_PREKEY_GRACE_MS
 *                 (with their replay-cache entries). Returns true when the published bundle changed.
 *
 * Two bundles: `served()` for a direct request (a one-time X25519 and KEM prekey each, reserved so no
 * second initiator gets them) and `published()` for the DHT (SPK + last-resort KEM key only: a record
 * many readers share must not name one-time keys, or all but the first initiator would fail).
 * Prekey ids come from a counter in the node's meta area. This module knows nothing of the network.
 */
import { equalBytes, fromUtf8, utf8 } from '../lib/bytes.ts';
import type { Clock, Rng } from '../lib/deps.ts';
import type { Logger } from '../lib/log.ts';
import {
  generateKemPrekey,
  generateOneTimeKemPrekeys,
  generateOneTimePrekeys,
  generateSignedPrekey,
} from '../protocol/handshake/prekeys.ts';
import { prekeysToGenerate, signedPrekeyNeedsRotation } from '../protocol/handshake/prekey-store.ts';
import { bundleFromPool, createPrekeyBundle, encodePrekeyBundle } from '../protocol/handshake/bundle.ts';
import { ONE_TIME_PREKEY_LOW_WATERMARK, SIGNED_PREKEY_GRACE_MS } from '../protocol/wire/constants.ts';
import { userIdOf } from '../protocol/identity.ts';
import type { NodeStore } from './node-store.ts';
import { BUNDLE_REQUEST_LENGTH, bundleRequest } from './bundles.ts';

const NEXT_ID = 'node.prekeys.next-id';
const LAST_RESORT = 'node.prekeys.last-resort';
const SPKS = 'node.prekeys.spks';

interface SpkEntry {
  id: number;
  createdAt: number;
}

export interface PrekeyManager {
  /** Generates what is missing or due; true when the published bundle changed. Runs in a transaction. */
  maintain(now: number): boolean;
  /** An encoded bundle for one initiator (reserves one-time keys). */
  served(now: number): Uint8Array;
  /** The encoded bundle for the DHT (no one-time keys). */
  published(now: number): Uint8Array;
}

export function createPrekeyManager(store: NodeStore, rng: Rng): PrekeyManager {
  const { prekeys: pool, meta, identity } = store;
  const nextIds = (count: number): number => {
    const raw = meta.get(NEXT_ID);
    const first = raw ? Number(fromUtf8(raw)) : 1;
    meta.set(NEXT_ID, utf8(String(first + count)));
    return first;
  };
  const spks = (): SpkEntry[] => {
    const raw = meta.get(SPKS);
    return raw ? (JSON.parse(fromUtf8(raw)) as SpkEntry[]) : [];
  };
  const lastResort = () => {
    const raw = meta.get(LAST_RESORT);
    return raw ? pool.getKemPrekey(Number(fromUtf8(raw)))?.public : undefined;
  };

  const maintain = (now: number): boolean =>
    store.transaction(() => {
      let changed = false;
      const current = pool.currentSignedPrekey();
      if (signedPrekeyNeedsRotation(current, now) || lastResort() === undefined) {
        const spk = generateSignedPrekey(identity, nextIds(1), rng, now);
        pool.addSignedPrekey(spk);
        const kem = generateKemPrekey(identity, 'last-resort', nextIds(1), rng, now);
        pool.addKemPrekeys([kem]);
        meta.set(LAST_RESORT, utf8(String(kem.public.id)));
        const list = [...spks(), { id: spk.public.id, createdAt: now }];
        // An SPK replaced more than the grace period ago can go (its replay entries with it).
        const keep: SpkEntry[] = [];
        for (let i = 0; i < list.length; i++) {
          const e = list[i] as SpkEntry;
          const replacedAt = list[i + 1]?.createdAt;
          if (replacedAt !== undefined && now - replacedAt > SIGNED_PREKEY_GRACE_MS) {
            pool.removeSignedPrekey(e.id);
            store.replay.forgetSignedPrekey(e.id);
          } else keep.push(e);
        }
        meta.set(SPKS, utf8(JSON.stringify(keep)));
        changed = true;
      }
      const opks = prekeysToGenerate(pool.availableOneTimePrekeys());
      if (opks > 0) pool.addOneTimePrekeys(generateOneTimePrekeys(nextIds(opks), opks, rng));
      const kems = prekeysToGenerate(pool.availableOneTimeKemPrekeys());
      if (kems > 0) pool.addKemPrekeys(generateOneTimeKemPrekeys(identity, nextIds(kems), kems, rng, now));
      return changed;
    });

  return {
    maintain,
    served(now) {
      const bundle = store.transaction(() => bundleFromPool(identity, pool, now));
      if (bundle === undefined) {
        maintain(now);
        return this.published(now);
      }
      return encodePrekeyBundle(bundle);
    },
    published(now) {
      const signedPrekey = pool.currentSignedPrekey();
      const kemPrekey = lastResort();
      if (!signedPrekey || !kemPrekey) {
        maintain(now);
        return this.published(now);
      }
      return encodePrekeyBundle(createPrekeyBundle(identity, { signedPrekey, kemPrekey }, now));
    },
  };
}

/** Refusals logged per BUNDLE_REFUSAL_LOG_WINDOW_MS, so a stranger's flood cannot flood the log too. */
export const BUNDLE_REFUSAL_LOG_BURST = 10;
export const BUNDLE_REFUSAL_LOG_WINDOW_MS = 60_000;

/**
 * The `/compeer/bundle/2` handler: only a request naming this node's user (bundles.ts `bundleRequest`)
 * gets the bundle to serve (with a one-time prekey); any other request — empty, another length, another
 * user — an empty response, and no one-time prekey is reserved for it: the bundle names the user, and a
 * peer that does not know whose node this is must not learn it here (bundles.ts header). Refusals are
 * logged with the peer and the request's length only (never the request: it would be a hash of a user
 * ID the peer guessed), at most BUNDLE_REFUSAL_LOG_BURST per window; the next line logged says how many
 * were left out. Requests drain one-time prekeys faster than the hourly maintenance refills them, so a
 * refill is scheduled when they run low.
 */
export function bundleHandler(prekeys: PrekeyManager, store: NodeStore, clock: Clock, log: Logger, stopped: () => boolean): (req: Uint8Array, from: string) => Promise<Uint8Array> {
  const ours = bundleRequest(userIdOf(store.identity.public));
  let refillScheduled = false;
  let logWindow = { start: clock(), count: 0, dropped: 0 };
  const refuse = (from: string, bytes: number): Uint8Array => {
    const t = clock();
    if (t - logWindow.start >= BUNDLE_REFUSAL_LOG_WINDOW_MS) logWindow = { start: t, count: 0, dropped: logWindow.dropped };
    if (logWindow.count >= BUNDLE_REFUSAL_LOG_BURST) logWindow.dropped++;
    else {
      logWindow.count++;
      log.warn('bundle request refused', { peer: from, bytes, ...(logWindow.dropped > 0 ? { notLogged: logWindow.dropped } : {}) });
      logWindow.dropped = 0;
    }
    return new Uint8Array(0);
  };
  return async (req, from) => {
    if (req.length !== BUNDLE_REQUEST_LENGTH || !equalBytes(req, ours)) return refuse(from, req.length);
    const bundle = prekeys.served(clock());
    if (store.prekeys.availableOneTimePrekeys() < ONE_TIME_PREKEY_LOW_WATERMARK && !refillScheduled) {
      refillScheduled = true;
      setImmediate(() => {
        refillScheduled = false;
        if (stopped()) return;
        try {
          prekeys.maintain(clock());
        } catch (e) {
          log.error('prekey maintenance failed', { error: e instanceof Error ? e : String(e) });
        }
      });
    }
    return bundle;
  };
}
