/**
 * Peer-table policy, pure: which IP prefix a peer's addresses sit in, how a reachability score moves
 * with outcomes, how many peers one prefix / one announcing source / the whole table may hold, who a
 * newcomer may replace, and when a peer is stale. The store (src/store/peers.ts) applies it and
 * persists; the simulator can use it as is.
 *
 * Prefixes: IPv4 /16 ('ip4:a.b'), IPv6 /48 ('ip6:xxxx:xxxx:xxxx'), private ranges tagged 'lan:…'
 * (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, fe80::/10), 'loopback' (127/8, ::1), 'memory'
 * (in-process transport), 'dns:<name>' for names, 'none' without addresses. The first non-loopback
 * IP address decides (addresses are self-announced: the source cap is what bounds a liar).
 *
 * Score: an exponentially weighted moving average of successes (1) and failures (0).
 * Caps (defaults): 8 per public prefix, 64 per LAN prefix, none on loopback / memory; 32 per gossip
 * source, 128 from the DHT, 64 from mDNS, none for bootstrap / direct; 2,000 in the table; and the
 * unverified entries (learned from gossip, never reached: src/store/peers.ts isUnverified) at most
 * 20 % of the table — a quarter of the other entries — but always 8 (docs/networking.md "Unverified
 * entries": the per-prefix caps alone let 16 attacker /16s take 128 places, half of a young table).
 * A newcomer to a full group replaces the group's worst entry only when that entry's score is
 * strictly below the newcomer's (initial) score; otherwise it is refused.
 *
 * This module knows nothing of storage, libp2p or multiaddr parsing beyond reading the IP component.
 */
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import { byWorst, isUnverified, type Admission, type AdmissionView, type PeerCaps, type PeerPolicy, type PeerRecord, type PeerSource, type RefusalReason } from '../store/peers.ts';

export interface PeerPolicyOptions {
  readonly initialScore?: number;
  /** EWMA weight of the newest outcome, in (0, 1]. */
  readonly alpha?: number;
  /** prune(): below this score a peer is dropped. */
  readonly scoreFloor?: number;
  /** prune(): not seen for this long (ms), a peer is dropped. */
  readonly maxAgeMs?: number;
  readonly maxPerPrefix?: number;
  readonly maxPerLanPrefix?: number;
  readonly maxPerGossipSource?: number;
  readonly maxFromDht?: number;
  readonly maxFromMdns?: number;
  readonly maxPeers?: number;
  /** Unverified entries (gossip-learned, never reached) may be at most this share of the table, in [0, 1). */
  readonly maxUnverifiedShare?: number;
  /** ... but the table may always hold this many, so a node that knows few peers can still learn from gossip. */
  readonly minUnverified?: number;
}

export const PEER_POLICY_DEFAULTS: Required<PeerPolicyOptions> = {
  initialScore: 0.5,
  alpha: 0.25,
  scoreFloor: 0.1,
  maxAgeMs: 24 * 3600_000,
  maxPerPrefix: 8,
  maxPerLanPrefix: 64,
  maxPerGossipSource: 32,
  maxFromDht: 128,
  maxFromMdns: 64,
  maxPeers: 2000,
  maxUnverifiedShare: 0.2,
  minUnverified: 8,
};

/** Expands an IPv6 text address into 8 numbers; undefined when it is not one. */
export function parseIpv6(text: string): number[] | undefined {
  const s = text.split('%')[0] ?? '';
  let tail: number[] = [];
  let body = s;
  // Bounded groups after a ':' or the start: `\d+\.` unanchored backtracked quadratically on long digit runs.
  const v4 = /(?:^|:)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(s);
  if (v4) {
    const b = parseIpv4(v4[1] ?? '');
    if (!b) return undefined;
    tail = [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
    body = s.slice(0, s.length - (v4[1] ?? '').length).replace(/:$/, '') || ':';
    if (body === ':') body = '::';
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0] ?? '');
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (!head || !rest) return undefined;
  const given = head.length + rest.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
  return [...head, ...new Array<number>(8 - given).fill(0), ...rest, ...tail];
}

export function parseIpv4(text: string): [number, number, number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const b = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
  return b.every((x) => x <= 255) ? b : undefined;
}

function ipv4Prefix([a, b]: readonly number[]): string {
  if (a === 127) return 'loopback';
  const lan = a === 10 || (a === 172 && (b ?? 0) >= 16 && (b ?? 0) < 32) || (a === 192 && b === 168) || (a === 100 && (b ?? 0) >= 64 && (b ?? 0) < 128);
  return `${lan ? 'lan' : 'ip4'}:${a}.${b}`;
}

/** The prefix of one multiaddr string, or undefined when it names no IP, DNS name or memory address. */
export function addressPrefix(addr: string): string | undefined {
  const parts = addr.split('/');
  for (let i = 1; i + 1 < parts.length; i++) {
    const proto = parts[i];
    const value = parts[i + 1] ?? '';
    if (proto === 'ip4') {
      const b = parseIpv4(value);
      return b ? ipv4Prefix(b) : undefined;
    }
    if (proto === 'ip6') {
      const g = parseIpv6(value);
      if (!g) return undefined;
      if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
      if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return ipv4Prefix([(g[6] ?? 0) >> 8, (g[6] ?? 0) & 0xff]);
      const hex = g.slice(0, 3).map((x) => x.toString(16)).join(':');
      const first = g[0] ?? 0;
      const lan = (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80;
      return `${lan ? 'lan6' : 'ip6'}:${hex}`;
    }
    if (proto === 'dns' || proto === 'dns4' || proto === 'dns6' || proto === 'dnsaddr') return `dns:${value.toLowerCase()}`;
    if (proto === 'memory') return 'memory';
  }
  return undefined;
}

/** The prefix of a peer: its first non-loopback address that has one, else loopback, else 'none'. */
export function prefixOf(addresses: readonly string[]): string {
  let fallback: string | undefined;
  for (const a of addresses) {
    const p = addressPrefix(a);
    if (p === undefined) continue;
    if (p !== 'loopback' && p !== 'memory') return p;
    fallback ??= p;
  }
  return fallback ?? 'none';
}

/**
 * How many unverified entries a table may hold next to `others` entries that are not: at most `share`
 * of the whole (u ≤ share · (u + others), i.e. u ≤ others · share / (1 − share)), and never fewer than `min`.
 */
export function unverifiedCap(others: number, share: number, min: number): number {
  return Math.max(min, Math.floor((others * share) / (1 - share) + 1e-9));
}

/** The cap decision, pure: one eviction per full group, each strictly worse than the candidate. */
export function decideAdmission(view: AdmissionView): Admission {
  const evict = new Set<string>();
  const evictedUnverified = new Set<string>();
  const { candidate, caps } = view;
  const unverifiedLeft = (): number => view.unverified - evictedUnverified.size;
  const groups: { members: readonly PeerRecord[]; size: () => number; cap: () => number; reason: RefusalReason }[] = [
    { members: view.samePrefix, size: () => view.samePrefix.filter((p) => !evict.has(p.peerId)).length, cap: () => caps.perPrefix, reason: 'prefix-full' },
    { members: view.sameSource, size: () => view.sameSource.filter((p) => !evict.has(p.peerId)).length, cap: () => caps.perSource, reason: 'source-full' },
    ...(candidate.unverified
      ? [{
        members: view.worstUnverified,
        size: unverifiedLeft,
        // The cap moves with the entries that are not unverified (evictions above may have removed some).
        cap: () => unverifiedCap(view.total - evict.size - unverifiedLeft(), caps.unverifiedShare, caps.minUnverified),
        reason: 'unverified-full' as const,
      }]
      : []),
    { members: view.worst, size: () => view.total - evict.size, cap: () => caps.total, reason: 'table-full' },
  ];
  for (const g of groups) {
    if (g.size() < g.cap()) continue;
    const victim = [...g.members].filter((p) => !evict.has(p.peerId)).sort(byWorst)[0];
    if (victim === undefined || !(victim.score < candidate.score)) return { admit: false, reason: g.reason };
    evict.add(victim.peerId);
    if (isUnverified(victim)) evictedUnverified.add(victim.peerId);
  }
  return { admit: true, evict: [...evict] };
}

export function ewma(score: number, ok: boolean, alpha: number): number {
  return score + alpha * ((ok ? 1 : 0) - score);
}

export function createPeerPolicy(options: PeerPolicyOptions = {}): PeerPolicy {
  const o = { ...PEER_POLICY_DEFAULTS, ...options };
  if (!(o.maxUnverifiedShare >= 0 && o.maxUnverifiedShare < 1) || !(o.minUnverified >= 0)) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'peer policy: maxUnverifiedShare must be in [0, 1) and minUnverified ≥ 0');
  }
  const sourceCap = (source: PeerSource): number => {
    if (source.startsWith('gossip:')) return o.maxPerGossipSource;
    if (source === 'dht') return o.maxFromDht;
    if (source === 'mdns') return o.maxFromMdns;
    return Infinity;
  };
  const prefixCap = (prefix: string): number => {
    if (prefix === 'loopback' || prefix === 'memory') return Infinity;
    if (prefix.startsWith('lan')) return o.maxPerLanPrefix;
    return o.maxPerPrefix;
  };
  return {
    initialScore: o.initialScore,
    prefixOf,
    caps: (prefix, source): PeerCaps => ({
      perPrefix: prefixCap(prefix), perSource: sourceCap(source), total: o.maxPeers, unverifiedShare: o.maxUnverifiedShare, minUnverified: o.minUnverified,
    }),
    admit: decideAdmission,
    scoreAfter: (score, ok) => ewma(score, ok, o.alpha),
    isStale: (peer, now) => now - peer.lastSeen > o.maxAgeMs || peer.score < o.scoreFloor,
  };
}
