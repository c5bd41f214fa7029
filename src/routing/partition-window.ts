/**
 * The partition detector's window (src/routing/partition.ts): the last `maxSamples` observations of the
 * last `windowMs`, with their counts kept as samples enter and leave, so that a new observation costs
 * O(log n) plus a short copy instead of a scan of the whole ring and a sort of every ack latency.
 *
 * Why: the node observes twice per delivery (its peer reached, the ack's latency), on the sender's path
 * before `delivered`; the full recomputation was 0.2–0.34 ms of a sequential delivery (docs/perf-node.md,
 * "Seventh pass").
 *
 * Samples leave in insertion order: the oldest first when the ring is full, and from the front while the
 * front is older than the window. A sample's time is never before the previous one's (a clock stepped
 * back stamps new samples with the last time seen), so "the front is the oldest" holds; after such a
 * step new samples stay in the window until the clock has caught up, as the old samples already did.
 */
import type { Observation, WindowStats } from './partition.ts';

type Sampled = Exclude<Observation, { type: 'connected' }>;

interface Counts {
  remoteOk: number;
  remoteFail: number;
  lanOk: number;
  lanFail: number;
  dhtOk: number;
  dhtFail: number;
  ackTimeouts: number;
}

export interface ObservationWindow {
  /** Adds `o` at `now` after dropping what left the window by `now`. */
  add(o: Sampled, now: number): void;
  /** The counts of the samples within the window at `now`. */
  stats(now: number, connected: WindowStats['connected']): WindowStats;
}

/** Index of the first element of sorted `xs` that is ≥ `x`. */
function lowerBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function createObservationWindow(windowMs: number, maxSamples: number): ObservationWindow {
  const at: number[] = new Array<number>(maxSamples).fill(0);
  const obs: (Sampled | undefined)[] = new Array<Sampled | undefined>(maxSamples).fill(undefined);
  let first = 0;
  let size = 0;
  let last = -Infinity;
  const n: Counts = { remoteOk: 0, remoteFail: 0, lanOk: 0, lanFail: 0, dhtOk: 0, dhtFail: 0, ackTimeouts: 0 };
  /** The window's ack latencies, sorted. */
  const latencies: number[] = [];
  /** Remote peer → its successful reaches in the window. */
  const reached = new Map<string, number>();

  const count = (x: Sampled, d: 1 | -1): void => {
    if (x.type === 'reach' && x.local) n[x.ok ? 'lanOk' : 'lanFail'] += d;
    else if (x.type === 'reach') {
      n[x.ok ? 'remoteOk' : 'remoteFail'] += d;
      if (x.ok) {
        const k = (reached.get(x.peerId) ?? 0) + d;
        if (k === 0) reached.delete(x.peerId);
        else reached.set(x.peerId, k);
      }
    } else if (x.type === 'dht') n[x.ok ? 'dhtOk' : 'dhtFail'] += d;
    else if (x.type === 'ack-timeout') n.ackTimeouts += d;
    else if (d === 1) latencies.splice(lowerBound(latencies, x.latencyMs), 0, x.latencyMs);
    else latencies.splice(lowerBound(latencies, x.latencyMs), 1);
  };

  const dropFirst = (): void => {
    count(obs[first] as Sampled, -1);
    obs[first] = undefined;
    first = (first + 1) % maxSamples;
    size--;
  };

  const expire = (now: number): void => {
    while (size > 0 && now - (at[first] as number) >= windowMs) dropFirst();
  };

  return {
    add(o, now) {
      expire(now);
      if (size === maxSamples) dropFirst();
      const i = (first + size) % maxSamples;
      last = Math.max(last, now);
      at[i] = last;
      obs[i] = o;
      size++;
      count(o, 1);
    },
    stats(now, connected) {
      expire(now);
      const mid = latencies.length >> 1;
      const ackMedianMs =
        latencies.length === 0 ? undefined : latencies.length % 2 === 1 ? latencies[mid] : ((latencies[mid - 1] as number) + (latencies[mid] as number)) / 2;
      return { ...n, remotePeers: reached.size, acks: latencies.length, ackMedianMs, connected };
    },
  };
}
