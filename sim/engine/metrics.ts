/**
 * The run's measurements (issue 6 "What it must show"): delivery ratio, app-level duplicates, lost
 * (expired) and void messages, latency percentiles, overhead (transmissions per delivered message), the
 * time a new node takes to know 8 peers, the time from a heal until the messages queued across it are
 * delivered, and per-interval series for the plot.
 *
 * Definitions. A message is void when one of its ends left the network for good (targeted removal):
 * no protocol can deliver it, so it is left out of the ratio and reported apart. deliveryRatio =
 * delivered / (created − void). Pending = neither delivered, expired nor void at the end of the run.
 */

export interface Percentiles {
  readonly count: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export interface IntervalPoint {
  readonly startMs: number;
  /** Messages created in the interval. */
  readonly created: number;
  /** Of those, delivered by the end of the run (void excluded from the base). */
  readonly deliveryRatio: number | null;
  /** p50 latency of the deliveries that happened in the interval. */
  readonly latencyP50Ms: number | null;
  readonly latencyP95Ms: number | null;
}

export interface MessageSummary {
  readonly created: number;
  readonly delivered: number;
  readonly deliveryRatio: number;
  readonly duplicates: number;
  readonly redundantCopies: number;
  readonly lost: number;
  readonly void: number;
  readonly pending: number;
  readonly latencyMs: Percentiles;
  readonly knows8PeersMs: Percentiles;
  /** Per heal: ms from the heal to the delivery of the last message queued before it; null when some never landed. */
  readonly healFlushMs: readonly { readonly healAtMs: number; readonly queued: number; readonly flushMs: number | null; readonly undelivered: number }[];
}

export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: null, p95: null, p99: null, max: null };
  const s = Float64Array.from(values).sort();
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] as number;
  return { count: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1] as number };
}

interface Record_ {
  readonly createdAt: number;
  readonly from: number;
  readonly to: number;
  deliveredAt: number;
  deliveries: number;
  expired: boolean;
  void: boolean;
}

/** Honest share of each peer table (0..1, one per node): the lowest, the mean, how many fall below 80 %. */
export function summarizeHonestShares(shares: readonly number[]): { readonly min: number | null; readonly mean: number | null; readonly nodesBelow80: number } {
  return {
    min: shares.length > 0 ? Math.min(...shares) : null,
    mean: shares.length > 0 ? shares.reduce((a, b) => a + b, 0) / shares.length : null,
    nodesBelow80: shares.filter((x) => x < 0.8).length,
  };
}

/** Peer-table sizes, one per node: min, mean, max. */
export function summarizeSizes(sizes: readonly number[]): { readonly min: number; readonly mean: number; readonly max: number } {
  return { min: Math.min(...sizes), mean: sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length), max: Math.max(...sizes) };
}

export interface Metrics {
  created(id: number, from: number, to: number, at: number): void;
  delivered(id: number, at: number): void;
  redundant(id: number): void;
  expired(id: number): void;
  /** Marks undelivered messages from or to `node` void (it left for good). */
  voidNode(node: number): void;
  joined(node: number, at: number): void;
  knows8(node: number, at: number): void;
  heal(at: number): void;
  /** The messages neither delivered, expired nor void (the summary's pending), in creation order. */
  pending(): { readonly id: number; readonly from: number; readonly to: number; readonly createdAt: number }[];
  summary(): MessageSummary;
  series(endMs: number): IntervalPoint[];
}

export function createMetrics(intervalMs: number): Metrics {
  const msgs = new Map<number, Record_>();
  const joinedAt = new Map<number, number>();
  const knows8 = new Map<number, number>();
  const heals: { at: number; queued: number[] }[] = [];
  let redundantCopies = 0;

  return {
    created(id, from, to, at) {
      msgs.set(id, { createdAt: at, from, to, deliveredAt: -1, deliveries: 0, expired: false, void: false });
    },
    delivered(id, at) {
      const m = msgs.get(id);
      if (m === undefined) return;
      if (m.deliveries === 0) m.deliveredAt = at;
      m.deliveries++;
    },
    redundant() {
      redundantCopies++;
    },
    expired(id) {
      const m = msgs.get(id);
      if (m !== undefined && m.deliveries === 0) m.expired = true;
    },
    voidNode(node) {
      for (const m of msgs.values()) if (m.deliveries === 0 && !m.expired && (m.from === node || m.to === node)) m.void = true;
    },
    joined(node, at) {
      if (!joinedAt.has(node)) joinedAt.set(node, at);
    },
    knows8(node, at) {
      const j = joinedAt.get(node);
      if (j !== undefined && !knows8.has(node)) knows8.set(node, at - j);
    },
    heal(at) {
      const queued: number[] = [];
      for (const [id, m] of msgs) if (m.deliveries === 0 && !m.expired && !m.void) queued.push(id);
      heals.push({ at, queued });
    },
    pending() {
      const out: { id: number; from: number; to: number; createdAt: number }[] = [];
      for (const [id, m] of msgs) if (m.deliveries === 0 && !m.expired && !m.void) out.push({ id, from: m.from, to: m.to, createdAt: m.createdAt });
      return out;
    },
    summary() {
      let delivered = 0;
      let duplicates = 0;
      let lost = 0;
      let voided = 0;
      let pending = 0;
      const latencies: number[] = [];
      for (const m of msgs.values()) {
        if (m.deliveries > 0) {
          delivered++;
          duplicates += m.deliveries - 1;
          latencies.push(m.deliveredAt - m.createdAt);
        } else if (m.void) voided++;
        else if (m.expired) lost++;
        else pending++;
      }
      const base = msgs.size - voided;
      return {
        created: msgs.size,
        delivered,
        deliveryRatio: base === 0 ? 1 : delivered / base,
        duplicates,
        redundantCopies,
        lost,
        void: voided,
        pending,
        latencyMs: percentiles(latencies),
        knows8PeersMs: percentiles([...knows8.values()]),
        healFlushMs: heals.map((h) => {
          let last = h.at;
          let undelivered = 0;
          for (const id of h.queued) {
            const m = msgs.get(id);
            if (m === undefined || m.void) continue;
            if (m.deliveries === 0) undelivered++;
            else last = Math.max(last, m.deliveredAt);
          }
          return { healAtMs: h.at, queued: h.queued.length, flushMs: undelivered > 0 ? null : last - h.at, undelivered };
        }),
      };
    },
    series(endMs) {
      const n = Math.max(1, Math.ceil(endMs / intervalMs));
      const created = new Array<number>(n).fill(0);
      const ok = new Array<number>(n).fill(0);
      const voided = new Array<number>(n).fill(0);
      const lat: number[][] = Array.from({ length: n }, () => []);
      for (const m of msgs.values()) {
        const i = Math.min(n - 1, Math.floor(m.createdAt / intervalMs));
        created[i] = (created[i] ?? 0) + 1;
        if (m.void && m.deliveries === 0) voided[i] = (voided[i] ?? 0) + 1;
        if (m.deliveries > 0) {
          ok[i] = (ok[i] ?? 0) + 1;
          lat[Math.min(n - 1, Math.floor(m.deliveredAt / intervalMs))]?.push(m.deliveredAt - m.createdAt);
        }
      }
      return created.map((c, i) => {
        const base = c - (voided[i] ?? 0);
        const q = percentiles(lat[i] ?? []);
        return { startMs: i * intervalMs, created: c, deliveryRatio: base > 0 ? (ok[i] ?? 0) / base : null, latencyP50Ms: q.p50, latencyP95Ms: q.p95 };
      });
    },
  };
}
