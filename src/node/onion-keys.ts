/**
 * The node's onion routing keys (docs/delivery.md "Keys"): one X25519 key pair per epoch of 7 days, kept
 * in the sealed meta area. Relays peel with the current key and the previous one (a packet built just
 * before a rotation still goes through); older keys are deleted, so a relay's recorded traffic cannot
 * be unwrapped later with a key seized from its disk (forward secrecy per epoch). The replay cache of
 * layer tags is per epoch for the same reason (src/routing/onion-replay.ts).
 * The public key travels in peer announcements (relays) and in `inbox` messages (contacts).
 */
import type { Clock, Rng } from '../lib/deps.ts';
import { wipe } from '../lib/bytes.ts';
import { x25519FromPrivate, X25519_KEY_LENGTH, type X25519KeyPair, type X25519PublicKey } from '../crypto/x25519.ts';
import type { NodeStore } from './node-store.ts';

export const ONION_EPOCH_MS = 7 * 24 * 3600_000;
const PREFIX = 'node.onion-key/';

export interface OnionKeys {
  /** Current first, then the previous epoch's (when there is one). */
  pairs(): readonly X25519KeyPair[];
  current(): X25519PublicKey;
  epoch(): number;
  /** Rotates when the epoch changed; returns whether it did (contacts then learn the new key). */
  rotate(): boolean;
}

export function onionEpoch(now: number): number {
  return Math.floor(now / ONION_EPOCH_MS);
}

export function loadOnionKeys(store: NodeStore, rng: Rng, clock: Clock): OnionKeys {
  let epoch = -1;
  let pairs: X25519KeyPair[] = [];

  const load = (e: number): X25519KeyPair | undefined => {
    const raw = store.meta.get(PREFIX + e);
    if (raw?.length !== X25519_KEY_LENGTH) return undefined;
    const pair = x25519FromPrivate(raw);
    wipe(raw);
    return pair;
  };

  const rotate = (): boolean => {
    const e = onionEpoch(clock());
    if (e === epoch) return false;
    let current = load(e);
    if (!current) {
      const secret = rng.bytes(X25519_KEY_LENGTH);
      store.transaction(() => {
        store.meta.set(PREFIX + e, secret);
        for (const k of store.meta.keys(PREFIX)) {
          if (Number(k.slice(PREFIX.length)) < e - 1) store.meta.delete(k);
        }
      });
      current = x25519FromPrivate(secret);
      wipe(secret);
    }
    const previous = load(e - 1);
    pairs = previous ? [current, previous] : [current];
    const changed = epoch !== -1;
    epoch = e;
    return changed;
  };

  rotate();
  return {
    pairs: () => pairs,
    current: () => (pairs[0] as X25519KeyPair).publicKey,
    epoch: () => epoch,
    rotate,
  };
}
