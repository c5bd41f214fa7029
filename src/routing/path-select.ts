/**
 * Onion path selection (DESIGN.md "Routing and delivery": "N relays (default 3, chosen for
 * diversity)"; "Security notes": "prefix diversity in the peer table and in path choice"). Picks
 * `hops` distinct relays from the peer table's candidates, first hop first:
 *
 * 1. Never an excluded peer (self, the recipient) and each peer ID once.
 * 2. Prefix diversity first: every hop goes to an IP prefix used least so far on this path, so no two
 *    hops share a prefix while another prefix is still available; only when there are fewer prefixes
 *    than hops do hops share one (loopback and LAN test networks have a single prefix).
 * 3. Prefix, then peer: a prefix is drawn with weight = the best weight among its candidates, then a
 *    peer within it by weight. Drawing prefixes (not peers) keeps a prefix full of Sybils no likelier
 *    than a prefix with one honest relay of the same score.
 * 4. Weighted random, not best-first: weight = 0.05 + score (score clamped to [0, 1]), so a relay
 *    with score 1 is ~7x likelier than one with 0.1 but never certain; a predictable path is one an
 *    attacker can position relays on.
 * 5. Penalized peers (failed recently on a path) are treated as absent, and used only when the others
 *    cannot fill the path — then under the same diversity rule against the hops already chosen.
 *
 * Fewer usable candidates than hops → every usable candidate, in a random order; the caller decides
 * whether a shorter path will do. Randomness only from the injected Rng.
 *
 * This module knows nothing of the onion format, the peer table's storage or how scores move.
 */
import { assertInteger } from '../lib/assert.ts';
import type { Rng } from '../lib/deps.ts';

export interface RelayCandidate {
  readonly peerId: string;
  readonly prefix: string;
  readonly score: number;
  readonly routingKey: Uint8Array;
  readonly addresses: readonly string[];
}

export interface PathOptions {
  readonly hops: number;
  /** Never chosen: self, the recipient, and whoever else the caller rules out. */
  readonly exclude: ReadonlySet<string>;
  readonly rng: Rng;
  /** Chosen only when the other candidates cannot fill the path. */
  readonly penalized?: ReadonlySet<string>;
}

export const MAX_PATH_HOPS = 16;
/** Weight floor: a zero-score relay is unlikely, not impossible. */
export const MIN_WEIGHT = 0.05;

export function relayWeight(score: number): number {
  const s = Number.isFinite(score) ? Math.min(1, Math.max(0, score)) : 0;
  return MIN_WEIGHT + s;
}

/** Uniform in [0, 1) from 48 random bits. */
function uniform(rng: Rng): number {
  const b = rng.bytes(6);
  let v = 0;
  for (const x of b) v = v * 256 + x;
  return v / 2 ** 48;
}

/** Index drawn with probability proportional to weights[i] (all > 0, at least one). */
function drawIndex(weights: readonly number[], rng: Rng): number {
  let total = 0;
  for (const w of weights) total += w;
  let u = uniform(rng) * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i] as number;
    if (u < 0) return i;
  }
  return weights.length - 1;
}

/** Number of distinct prefixes on a path. */
export function pathDiversity(path: readonly { readonly prefix: string }[]): number {
  return new Set(path.map((p) => p.prefix)).size;
}

/** Adds to `path` from `pool` until it holds `hops` relays or the pool is used up. */
function fill(path: RelayCandidate[], pool: readonly RelayCandidate[], hops: number, used: Map<string, number>, rng: Rng): void {
  const byPrefix = new Map<string, RelayCandidate[]>();
  for (const c of pool) {
    const group = byPrefix.get(c.prefix);
    if (group === undefined) byPrefix.set(c.prefix, [c]);
    else group.push(c);
  }
  while (path.length < hops && byPrefix.size > 0) {
    let least = Infinity;
    for (const p of byPrefix.keys()) least = Math.min(least, used.get(p) ?? 0);
    const prefixes = [...byPrefix.entries()].filter(([p]) => (used.get(p) ?? 0) === least);
    const best = prefixes.map(([, members]) => members.reduce((w, c) => Math.max(w, relayWeight(c.score)), 0));
    const [prefix, members] = prefixes[drawIndex(best, rng)] as [string, RelayCandidate[]];
    const i = drawIndex(members.map((c) => relayWeight(c.score)), rng);
    path.push(members[i] as RelayCandidate);
    used.set(prefix, least + 1);
    members.splice(i, 1);
    if (members.length === 0) byPrefix.delete(prefix);
  }
}

export function selectPath(candidates: readonly RelayCandidate[], opts: PathOptions): RelayCandidate[] {
  assertInteger(opts.hops, 'hops', 0, MAX_PATH_HOPS);
  const penalized = opts.penalized ?? new Set<string>();
  const seen = new Set<string>();
  const fresh: RelayCandidate[] = [];
  const failed: RelayCandidate[] = [];
  for (const c of candidates) {
    if (opts.exclude.has(c.peerId) || seen.has(c.peerId)) continue;
    seen.add(c.peerId);
    (penalized.has(c.peerId) ? failed : fresh).push(c);
  }
  const path: RelayCandidate[] = [];
  const used = new Map<string, number>();
  fill(path, fresh, opts.hops, used, opts.rng);
  fill(path, failed, opts.hops, used, opts.rng);
  return path;
}
