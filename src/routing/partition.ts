/**
 * The partition detector (DESIGN.md "Routing and delivery": "reachability of known peers, DHT success
 * rate and ack latency drive a state (online / degraded / local-only)"). The node reports what it
 * measures as observations; the detector keeps the recent ones and says which state the network is
 * in, why, and since when. The node queues non-LAN traffic while `local-only` and flushes on heal.
 *
 * Rules, over the observations of the last `windowMs` (default 60 s); docs/delivery-state.md:
 *   local-only  no remote (non-LAN) peer reached in the window and no remote connection open, while
 *               remote attempts failed or the last connection count said 0 remote (LAN may still work).
 *   degraded    remote peers reachable, but one of: DHT queries mostly failing (success < 50 %), acks
 *               mostly timing out (> 50 % of ack outcomes), acks slow (median > `slowAckMs`, 10 s),
 *               remote dials mostly failing (> 50 %) — each only with ≥ `minSamples` (2) outcomes.
 *   online      otherwise (also with no evidence at all: silence is not a failure).
 * Hysteresis: the state changes only after `confirm` (3) consecutive observations all contradict it;
 * the new state is what the last of them says. One odd sample never flips it, and only observations
 * move it (assess() reads). `since` is the clock time of the last change.
 * Memory: a ring of the last `maxSamples` (1,024) observations plus the latest connection counts; their
 * counts are kept as samples enter and leave (partition-window.ts).
 * Reasons carry counts only: never peer IDs, addresses or message data.
 *
 * This module knows nothing of libp2p, timers or queues; time comes from the injected Clock.
 */
import { assertInteger } from '../lib/assert.ts';
import type { Clock } from '../lib/deps.ts';
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import { parseIpv4, parseIpv6 } from './peer-policy.ts';
import { createObservationWindow } from './partition-window.ts';

export type NetworkState = 'online' | 'degraded' | 'local-only';

export type Observation =
  | { readonly type: 'reach'; readonly peerId: string; readonly local: boolean; readonly ok: boolean }
  | { readonly type: 'dht'; readonly ok: boolean }
  | { readonly type: 'ack'; readonly latencyMs: number }
  | { readonly type: 'ack-timeout' }
  | { readonly type: 'connected'; readonly local: number; readonly remote: number };

export interface Assessment {
  readonly state: NetworkState;
  readonly reason: string;
  readonly since: number;
}

export interface PartitionOptions {
  readonly clock: Clock;
  readonly windowMs?: number;
  /** Consecutive contradicting observations needed to change state. */
  readonly confirm?: number;
  readonly maxSamples?: number;
  /** Median ack latency above this is slow. */
  readonly slowAckMs?: number;
  /** A ratio rule needs at least this many outcomes in the window. */
  readonly minSamples?: number;
  readonly initial?: NetworkState;
}

export interface PartitionDetector {
  observe(o: Observation): void;
  assess(): Assessment;
  /** Called after each state change; returns the unsubscribe function. */
  onChange(cb: (a: Assessment, previous: NetworkState) => void): () => void;
}

export const PARTITION_DEFAULTS = {
  windowMs: 60_000,
  confirm: 3,
  maxSamples: 1024,
  slowAckMs: 10_000,
  minSamples: 2,
  initial: 'online',
} as const;

/** What the window holds, in counts. */
export interface WindowStats {
  /** Distinct remote peers reached. */
  readonly remotePeers: number;
  readonly remoteOk: number;
  readonly remoteFail: number;
  readonly lanOk: number;
  readonly lanFail: number;
  readonly dhtOk: number;
  readonly dhtFail: number;
  readonly acks: number;
  readonly ackTimeouts: number;
  /** Median ack latency in ms; undefined without acks. */
  readonly ackMedianMs: number | undefined;
  /** The latest connection counts, whenever reported; undefined if never. */
  readonly connected: { readonly local: number; readonly remote: number } | undefined;
}

/** The rules of the module header, without hysteresis: the state the window alone points to. */
export function classify(s: WindowStats, o: { windowMs: number; slowAckMs: number; minSamples: number }): { state: NetworkState; reason: string } {
  const secs = Math.round(o.windowMs / 1000);
  const remoteConnected = s.connected?.remote ?? 0;
  const conn = s.connected === undefined ? 'connections not reported' : `${s.connected.remote} remote / ${s.connected.local} LAN connections`;
  const remoteTried = s.remoteOk + s.remoteFail;
  if (s.remoteOk === 0 && remoteConnected === 0 && (s.remoteFail > 0 || s.connected !== undefined)) {
    return {
      state: 'local-only',
      reason: `no remote peer reached in the last ${secs} s (${s.remoteFail} remote attempts failed, ${conn}); ${s.lanOk} of ${s.lanOk + s.lanFail} LAN attempts ok`,
    };
  }
  const problems: string[] = [];
  const dhtTried = s.dhtOk + s.dhtFail;
  if (dhtTried >= o.minSamples && s.dhtOk * 2 < dhtTried) problems.push(`DHT queries failing (${s.dhtFail} of ${dhtTried})`);
  const ackOutcomes = s.acks + s.ackTimeouts;
  if (ackOutcomes >= o.minSamples && s.ackTimeouts * 2 > ackOutcomes) problems.push(`acks timing out (${s.ackTimeouts} of ${ackOutcomes})`);
  if (s.acks >= o.minSamples && s.ackMedianMs !== undefined && s.ackMedianMs > o.slowAckMs) problems.push(`acks slow (median ${Math.round(s.ackMedianMs)} ms > ${o.slowAckMs} ms)`);
  if (remoteTried >= o.minSamples && s.remoteFail * 2 > remoteTried) problems.push(`remote dials failing (${s.remoteFail} of ${remoteTried})`);
  if (problems.length > 0) {
    return { state: 'degraded', reason: `remote peers reachable (${s.remotePeers} reached, ${conn}) but ${problems.join(', ')} in the last ${secs} s` };
  }
  const ack = s.ackMedianMs === undefined ? 'no acks' : `${s.acks} acks, median ${Math.round(s.ackMedianMs)} ms`;
  return {
    state: 'online',
    reason: `${s.remoteOk} of ${remoteTried} remote attempts ok (${s.remotePeers} peers), ${conn}, DHT ${s.dhtOk} of ${dhtTried} ok, ${ack}, ${s.ackTimeouts} ack timeouts in the last ${secs} s`,
  };
}

function checkObservation(o: Observation): void {
  if (o.type === 'ack' && !(Number.isFinite(o.latencyMs) && o.latencyMs >= 0)) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `ack latency: expected a finite number ≥ 0, got ${o.latencyMs}`);
  }
  if (o.type === 'connected') {
    assertInteger(o.local, 'connected.local', 0, Number.MAX_SAFE_INTEGER);
    assertInteger(o.remote, 'connected.remote', 0, Number.MAX_SAFE_INTEGER);
  }
}

export function createPartitionDetector(opts: PartitionOptions): PartitionDetector {
  const o = { ...PARTITION_DEFAULTS, ...opts };
  assertInteger(o.windowMs, 'windowMs', 1, Number.MAX_SAFE_INTEGER);
  assertInteger(o.confirm, 'confirm', 1, 1000);
  assertInteger(o.maxSamples, 'maxSamples', 1, 1 << 20);
  assertInteger(o.minSamples, 'minSamples', 1, 1 << 20);
  const window = createObservationWindow(o.windowMs, o.maxSamples);
  let connected: { local: number; remote: number } | undefined;
  let current: Assessment = { state: o.initial, reason: 'no observations yet', since: o.clock() };
  let contradictions = 0;
  const listeners = new Set<(a: Assessment, previous: NetworkState) => void>();

  return {
    observe(obs) {
      checkObservation(obs);
      const now = o.clock();
      if (obs.type === 'connected') connected = { local: obs.local, remote: obs.remote };
      else window.add(obs, now);
      const raw = classify(window.stats(now, connected), o);
      if (raw.state === current.state) {
        contradictions = 0;
        current = { ...current, reason: raw.reason };
        return;
      }
      if (++contradictions < o.confirm) return;
      const previous = current.state;
      current = { state: raw.state, reason: raw.reason, since: now };
      contradictions = 0;
      for (const cb of [...listeners]) cb(current, previous);
    },
    assess: () => current,
    onChange(cb) {
      listeners.add(cb);
      return () => void listeners.delete(cb);
    },
  };
}

function isLocalIpv4([a, b]: readonly number[]): boolean {
  return a === 127 || a === 10 || a === 0 || (a === 172 && (b ?? 0) >= 16 && (b ?? 0) < 32) || (a === 192 && b === 168) || (a === 169 && b === 254);
}

/**
 * Whether a multiaddr names a local-network endpoint: loopback (127/8, ::1), unspecified (0/8, ::),
 * RFC 1918 (10/8, 172.16/12, 192.168/16), link-local (169.254/16, fe80::/10), ULA (fc00::/7),
 * IPv4-mapped forms of those, localhost / *.local names, /memory and /unix. The first address
 * component decides (for a relayed address, the relay's). CGNAT space (100.64/10) is not local: it
 * spans a carrier's customers. Unparseable text is not local.
 */
export function isLocalAddress(multiaddr: string): boolean {
  const parts = multiaddr.split('/');
  for (let i = 1; i < parts.length; i++) {
    const proto = parts[i];
    const value = parts[i + 1] ?? '';
    if (proto === 'memory' || proto === 'unix') return true;
    if (proto === 'ip4') {
      const b = parseIpv4(value);
      return b !== undefined && isLocalIpv4(b);
    }
    if (proto === 'ip6') {
      const g = parseIpv6(value);
      if (g === undefined) return false;
      const first = g[0] ?? 0;
      if (g.slice(0, 7).every((x) => x === 0) && ((g[7] ?? 0) <= 1)) return true;
      if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return isLocalIpv4([(g[6] ?? 0) >> 8, (g[6] ?? 0) & 0xff]);
      return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80;
    }
    if (proto === 'dns' || proto === 'dns4' || proto === 'dns6' || proto === 'dnsaddr') {
      const name = value.toLowerCase().replace(/\.$/, '');
      return name === 'localhost' || name.endsWith('.localhost') || name.endsWith('.local');
    }
  }
  return false;
}
