/**
 * The scenario format shared by the virtual and (later) full modes (issue 6): one JSON object, validated
 * strictly — unknown keys, wrong types and out-of-range values are DecodeErrors naming the field
 * (`scenario.network.loss: expected a number in [0, 1), got 2`); more nodes than MAX_NODES is a LimitError.
 * Times are simulated milliseconds. Committed scenarios live in sim/scenarios/.
 */
import { DecodeError, ErrorCodes, LimitError } from '../src/lib/errors.ts';
import type { NetworkModel } from './engine/network.ts';

export const MAX_NODES = 20_000;

export type Fault =
  /** A fraction of the nodes alternate exponential on/off sessions with these means. */
  | { readonly type: 'churn'; readonly fraction: number; readonly meanOnMs: number; readonly meanOffMs: number; readonly startMs: number }
  /** At atMs a random `fraction` of the nodes is cut off from the rest; healed at healAtMs. */
  | { readonly type: 'partition'; readonly atMs: number; readonly healAtMs: number; readonly fraction: number }
  /** At atMs the `fraction` best-connected nodes (undirected degree in the peer tables) leave for good. */
  | { readonly type: 'targeted-removal'; readonly atMs: number; readonly fraction: number }
  /** Every simulated minute from startMs, `fractionPerMinute` of the live relay-capable nodes crash; back after restartAfterMs (null: never). */
  | { readonly type: 'relay-failures'; readonly fractionPerMinute: number; readonly startMs: number; readonly restartAfterMs: number | null }
  /** At atMs, `sybilsPerHonest` × honest-node-count fake identities are announced by `injectors` attacker gateways, from `prefixes` /16s. */
  | { readonly type: 'sybil-flood'; readonly atMs: number; readonly sybilsPerHonest: number; readonly injectors: number; readonly prefixes: number; readonly spreadMs: number };

export interface Traffic {
  readonly messagesPerNodePerMinute: number;
  readonly ttlMs: number;
  readonly messageBytes: number;
  /** Each node writes to this many random contacts. */
  readonly contactsPerNode: number;
  /** No traffic before this time (lets the peer tables fill). */
  readonly startMs: number;
  /** After `durationMs` the run goes on this long without new traffic, so queued messages can land. */
  readonly drainMs: number;
}

export interface NodeConfig {
  /** The first nodes, started at 0 and knowing each other (source 'bootstrap'). */
  readonly bootstrapNodes: number;
  /** The others start uniformly over this window and contact 3 random bootstrap nodes. */
  readonly startWindowMs: number;
  readonly gossipFanout: number;
  /** Peer table total cap (the product default is 2,000: src/routing/peer-policy.ts). */
  readonly maxPeers: number;
  readonly relayFraction: number;
  /** Retry a contact's queued messages as soon as anything arrives from it (not in the product yet). */
  readonly retryOnContact: boolean;
  /**
   * Which node model runs (optional, default 'direct'): 'direct' is sim/node-model.ts's direct delivery;
   * 'routed' adds the real router, onion paths and mailbox holders (sim/node-routed.ts).
   */
  readonly model: NodeModelKind;
}

export type NodeModelKind = 'direct' | 'routed';

export interface Targets {
  readonly deliveryRatio: number;
  readonly duplicates: number;
  readonly knows8PeersMs: number | null;
  readonly healFlushMs: number | null;
  readonly honestTableFraction: number | null;
  readonly survivorsReachable: number | null;
  readonly wallTimeMs: number | null;
}

export interface Scenario {
  readonly name: string;
  readonly seed: string;
  readonly mode: 'virtual' | 'full';
  readonly nodes: number;
  readonly durationMs: number;
  readonly metricsIntervalMs: number;
  readonly network: NetworkModel;
  readonly traffic: Traffic;
  readonly node: NodeConfig;
  readonly faults: readonly Fault[];
  readonly targets: Targets;
}

type Obj = Record<string, unknown>;

function fail(path: string, expected: string, got: unknown): never {
  const shown = typeof got === 'string' ? JSON.stringify(got).slice(0, 40) : Array.isArray(got) ? 'an array' : got === null ? 'null' : typeof got === 'object' ? 'an object' : String(got);
  throw new DecodeError(ErrorCodes.INVALID_ARGUMENT, `${path}: expected ${expected}, got ${shown}`);
}

function object(v: unknown, path: string, keys: readonly string[], optional: readonly string[] = []): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'an object', v);
  const o = v as Obj;
  for (const k of Object.keys(o)) if (!keys.includes(k) && !optional.includes(k)) throw new DecodeError(ErrorCodes.INVALID_ARGUMENT, `${path}.${k}: unknown field`);
  for (const k of keys) if (!(k in o)) throw new DecodeError(ErrorCodes.INVALID_ARGUMENT, `${path}.${k}: missing`);
  return o;
}

function num(o: Obj, k: string, path: string, min: number, max: number, opts: { int?: boolean; maxOpen?: boolean } = {}): number {
  const v = o[k];
  const range = `${opts.int ? 'an integer' : 'a number'} in [${min}, ${max}${opts.maxOpen ? ')' : ']'}`;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (opts.maxOpen ? v >= max : v > max) || (opts.int && !Number.isInteger(v))) fail(`${path}.${k}`, range, v);
  return v;
}

function numOrNull(o: Obj, k: string, path: string, min: number, max: number, opts: { int?: boolean } = {}): number | null {
  return o[k] === null ? null : num(o, k, path, min, max, opts);
}

function str(o: Obj, k: string, path: string, pattern: RegExp): string {
  const v = o[k];
  if (typeof v !== 'string' || !pattern.test(v)) fail(`${path}.${k}`, `a string matching ${pattern}`, v);
  return v;
}

function bool(o: Obj, k: string, path: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') fail(`${path}.${k}`, 'a boolean', v);
  return v;
}

const DAY = 24 * 3600_000;
const YEAR = 365 * DAY;

function parseFault(v: unknown, path: string): Fault {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'an object', v);
  const type = (v as Obj).type;
  switch (type) {
    case 'churn': {
      const o = object(v, path, ['type', 'fraction', 'meanOnMs', 'meanOffMs', 'startMs']);
      return { type, fraction: num(o, 'fraction', path, 0, 1), meanOnMs: num(o, 'meanOnMs', path, 1, YEAR), meanOffMs: num(o, 'meanOffMs', path, 1, YEAR), startMs: num(o, 'startMs', path, 0, YEAR) };
    }
    case 'partition': {
      const o = object(v, path, ['type', 'atMs', 'healAtMs', 'fraction']);
      const atMs = num(o, 'atMs', path, 0, YEAR);
      return { type, atMs, healAtMs: num(o, 'healAtMs', path, atMs, YEAR), fraction: num(o, 'fraction', path, 0, 1) };
    }
    case 'targeted-removal': {
      const o = object(v, path, ['type', 'atMs', 'fraction']);
      return { type, atMs: num(o, 'atMs', path, 0, YEAR), fraction: num(o, 'fraction', path, 0, 1, { maxOpen: true }) };
    }
    case 'relay-failures': {
      const o = object(v, path, ['type', 'fractionPerMinute', 'startMs', 'restartAfterMs']);
      return { type, fractionPerMinute: num(o, 'fractionPerMinute', path, 0, 1), startMs: num(o, 'startMs', path, 0, YEAR), restartAfterMs: numOrNull(o, 'restartAfterMs', path, 1, YEAR) };
    }
    case 'sybil-flood': {
      const o = object(v, path, ['type', 'atMs', 'sybilsPerHonest', 'injectors', 'prefixes', 'spreadMs']);
      return {
        type,
        atMs: num(o, 'atMs', path, 0, YEAR),
        sybilsPerHonest: num(o, 'sybilsPerHonest', path, 0, 1000, { int: true }),
        injectors: num(o, 'injectors', path, 1, 10_000, { int: true }),
        prefixes: num(o, 'prefixes', path, 1, 65_536, { int: true }),
        spreadMs: num(o, 'spreadMs', path, 0, YEAR),
      };
    }
    default:
      return fail(`${path}.type`, "'churn' | 'partition' | 'targeted-removal' | 'relay-failures' | 'sybil-flood'", type);
  }
}

/** Validates a parsed JSON value as a scenario; throws DecodeError / LimitError. */
export function parseScenario(value: unknown): Scenario {
  const p = 'scenario';
  const o = object(value, p, ['name', 'seed', 'mode', 'nodes', 'durationMs', 'metricsIntervalMs', 'network', 'traffic', 'node', 'faults', 'targets']);
  const mode = o.mode;
  if (mode !== 'virtual' && mode !== 'full') fail(`${p}.mode`, "'virtual' | 'full'", mode);
  const nodesRaw = o.nodes;
  if (typeof nodesRaw === 'number' && Number.isInteger(nodesRaw) && nodesRaw > MAX_NODES) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `${p}.nodes: at most ${MAX_NODES}, got ${nodesRaw}`);
  }
  const nodes = num(o, 'nodes', p, 2, MAX_NODES, { int: true });
  const n = object(o.network, `${p}.network`, ['latency', 'loss', 'bandwidthBytesPerSec']);
  const l = object(n.latency, `${p}.network.latency`, ['baseMs', 'spreadMs', 'jitterMs', 'distribution']);
  const distribution = l.distribution;
  if (distribution !== 'uniform' && distribution !== 'exponential') fail(`${p}.network.latency.distribution`, "'uniform' | 'exponential'", distribution);
  const t = object(o.traffic, `${p}.traffic`, ['messagesPerNodePerMinute', 'ttlMs', 'messageBytes', 'contactsPerNode', 'startMs', 'drainMs']);
  const c = object(o.node, `${p}.node`, ['bootstrapNodes', 'startWindowMs', 'gossipFanout', 'maxPeers', 'relayFraction', 'retryOnContact'], ['model']);
  const model = c.model ?? 'direct';
  if (model !== 'direct' && model !== 'routed') fail(`${p}.node.model`, "'direct' | 'routed'", model);
  const g = object(o.targets, `${p}.targets`, ['deliveryRatio', 'duplicates', 'knows8PeersMs', 'healFlushMs', 'honestTableFraction', 'survivorsReachable', 'wallTimeMs']);
  if (!Array.isArray(o.faults)) fail(`${p}.faults`, 'an array', o.faults);
  const faults = (o.faults as unknown[]).map((f, i) => parseFault(f, `${p}.faults[${i}]`));
  const bootstrapNodes = num(c, 'bootstrapNodes', `${p}.node`, 1, nodes, { int: true });
  return {
    name: str(o, 'name', p, /^[a-z0-9][a-z0-9-]{0,63}$/),
    seed: str(o, 'seed', p, /^.{1,128}$/),
    mode,
    nodes,
    durationMs: num(o, 'durationMs', p, 1, YEAR),
    metricsIntervalMs: num(o, 'metricsIntervalMs', p, 1, YEAR),
    network: {
      latency: { baseMs: num(l, 'baseMs', `${p}.network.latency`, 0, 60_000), spreadMs: num(l, 'spreadMs', `${p}.network.latency`, 0, 60_000), jitterMs: num(l, 'jitterMs', `${p}.network.latency`, 0, 60_000), distribution },
      loss: num(n, 'loss', `${p}.network`, 0, 1, { maxOpen: true }),
      bandwidthBytesPerSec: numOrNull(n, 'bandwidthBytesPerSec', `${p}.network`, 1, 1e12),
    },
    traffic: {
      messagesPerNodePerMinute: num(t, 'messagesPerNodePerMinute', `${p}.traffic`, 0, 6000),
      ttlMs: num(t, 'ttlMs', `${p}.traffic`, 1, 30 * DAY),
      messageBytes: num(t, 'messageBytes', `${p}.traffic`, 1, 1 << 20, { int: true }),
      contactsPerNode: num(t, 'contactsPerNode', `${p}.traffic`, 1, nodes - 1, { int: true }),
      startMs: num(t, 'startMs', `${p}.traffic`, 0, YEAR),
      drainMs: num(t, 'drainMs', `${p}.traffic`, 0, YEAR),
    },
    node: {
      bootstrapNodes,
      startWindowMs: num(c, 'startWindowMs', `${p}.node`, 0, YEAR),
      gossipFanout: num(c, 'gossipFanout', `${p}.node`, 1, 64, { int: true }),
      maxPeers: num(c, 'maxPeers', `${p}.node`, 8, 100_000, { int: true }),
      relayFraction: num(c, 'relayFraction', `${p}.node`, 0, 1),
      retryOnContact: bool(c, 'retryOnContact', `${p}.node`),
      model,
    },
    faults,
    targets: {
      deliveryRatio: num(g, 'deliveryRatio', `${p}.targets`, 0, 1),
      duplicates: num(g, 'duplicates', `${p}.targets`, 0, Number.MAX_SAFE_INTEGER, { int: true }),
      knows8PeersMs: numOrNull(g, 'knows8PeersMs', `${p}.targets`, 0, YEAR),
      healFlushMs: numOrNull(g, 'healFlushMs', `${p}.targets`, 0, YEAR),
      honestTableFraction: numOrNull(g, 'honestTableFraction', `${p}.targets`, 0, 1),
      survivorsReachable: numOrNull(g, 'survivorsReachable', `${p}.targets`, 0, 1),
      wallTimeMs: numOrNull(g, 'wallTimeMs', `${p}.targets`, 0, YEAR),
    },
  };
}

/** Parses JSON text as a scenario (a JSON syntax error is a DecodeError too). */
export function parseScenarioText(text: string): Scenario {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DecodeError(ErrorCodes.INVALID_ENCODING, 'scenario: not valid JSON', { cause: e });
  }
  return parseScenario(value);
}
