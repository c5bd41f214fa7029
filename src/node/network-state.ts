/**
 * The node's view of the network (docs/delivery-state.md): what it measures — dials and path hops that
 * worked or failed, DHT puts, ack latencies, open connections — goes to the partition detector
 * (src/routing/partition.ts), whose state `compeer status` shows with its reason. While `local-only`,
 * contacts without a LAN address wait instead of burning attempts; when the state heals, every contact's
 * queue is flushed. Addresses decide LAN or remote (isLocalAddress: loopback, RFC 1918, link-local, ULA).
 * It also passes on whether an attempt reached a contact's node (`contactReach`): the heal redials the
 * nodes of contacts whose mail waits (src/node/contact-redial.ts, a cut that leaves the node peers on its side).
 */
import type { Clock } from '../lib/deps.ts';
import type { Logger } from '../lib/log.ts';
import { createPartitionDetector, isLocalAddress, type Assessment } from '../routing/partition.ts';
import type { NetNode } from '../net/index.ts';

export interface NetworkState {
  reach(peerId: string, ok: boolean, addresses?: readonly string[]): void;
  dht(ok: boolean): void;
  ack(latencyMs: number): void;
  /** Samples the open connections (call on a timer). */
  sampleConnections(): void;
  assess(): Assessment;
  /** Why a contact with these addresses must wait now (undefined: it need not). */
  holdBack(addresses: readonly string[]): string | undefined;
  /** Called when the state leaves local-only (queued traffic can go). */
  onHeal(cb: () => void): () => void;
  /** An attempt reached the contact's node (true), or could not and its mail waits (false). */
  contactReach(contact: string, ok: boolean): void;
  onContactReach(cb: (contact: string, ok: boolean) => void): () => void;
}

export function createNetworkState(net: Pick<NetNode, 'connections'>, clock: Clock, log: Logger, peerAddresses: (peerId: string) => readonly string[]): NetworkState {
  const detector = createPartitionDetector({ clock });
  const isLocal = (addrs: readonly string[]): boolean => addrs.length > 0 && addrs.every(isLocalAddress);
  detector.onChange((a, previous) => log.info('network state changed', { state: a.state, previous, reason: a.reason }));
  const contactListeners = new Set<(contact: string, ok: boolean) => void>();
  return {
    reach(peerId, ok, addresses) {
      // The peer's addresses as given, else the table's, else its open connections'. None known: the
      // outcome says nothing of LAN or remote, so it is no evidence either way (counted as remote, a
      // LAN-only node's reach of an unknown peer read as `online`).
      let addrs = addresses !== undefined && addresses.length > 0 ? addresses : peerAddresses(peerId);
      if (addrs.length === 0) addrs = net.connections().filter((c) => c.peerId === peerId).map((c) => c.address);
      if (addrs.length === 0) return;
      detector.observe({ type: 'reach', peerId, ok, local: isLocal(addrs) });
    },
    dht: (ok) => detector.observe({ type: 'dht', ok }),
    ack: (latencyMs) => detector.observe({ type: 'ack', latencyMs }),
    sampleConnections() {
      let local = 0;
      let remote = 0;
      for (const c of net.connections()) {
        if (isLocalAddress(c.address)) local++;
        else remote++;
      }
      detector.observe({ type: 'connected', local, remote });
    },
    assess: () => detector.assess(),
    holdBack(addresses) {
      if (detector.assess().state !== 'local-only' || addresses.some(isLocalAddress)) return undefined;
      return 'local-only: the contact has no LAN address';
    },
    onHeal(cb) {
      return detector.onChange((a, previous) => {
        if (previous === 'local-only' && a.state !== 'local-only') cb();
      });
    },
    contactReach(contact, ok) {
      for (const cb of contactListeners) {
        try {
          cb(contact, ok);
        } catch (e) {
          log.warn('contact reach listener failed', { error: e instanceof Error ? e : String(e) });
        }
      }
    },
    onContactReach(cb) {
      contactListeners.add(cb);
      return () => void contactListeners.delete(cb);
    },
  };
}
