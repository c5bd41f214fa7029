/**
 * Skipped message keys (Signal Double Ratchet spec §3.2/§4 MKSKIPPED, and §8.4 "Deletion of skipped
 * message keys"), bounded four ways (docs/protocol.md "Double Ratchet", limits):
 *   - a forward jump of at most RATCHET_MAX_SKIP keys per chain and message (checked by the caller),
 *   - at most RATCHET_MAX_SKIPPED_KEYS stored in total: the oldest are evicted first,
 *   - at most RATCHET_MAX_OLD_CHAINS finished receiving chains kept (with their keys),
 *   - a key older than RATCHET_SKIPPED_KEY_MAX_AGE_MS is refused and deleted.
 *
 * Keys are stored per receiving chain, i.e. per header key, so one header decryption finds the chain
 * and a map lookup the key. Eviction and expiry both remove the oldest keys first, and keys enter a
 * chain in number order: the keys a chain has lost are therefore always a prefix, tracked by `floor`,
 * which tells a dropped key (MESSAGE_EXPIRED) from a used one (DUPLICATE_MESSAGE) exactly.
 * This module knows nothing of headers, DH or the wire.
 */
import { wipe } from '../../lib/bytes.ts';
import { ErrorCodes, ProtocolError } from '../../lib/errors.ts';
import {
  RATCHET_MAX_OLD_CHAINS,
  RATCHET_MAX_SKIPPED_KEYS,
  RATCHET_SKIPPED_KEY_MAX_AGE_MS,
} from '../wire/constants.ts';
import { chainStep, type ChainKey, type MessageKey } from './kdf.ts';
import { wipeChain, type ReceivingChain, type SkippedKey, type State } from './state.ts';

export interface Derived {
  /** Message keys for the `count` numbers skipped. */
  readonly keys: MessageKey[];
  /** The chain key after `count` steps (=== the input when count is 0). */
  readonly chainKey: ChainKey;
}

/** KDF_CK applied `count` times; wipes every intermediate chain key but never the input. */
export function deriveSkipped(chainKey: ChainKey, count: number): Derived {
  const keys: MessageKey[] = [];
  let ck = chainKey;
  for (let i = 0; i < count; i++) {
    const { messageKey, chainKey: next } = chainStep(ck);
    keys.push(messageKey);
    if (ck !== chainKey) wipe(ck);
    ck = next;
  }
  return { keys, chainKey: ck };
}

/**
 * The stored key for message `n` of `chain` (n below the chain's next number), or the typed reason
 * there is none. Does not remove the key: the caller does so once the body has authenticated.
 */
export function findSkipped(chain: ReceivingChain, n: number, now: number): SkippedKey {
  const entry = chain.skipped.get(n);
  if (entry === undefined) {
    if (n < chain.floor) {
      throw new ProtocolError(ErrorCodes.MESSAGE_EXPIRED, 'ratchet: the key of this late message was deleted (age or count limit)');
    }
    throw new ProtocolError(ErrorCodes.DUPLICATE_MESSAGE, 'ratchet: message already decrypted');
  }
  if (now - entry.at > RATCHET_SKIPPED_KEY_MAX_AGE_MS) {
    throw new ProtocolError(ErrorCodes.MESSAGE_EXPIRED, 'ratchet: the key of this late message has expired');
  }
  return entry;
}

/** Removes and wipes a used skipped key. */
export function consumeSkipped(s: State, chain: ReceivingChain, n: number): void {
  const entry = chain.skipped.get(n);
  if (entry === undefined) return;
  chain.skipped.delete(n);
  s.skippedCount--;
  wipe(entry.key);
}

/** Stores keys for numbers first, first+1, ... in `chain` (limits are applied by enforceLimits). */
export function storeSkipped(s: State, chain: ReceivingChain, first: number, keys: readonly MessageKey[], now: number): void {
  for (let i = 0; i < keys.length; i++) {
    chain.skipped.set(first + i, { key: keys[i] as MessageKey, at: now });
  }
  s.skippedCount += keys.length;
}

/** Chains from oldest to newest: the order in which their keys were stored. */
function* chainsOldestFirst(s: State): Generator<ReceivingChain> {
  yield* s.old;
  if (s.current !== null) yield s.current;
}

function dropEntry(s: State, chain: ReceivingChain, n: number, entry: SkippedKey): void {
  chain.skipped.delete(n);
  if (n + 1 > chain.floor) chain.floor = n + 1;
  s.skippedCount--;
  wipe(entry.key);
}

/** Drops the oldest finished chains beyond the chain limit, then the oldest keys beyond the key limit. */
export function enforceLimits(s: State): void {
  while (s.old.length > RATCHET_MAX_OLD_CHAINS) {
    const dropped = s.old.shift() as ReceivingChain;
    s.skippedCount -= dropped.skipped.size;
    wipeChain(dropped);
  }
  if (s.skippedCount <= RATCHET_MAX_SKIPPED_KEYS) return;
  for (const chain of chainsOldestFirst(s)) {
    for (const [n, entry] of chain.skipped) {
      if (s.skippedCount <= RATCHET_MAX_SKIPPED_KEYS) return;
      dropEntry(s, chain, n, entry);
    }
  }
}

/**
 * Deletes skipped keys older than the age limit, oldest first, stopping at the first key still young
 * (keys are stored in time order unless the clock went back: then some are kept a little longer, and
 * findSkipped still refuses them). Returns how many were deleted.
 */
export function pruneExpired(s: State, now: number): number {
  if (s.skippedCount === 0) return 0;
  let removed = 0;
  for (const chain of chainsOldestFirst(s)) {
    for (const [n, entry] of chain.skipped) {
      if (now - entry.at <= RATCHET_SKIPPED_KEY_MAX_AGE_MS) return removed;
      dropEntry(s, chain, n, entry);
      removed++;
    }
  }
  return removed;
}
