/**
 * Drops repeated discovery sightings before they reach the peer table: the same peer from the same
 * source with the same addresses within SIGHTING_REPEAT_MS tells the table nothing new, and each
 * sighting is a peer-table write (a SQLite transaction in the product). DHT answers name the same
 * closer peers over and over: a 50-node sim run wrote 7,429 'dht' refreshes against 629 new entries.
 * Identify sightings always pass: on a connection we dialled each one is a successful dial
 * (src/node/discovery/discovery.ts records it). Pure: the clock is injected.
 */
import type { Clock } from '../lib/deps.ts';
import type { DiscoveredPeer } from './types.ts';

export const SIGHTING_REPEAT_MS = 60_000;
const DEFAULT_CAP = 4_096;

export interface Sightings {
  /** Whether this sighting goes on to the listeners (and is remembered as the latest). */
  fresh(p: DiscoveredPeer): boolean;
}

export function createSightings(clock: Clock, repeatMs = SIGHTING_REPEAT_MS, cap = DEFAULT_CAP): Sightings {
  const last = new Map<string, { at: number; addresses: string }>(); // insertion order ≈ oldest first
  return {
    fresh(p) {
      if (p.source === 'identify') return true;
      const key = `${p.source} ${p.peerId}`;
      const addresses = p.addresses.join(' ');
      const now = clock();
      const seen = last.get(key);
      if (seen !== undefined && seen.addresses === addresses && now - seen.at < repeatMs) return false;
      last.delete(key);
      last.set(key, { at: now, addresses });
      for (const k of last.keys()) {
        if (last.size <= cap) break;
        last.delete(k);
      }
      return true;
    },
  };
}
