/**
 * How a node gets into the network: its bootstrap list, dialled again while it holds few connections.
 *
 * Why (sim full mode, 26 Nov; docs/networking.md "Joining"): libp2p dials the bootstrap list once
 * (@libp2p/bootstrap; the memory transport's first round is ours, node.ts), and a bootstrap peer that
 * sits at its connection limit refuses newcomers — during a join wave the well-known peers are the
 * fullest. A node all of whose bootstrap dials were refused waited for someone else to dial it: in
 * 50-node copies of full-baseline-100 every new node saw its 5 bootstrap dials refused at least once
 * (291 refusals, "Cannot write to a stream that is closed" — libp2p closes an inbound connection over
 * its limit), and full-baseline-100 ended with a node holding 1 connection and an empty peer table.
 */
import type { Libp2p } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { Logger } from '../lib/log.ts';

/** Below this many connections a node dials the bootstrap peers it is not connected to again. */
export const JOIN_PEERS = 8;
export const BOOTSTRAP_RETRY_FIRST_MS = 1_000;
export const BOOTSTRAP_RETRY_MAX_MS = 60_000;
const DIAL_TIMEOUT_MS = 10_000;

export interface JoiningOptions {
  readonly libp2p: Libp2p;
  readonly bootstrap: readonly Multiaddr[];
  /** The first round is ours (memory transport), or @libp2p/bootstrap's (then we only retry). */
  readonly dialFirst: boolean;
  /** A bootstrap peer we connected to (for the peer table, source 'bootstrap'). */
  readonly onBootstrapped: (peer: string, addr: string) => void;
  readonly log: Logger;
}

export interface Joining {
  start(): void;
  stop(): void;
}

/** The rounds' delays: 1 s doubling to 60 s, then every 60 s (a round does nothing while we hold JOIN_PEERS). */
export function nextBootstrapDelay(previousMs: number | undefined): number {
  return previousMs === undefined ? BOOTSTRAP_RETRY_FIRST_MS : Math.min(previousMs * 2, BOOTSTRAP_RETRY_MAX_MS);
}

/** The bootstrap addresses a round dials: none while we hold JOIN_PEERS connections, else those whose peer we are not connected to. */
export function bootstrapToDial<A>(list: readonly A[], peerOf: (a: A) => string | undefined, connected: readonly string[]): A[] {
  if (connected.length >= JOIN_PEERS) return [];
  const have = new Set(connected);
  return list.filter((a) => {
    const p = peerOf(a);
    return p === undefined || !have.has(p);
  });
}

const errText = (err: unknown): Error | string => (err instanceof Error ? err : String(err));

export function createJoining(o: JoiningOptions): Joining {
  const { libp2p, log } = o;
  let running = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let delay: number | undefined;

  const peerOf = (ma: Multiaddr): string | undefined => ma.getComponents().findLast((c) => c.name === 'p2p')?.value;

  const round = async (): Promise<void> => {
    const connected = libp2p.getConnections().map((c) => c.remotePeer.toString());
    await Promise.all(
      bootstrapToDial(o.bootstrap, peerOf, connected).map(async (ma) => {
        try {
          const conn = await libp2p.dial(ma, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) });
          if (running) o.onBootstrapped(conn.remotePeer.toString(), ma.toString());
        } catch (err) {
          log.debug('bootstrap dial failed', { addr: ma.toString(), err: errText(err) });
        }
      }),
    );
  };

  const schedule = (): void => {
    if (!running) return;
    delay = nextBootstrapDelay(delay);
    timer = setTimeout(() => {
      timer = undefined;
      if (running) round().finally(schedule).catch(() => {});
    }, delay);
    timer.unref();
  };

  return {
    start() {
      if (running || o.bootstrap.length === 0) return;
      running = true;
      delay = undefined;
      if (o.dialFirst) round().finally(schedule).catch(() => {});
      else schedule();
    },
    stop() {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
