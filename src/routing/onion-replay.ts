/**
 * A relay's replay cache of onion layer tags (DESIGN.md "Security notes for the hard parts": "a
 * per-relay replay cache of layer tags that rotates with key epochs"). A replayed packet peels to
 * the same next hop with the same bytes, so an observer who replays it and watches where traffic
 * goes links the hops; the relay must therefore forward each layer at most once.
 *
 * Epochs: the relay's onion routing key rotates per epoch and it keeps the current and the previous
 * key only, so a tag is remembered for those two epochs; a tag of an older epoch cannot be peeled at
 * all (its key is retired) and is reported as a replay. Moving to epoch e+1 drops epoch e-1's set.
 *
 * Full is refusal, not forgetting: when an epoch's set holds `maxPerEpoch` tags, every further new
 * tag of that epoch is reported as a replay (the packet is dropped) until the epoch rotates. An
 * evicting cache would let an attacker flush a tag out with a burst of fresh packets and then replay
 * it; refusing costs availability for the rest of the epoch, which the sender's outbox recovers
 * (re-selects a path), while privacy is kept. Memory: at most 2 × maxPerEpoch tags, kept as 16-char
 * one-byte strings in a Set: ~57 bytes per tag measured (heapUsed), so two full default epochs of
 * 65,536 tags take ~7.5 MB; a lookup costs a few µs.
 *
 * This module knows nothing of the onion format or where tags come from (src/protocol/onion/).
 */
import { assertBytes, assertInteger } from '../lib/assert.ts';

export const REPLAY_TAG_LENGTH = 16;
export const REPLAY_DEFAULTS = { maxPerEpoch: 65_536 } as const;

export interface ReplayCache {
  /** True = drop the packet (seen before, epoch retired, or the epoch's set is full); otherwise records the tag. */
  seen(tag: Uint8Array, epoch: number): boolean;
  /** Tags held, both epochs together. */
  size(): number;
}

function keyOf(tag: Uint8Array): string {
  return Buffer.from(tag.buffer, tag.byteOffset, tag.byteLength).toString('latin1');
}

export function createReplayCache(opts: { readonly maxPerEpoch?: number } = {}): ReplayCache {
  const max = opts.maxPerEpoch ?? REPLAY_DEFAULTS.maxPerEpoch;
  assertInteger(max, 'maxPerEpoch', 1, 1 << 24);
  let epochNow = -1;
  let current = new Set<string>();
  let previous = new Set<string>();

  const rotateTo = (epoch: number): void => {
    previous = epoch === epochNow + 1 ? current : new Set();
    current = new Set();
    epochNow = epoch;
  };

  return {
    seen(tag, epoch) {
      assertBytes(tag, 'tag', REPLAY_TAG_LENGTH);
      assertInteger(epoch, 'epoch', 0, Number.MAX_SAFE_INTEGER);
      if (epoch > epochNow) rotateTo(epoch);
      let set: Set<string>;
      if (epoch === epochNow) set = current;
      else if (epoch === epochNow - 1) set = previous;
      else return true;
      const key = keyOf(tag);
      if (set.has(key)) return true;
      if (set.size >= max) return true;
      set.add(key);
      return false;
    },
    size: () => current.size + previous.size,
  };
}
