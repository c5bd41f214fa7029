/**
 * A relay's replay cache of onion layer tags (DESIGN.md "Security notes for the hard parts": "a
 * per-relay replay cache of layer tags that rotates with key epochs"). A replayed packet peels to
 * the same next hop with the same bytes, so an observer who replays it and watches where traffic
 * goes links the hops; the relay must therefore forward each layer at most once (docs/onion.md
 * "Replay cache").
 *
 * Check (`check(tag, epoch, hop)`): 1. the epoch is that of the key that peeled the layer (the
 * router passes it; a packet built for the previous key still peels after a rotation and must meet
 * the set it was recorded in) 2. a retired epoch, or a tag already in its epoch's set: 'replay'
 * 3. the set holds `maxPerEpoch` tags, or the previous hop has recorded its share: 'full' (not
 * recorded) 4. otherwise recorded: 'new'. The router refuses a forward unless 'new', and takes an
 * exit unless 'replay' (a replayed exit goes nowhere; router.ts says what it costs).
 *
 * Epochs: the relay's onion routing key rotates per epoch and it keeps the current and the previous
 * key only, so a tag is remembered for those two epochs; a tag of an older epoch cannot be peeled at
 * all (its key is retired) and is reported as a replay. Moving to epoch e+1 drops epoch e-1's set.
 *
 * Full is refusal, not forgetting: an evicting cache would let an attacker flush a tag out with a
 * burst of fresh packets and then replay it. Refusing costs availability — of forwarding only, for
 * the rest of the epoch, which senders route around (a refused hop is penalised, the path
 * re-selected) — while privacy is kept. Two things keep one peer from getting there: room for
 * 786,432 tags per epoch (12 × the 65,536 of the Set<string> this replaced, in about the memory it
 * took: 4 MiB against ~3.7 MB), and a share per previous hop of 1/8 of that, so at least 8 peers
 * must each send 98,304 fresh layers (each one an X25519 for the attacker and a peel for us; 8
 * minutes at the onion protocol's 200 packets/s per peer) in the same epoch.
 *
 * Compact set: a tag is kept as a 32-bit fingerprint (its first 4 bytes, 0 mapped to 1: 0 marks an
 * empty slot) in a Uint32Array with linear probing. The slot is the top bits of fingerprint × a
 * random odd multiplier drawn per cache: tags are public to whoever built the packet, so without it
 * an attacker could grind tags into one run of slots and make every lookup there walk it. The slot
 * is recomputed from the fingerprint alone, so the table starts at 1,024 slots (4 KiB) when the
 * epoch's first tag arrives and doubles, at most 3/4 full, up to 2^20 slots (4 MiB) at the cap.
 * False negatives: none (a recorded fingerprint stays until its epoch is dropped). False positives: a
 * new tag whose fingerprint equals one of the n held in its epoch is taken as a replay, probability
 * n / 2^32 — 1.5 × 10^-5 at 65,536 tags, 1.8 × 10^-4 at the cap — and costs that one packet a
 * re-selected path. Memory: at most 2 × 4 MiB of tables, plus the share counters (at most 1,024
 * previous hops per epoch are counted by peer ID; later ones share one counter); a check costs a
 * few array reads.
 *
 * Restart (`snapshot()`, `from`): the node saves the cache when it stops cleanly and restores it when
 * it starts (src/node/onion-replay-store.ts), since its onion keys survive a restart and every packet
 * recorded before it would otherwise peel and go through once more. A snapshot holds what the verdicts
 * depend on — per live epoch its number, its fingerprints and its per-hop counters — and not the slot
 * multiplier: a restored cache draws its own and re-inserts the fingerprints (one probe each, 25–35 ms
 * per full epoch), so the multiplier never leaves memory and the snapshot does not depend on the
 * table's layout. A snapshot is input from disk: a restore checks everything a cache could not have
 * produced (see `from`) and throws a DecodeError (STATE_CORRUPT); the caller then starts empty.
 *
 * Journal (`unsaved()`, `recent()`, `markSaved()`, `add()`): between two snapshots the node appends
 * what was recorded since the last append, about once a second, so a crash loses at most that much
 * (src/node/onion-replay-store.ts). A 'new' verdict also appends its fingerprint to its set's list of
 * fresh ones (one array write); the per-hop increments are the difference between the counters and a
 * copy taken at the last `markSaved()` (at most 1,025 entries a second, nothing on the check path).
 * `add` is the restore's side: it puts a journal row's fingerprints and increments in, all or
 * nothing, and refuses (DecodeError, STATE_CORRUPT) a row no cache could have produced on top of
 * what it holds.
 *
 * This module knows nothing of the onion format or where tags come from (src/protocol/onion/), nor of
 * how a snapshot is stored (src/routing/replay-snapshot.ts encodes it).
 */
import { assertBytes, assertInteger } from '../lib/assert.ts';
import type { Rng } from '../lib/deps.ts';
import { DecodeError, ErrorCodes } from '../lib/errors.ts';

export const REPLAY_TAG_LENGTH = 16;
export const REPLAY_DEFAULTS = {
  /** 3/4 of 2^20 slots: the largest table is 4 MiB per epoch. */
  maxPerEpoch: 786_432,
  /** A previous hop records at most maxPerEpoch / hopShares tags per epoch. */
  hopShares: 8,
} as const;

/** Previous hops counted by peer ID per epoch; the rest share one counter (bounded memory). */
export const MAX_COUNTED_HOPS = 1_024;
/** The counter of the hops past the first MAX_COUNTED_HOPS of an epoch (no peer ID is empty). */
const OTHER_HOPS = '';
const MIN_BITS = 10;
/** The fresh list: its first size, and the size above which markSaved drops it (16 KiB: a flood of 8 peers × 200/s keeps one of 2,048). */
const FRESH_FIRST = 64;
const FRESH_KEEP = 4_096;
const NO_FRESH = new Uint32Array(0);

/** 'new': recorded; 'replay': seen in its epoch, or the epoch is retired; 'full': not seen, not recorded. */
export type ReplayVerdict = 'new' | 'replay' | 'full';

export interface ReplayCache {
  /** Looks `tag` up in `epoch`'s set, recording it when there is room for it and for `hop`'s share. */
  check(tag: Uint8Array, epoch: number, hop: string): ReplayVerdict;
  /** Tags held, both epochs together. */
  size(): number;
  /** Bytes of the fingerprint tables, both epochs together. */
  tableBytes(): number;
  /** What a cache restored from it (`from`) needs to give the same verdicts; copies, not views. */
  snapshot(): ReplaySnapshot;
  /** Tags recorded since the last `markSaved()` (or the start) in the live epochs. */
  unsaved(): number;
  /**
   * Those tags as a delta (copies): per live epoch that has any, current first, the fingerprints and
   * the counter increments per previous hop (which add up to them). `add` on a cache holding what was
   * saved before gives the same verdicts as this one.
   */
  recent(): ReplaySnapshot;
  /** Everything held is now saved: the next `recent()` starts from here. */
  markSaved(): void;
  /**
   * Puts in a delta from `recent()` (a journal row), all of its epochs or none: an epoch later than
   * the cache's moves it there as `check` would, one no longer live is skipped. Returns the tags
   * added. Refused (DecodeError, STATE_CORRUPT) when no cache could have produced it on top of this
   * one: two states for one epoch, a zero fingerprint, one held already or twice, increments below 1
   * or not adding up to the fingerprints, more tags or counted hops than a set holds. What it adds
   * counts as saved (it came from the store).
   */
  add(delta: ReplaySnapshot): number;
}

/** One epoch's set as a snapshot holds it. */
export interface ReplayEpochState {
  readonly epoch: number;
  /** Its tags' fingerprints (never 0, each once), in no particular order. */
  readonly fingerprints: Uint32Array;
  /** Tags recorded per previous hop (OTHER_HOPS: the hops past the first 1,024); they add up to the fingerprints. */
  readonly hops: ReadonlyMap<string, number>;
}

export interface ReplaySnapshot {
  /** The cache's current epoch first, then the previous one when it holds tags; none before the first check. */
  readonly epochs: readonly ReplayEpochState[];
}

export interface ReplayCacheOptions {
  /** Draws the slot multiplier (secret from whoever sends packets). */
  readonly rng: Rng;
  readonly maxPerEpoch?: number;
  readonly hopShares?: number;
  /**
   * Starts from this snapshot instead of empty. Refused (DecodeError, STATE_CORRUPT) when no cache of
   * these options could have produced it: more than two epochs, not consecutive (current first), an
   * epoch holding more than `maxPerEpoch` tags, a zero or repeated fingerprint, more than 1,025 hop
   * counters, a counter below 1, counters that do not add up to the fingerprints. Counters above a
   * hop's share are kept (the share changed with the options: that hop is full).
   */
  readonly from?: ReplaySnapshot;
}

const corrupt = (what: string): DecodeError => new DecodeError(ErrorCodes.STATE_CORRUPT, `replay snapshot: ${what}`);

interface TagSet {
  table: Uint32Array | undefined;
  bits: number;
  count: number;
  readonly hops: Map<string, number>;
  /** Fingerprints recorded since the last markSaved, in `fresh[0..freshCount)` (grown by doubling). */
  fresh: Uint32Array;
  freshCount: number;
  /** `hops` as of the last markSaved (what the store holds). */
  savedHops: Map<string, number>;
}

function fingerprintOf(tag: Uint8Array): number {
  const fp = (((tag[0] as number) << 24) | ((tag[1] as number) << 16) | ((tag[2] as number) << 8) | (tag[3] as number)) >>> 0;
  return fp === 0 ? 1 : fp;
}

export function createReplayCache(opts: ReplayCacheOptions): ReplayCache {
  const max = opts.maxPerEpoch ?? REPLAY_DEFAULTS.maxPerEpoch;
  assertInteger(max, 'maxPerEpoch', 1, 1 << 24);
  const shares = opts.hopShares ?? REPLAY_DEFAULTS.hopShares;
  assertInteger(shares, 'hopShares', 1, max);
  const perHop = Math.ceil(max / shares);
  // The fewest slots that hold `max` tags at most 3/4 full.
  const maxBits = Math.max(1, Math.ceil(Math.log2((max * 4) / 3)));
  const m = opts.rng.bytes(4);
  const multiplier = (((m[0] as number) << 24) | ((m[1] as number) << 16) | ((m[2] as number) << 8) | (m[3] as number) | 1) >>> 0;
  const slotOf = (fp: number, bits: number): number => Math.imul(fp, multiplier) >>> (32 - bits);

  const emptySet = (): TagSet => ({
    table: undefined,
    bits: Math.min(MIN_BITS, maxBits),
    count: 0,
    hops: new Map(),
    fresh: NO_FRESH,
    freshCount: 0,
    savedHops: new Map(),
  });
  let epochNow = -1;
  let current = emptySet();
  let previous = emptySet();

  const rotateTo = (epoch: number): void => {
    previous = epoch === epochNow + 1 ? current : emptySet();
    current = emptySet();
    epochNow = epoch;
  };

  /** Puts `fp` in the first empty slot from its own (the caller knows it is not there). */
  const place = (table: Uint32Array, bits: number, fp: number): void => {
    const mask = table.length - 1;
    let i = slotOf(fp, bits);
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = fp;
  };

  const grow = (set: TagSet, old: Uint32Array): Uint32Array => {
    const bits = set.bits + 1;
    const table = new Uint32Array(1 << bits);
    for (const fp of old) if (fp !== 0) place(table, bits, fp);
    set.bits = bits;
    set.table = table;
    return table;
  };

  const stateOf = (set: TagSet, epoch: number): ReplayEpochState => {
    // A plain loop into an array of the known size: `filter` with a callback took ~50 ms a full epoch.
    const fingerprints = new Uint32Array(set.count);
    let n = 0;
    for (const fp of set.table ?? []) if (fp !== 0) fingerprints[n++] = fp;
    return { epoch, fingerprints, hops: new Map(set.hops) };
  };

  /** The set `s` describes, in the table the cache would have grown to for it (see `from`). */
  const restoreSet = (s: ReplayEpochState): TagSet => {
    const set = emptySet();
    const fps = s.fingerprints;
    if (!(fps instanceof Uint32Array)) throw corrupt('fingerprints: expected a Uint32Array');
    if (fps.length > max) throw corrupt(`epoch ${s.epoch}: ${fps.length} tags, more than the ${max} a set holds`);
    if (fps.length > 0) {
      while (fps.length * 4 > (1 << set.bits) * 3) set.bits++;
      const table = (set.table = new Uint32Array(1 << set.bits));
      const mask = table.length - 1;
      for (const fp of fps) {
        if (fp === 0) throw corrupt('a zero fingerprint');
        let i = slotOf(fp, set.bits);
        for (; table[i] !== 0; i = (i + 1) & mask) if (table[i] === fp) throw corrupt('a fingerprint held twice');
        table[i] = fp;
      }
      set.count = fps.length;
    }
    if (!(s.hops instanceof Map) || s.hops.size > MAX_COUNTED_HOPS + 1) throw corrupt(`at most ${MAX_COUNTED_HOPS + 1} hop counters`);
    let sum = 0;
    for (const [hop, n] of s.hops as ReadonlyMap<unknown, unknown>) {
      if (typeof hop !== 'string' || typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw corrupt('a hop counter below 1');
      sum += n;
      set.hops.set(hop, n);
    }
    if (sum !== set.count) throw corrupt(`hop counters add up to ${sum}, the epoch holds ${set.count} tags`);
    set.savedHops = new Map(set.hops);
    return set;
  };

  /** Throws unless `s` (a journal row's epoch) can go on top of `set`; returns its fingerprints. */
  const checkDelta = (set: TagSet, s: ReplayEpochState): Uint32Array => {
    const fps = s.fingerprints;
    if (!(fps instanceof Uint32Array)) throw corrupt('fingerprints: expected a Uint32Array');
    if (set.count + fps.length > max) throw corrupt(`epoch ${s.epoch}: more than the ${max} tags a set holds`);
    // Sorted copy: a tag twice in the row is two neighbours (the table cannot tell before inserting).
    const sorted = fps.slice().sort();
    for (let j = 0; j < sorted.length; j++) {
      const fp = sorted[j] as number;
      if (fp === 0) throw corrupt('a zero fingerprint');
      if (j > 0 && sorted[j - 1] === fp) throw corrupt('a fingerprint held twice');
      const table = set.table;
      if (table === undefined) continue;
      const mask = table.length - 1;
      for (let i = slotOf(fp, set.bits); table[i] !== 0; i = (i + 1) & mask) if (table[i] === fp) throw corrupt('a fingerprint held twice');
    }
    if (!(s.hops instanceof Map)) throw corrupt('hop counters: expected a Map');
    let sum = 0;
    let added = 0;
    for (const [hop, n] of s.hops as ReadonlyMap<unknown, unknown>) {
      if (typeof hop !== 'string' || typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw corrupt('a hop counter below 1');
      sum += n;
      if (!set.hops.has(hop)) added++;
    }
    if (sum !== fps.length) throw corrupt(`hop increments add up to ${sum}, the row holds ${fps.length} tags`);
    if (set.hops.size + added > MAX_COUNTED_HOPS + 1) throw corrupt(`at most ${MAX_COUNTED_HOPS + 1} hop counters`);
    return fps;
  };

  const addDelta = (set: TagSet, s: ReplayEpochState): void => {
    if (s.fingerprints.length === 0) return; // and no increments: they add up to the fingerprints
    let table = set.table;
    const need = set.count + s.fingerprints.length;
    if (table === undefined || need * 4 > table.length * 3) {
      let bits = set.bits;
      while (need * 4 > (1 << bits) * 3 && bits < maxBits) bits++;
      const grown = new Uint32Array(1 << bits);
      if (table !== undefined) for (const fp of table) if (fp !== 0) place(grown, bits, fp);
      set.bits = bits;
      table = set.table = grown;
    }
    for (const fp of s.fingerprints) place(table, set.bits, fp);
    set.count = need;
    for (const [hop, n] of s.hops) {
      set.hops.set(hop, (set.hops.get(hop) ?? 0) + n);
      set.savedHops.set(hop, (set.savedHops.get(hop) ?? 0) + n);
    }
  };

  const recentOf = (set: TagSet, epoch: number): ReplayEpochState => {
    const hops = new Map<string, number>();
    for (const [hop, n] of set.hops) {
      const d = n - (set.savedHops.get(hop) ?? 0);
      if (d > 0) hops.set(hop, d);
    }
    return { epoch, fingerprints: set.fresh.slice(0, set.freshCount), hops };
  };

  const markSetSaved = (set: TagSet): void => {
    set.freshCount = 0;
    // The list shrinks back: after a flood it would otherwise hold its largest size for the epoch.
    if (set.fresh.length > FRESH_KEEP) set.fresh = NO_FRESH;
    set.savedHops = new Map(set.hops);
  };

  if (opts.from !== undefined) {
    const epochs = opts.from.epochs;
    if (!Array.isArray(epochs) || epochs.length > 2) throw corrupt('at most two epochs');
    const [cur, prev] = epochs as readonly (ReplayEpochState | undefined)[];
    if (cur !== undefined) {
      if (!Number.isSafeInteger(cur.epoch) || cur.epoch < 0) throw corrupt('an epoch out of range');
      if (prev !== undefined && (prev.epoch !== cur.epoch - 1 || prev.epoch < 0)) throw corrupt('the epochs are not the current one then the one before');
      current = restoreSet(cur);
      if (prev !== undefined) previous = restoreSet(prev);
      epochNow = cur.epoch;
    }
  }

  return {
    check(tag, epoch, hop) {
      assertBytes(tag, 'tag', REPLAY_TAG_LENGTH);
      assertInteger(epoch, 'epoch', 0, Number.MAX_SAFE_INTEGER);
      if (epoch > epochNow) rotateTo(epoch);
      let set: TagSet;
      if (epoch === epochNow) set = current;
      else if (epoch === epochNow - 1) set = previous;
      else return 'replay';
      const fp = fingerprintOf(tag);
      let table = set.table;
      if (table !== undefined) {
        const mask = table.length - 1;
        for (let i = slotOf(fp, set.bits); table[i] !== 0; i = (i + 1) & mask) if (table[i] === fp) return 'replay';
      }
      if (set.count >= max) return 'full';
      const counted = set.hops.has(hop) || set.hops.size < MAX_COUNTED_HOPS ? hop : OTHER_HOPS;
      const used = set.hops.get(counted) ?? 0;
      if (used >= perHop) return 'full';
      if (table === undefined) table = set.table = new Uint32Array(1 << set.bits);
      else if ((set.count + 1) * 4 > table.length * 3 && set.bits < maxBits) table = grow(set, table);
      place(table, set.bits, fp);
      set.count++;
      set.hops.set(counted, used + 1);
      if (set.freshCount === set.fresh.length) {
        const more = new Uint32Array(Math.max(FRESH_FIRST, set.fresh.length * 2));
        more.set(set.fresh);
        set.fresh = more;
      }
      set.fresh[set.freshCount++] = fp;
      return 'new';
    },
    size: () => current.count + previous.count,
    tableBytes: () => (current.table?.byteLength ?? 0) + (previous.table?.byteLength ?? 0),
    snapshot() {
      if (epochNow < 0) return { epochs: [] };
      const epochs = [stateOf(current, epochNow)];
      if (previous.count > 0) epochs.push(stateOf(previous, epochNow - 1));
      return { epochs };
    },
    unsaved: () => current.freshCount + previous.freshCount,
    recent() {
      const epochs: ReplayEpochState[] = [];
      if (current.freshCount > 0) epochs.push(recentOf(current, epochNow));
      if (previous.freshCount > 0) epochs.push(recentOf(previous, epochNow - 1));
      return { epochs };
    },
    markSaved() {
      markSetSaved(current);
      markSetSaved(previous);
    },
    add(delta) {
      const states = delta.epochs;
      if (!Array.isArray(states) || states.length > 2) throw corrupt('at most two epochs');
      let top = epochNow;
      for (const st of states as readonly ReplayEpochState[]) {
        if (!Number.isSafeInteger(st.epoch) || st.epoch < 0) throw corrupt('an epoch out of range');
        top = Math.max(top, st.epoch);
      }
      if (states.length === 2 && (states[0] as ReplayEpochState).epoch === (states[1] as ReplayEpochState).epoch) throw corrupt('an epoch twice');
      // Checked against the sets they will land in once the cache is at `top` (all before any is added).
      const fresh = emptySet();
      const plan: [ReplayEpochState, TagSet][] = [];
      for (const st of states as readonly ReplayEpochState[]) {
        if (st.epoch < top - 1) continue;
        const target = st.epoch > epochNow ? fresh : st.epoch === epochNow ? current : st.epoch === epochNow - 1 ? previous : undefined;
        if (target === undefined) continue;
        checkDelta(target, st);
        plan.push([st, target]);
      }
      if (top > epochNow) rotateTo(top);
      let n = 0;
      for (const [st] of plan) {
        addDelta(st.epoch === epochNow ? current : previous, st);
        n += st.fingerprints.length;
      }
      return n;
    },
  };
}
