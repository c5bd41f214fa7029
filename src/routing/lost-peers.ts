/**
 * Which remote peers went away and which came back, sample to sample, and whether a sample was a cut
 * of part of the network (looksLikeCut) — for src/node/heal.ts (docs/delivery.md "Heal"). Pure: the
 * samples and their times come from the caller.
 */
import { looksLikeCut, MIN_CUT_MS } from './heal.ts';

/** Peers whose connections went away, remembered (oldest forgotten first) to notice their return. */
export const LOST_MAX = 512;

export interface LostPeersSample {
  /** A peer gone for MIN_CUT_MS or more is connected again. */
  readonly back: boolean;
  /** When the cut began, if one of the peers back went in it (lost in the cut's own sample). */
  readonly cutBackSince: number | undefined;
}

export interface LostPeers {
  /** The remote peers connected at `at`. */
  sample(peers: ReadonlySet<string>, at: number): LostPeersSample;
  /** The cut's end was acted on: a later return of its peers is churn. */
  endCut(): void;
}

/** `closedByUs`: a peer our own trim closed lately was not lost (its bursts of 3–7 closes looked like cuts). */
export function createLostPeers(closedByUs: (peer: string) => boolean): LostPeers {
  let connected: ReadonlySet<string> = new Set();
  const lost = new Map<string, number>();
  /** When a sample lost many peers at once, until the cut's end is acted on. */
  let cutSeenAt: number | undefined;
  return {
    sample(peers, at) {
      let back = false;
      let cutBackSince: number | undefined;
      let gone = 0;
      for (const p of connected) {
        // 7–26 false "cuts" per full-partition run came from the trim before this check.
        if (peers.has(p) || closedByUs(p)) continue;
        gone++;
        lost.delete(p);
        lost.set(p, at);
      }
      if (looksLikeCut(gone, connected.size)) cutSeenAt = at;
      for (const p of peers) {
        const since = lost.get(p);
        if (since === undefined) continue;
        lost.delete(p);
        if (at - since < MIN_CUT_MS) continue;
        back = true;
        if (since === cutSeenAt) cutBackSince = since; // lost in the cut's own sample, not in churn since
      }
      for (const k of lost.keys()) {
        if (lost.size <= LOST_MAX) break;
        lost.delete(k);
      }
      connected = peers;
      return { back, cutBackSince };
    },
    endCut() {
      cutSeenAt = undefined;
    },
  };
}
