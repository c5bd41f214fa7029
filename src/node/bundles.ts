/**
 * Prekey bundles on the network: the `/compeer/bundle/2` protocol and the DHT record.
 *
 *   /compeer/bundle/2   request: 32 bytes, SHA-256("compeer/bundle-request/v1" | user ID) of the user
 *                       whose bundle is wanted (`bundleRequest`); response: an encoded bundle with one-time
 *                       prekeys (prekeys.ts `served`) when that is the node's own user, else an empty
 *                       response (the same for an empty request, another length or another user).
 *   DHT record          key  /cbundle/<hex(SHA-256("compeer/cbundle/v1" | user ID))>
 *                       value an encoded bundle without one-time keys (prekeys.ts `published`)
 *                       valid when it decodes (every signature checked) AND its identity hashes to the key;
 *                       of several, the newest timestamp wins.
 *
 * Why the request names the user: the bundle carries the user's identity keys, so a node that answered
 * anyone would tell every relay, mailbox holder or DHT neighbour which user runs it (and give away
 * one-time prekeys). Everyone with a reason to fetch our bundle directly already knows our user ID (a
 * new contact from our invite, a contact from its record), so a peer that does not can only confirm a
 * guess. The label is not the DHT key's: a peer that saw only the key of a lookup of our DHT record (a
 * Kademlia hop does) cannot turn it into a request that finds our node; that takes the user ID itself.
 * Version 2 because the request changed meaning: version 1 answered an empty request (and read 32 bytes
 * as a hash of an invite secret, informational only); a version-1 requester now fails at protocol
 * negotiation instead of being refused with an empty answer it would take for a broken bundle.
 *
 * `fetchBundle` asks the contact's node first (its known addresses), then the DHT, and accepts only a
 * bundle of the expected user ID. This module knows nothing of sessions or contacts' storage.
 */
import { concatBytes, toHex, utf8 } from '../lib/bytes.ts';
import { CryptoError, ErrorCodes, NetworkError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { sha256 } from '../crypto/hash.ts';
import { decodePrekeyBundle, PREKEY_BUNDLE_MAX_LENGTH, type VerifiedPrekeyBundle } from '../protocol/handshake/bundle.ts';
import type { DhtNamespace, NetNode } from '../net/index.ts';

export const BUNDLE_PROTOCOL = '/compeer/bundle/2';
export const BUNDLE_NAMESPACE = 'cbundle';
const KEY_LABEL = utf8('compeer/cbundle/v1');
// Not a prefix of any other label (docs/protocol.md, labels), nor KEY_LABEL: a request is no DHT key.
const REQUEST_LABEL = utf8('compeer/bundle-request/v1');
export const BUNDLE_REQUEST_LENGTH = 32;

/** The `/compeer/bundle/2` request for `userId`'s bundle. */
export function bundleRequest(userId: string): Uint8Array {
  return sha256(concatBytes(REQUEST_LABEL, utf8(userId)));
}

export function bundleDhtKey(userId: string): string {
  return `/${BUNDLE_NAMESPACE}/${toHex(sha256(concatBytes(KEY_LABEL, utf8(userId))))}`;
}

function newestIndex(values: readonly Uint8Array[]): number {
  let best = -1;
  let bestTs = -1;
  values.forEach((v, i) => {
    try {
      const ts = decodePrekeyBundle(v).timestamp;
      if (ts > bestTs) {
        best = i;
        bestTs = ts;
      }
    } catch {
      // invalid values never win
    }
  });
  return Math.max(best, 0);
}

/** The DHT namespace: a record must decode and be keyed by its own identity's user ID. */
export const bundleNamespace: DhtNamespace = {
  validate(key, value) {
    const bundle = decodePrekeyBundle(value);
    if (bundleDhtKey(bundle.userId) !== key) {
      throw new CryptoError(ErrorCodes.UNTRUSTED_IDENTITY, 'bundle record: identity does not match its key');
    }
  },
  select: (_key, values) => newestIndex(values),
};

/** Decodes and checks the user ID; undefined when the bytes are not a bundle of `userId`. */
function accept(bytes: Uint8Array, userId: string, log: Logger, source: string): VerifiedPrekeyBundle | undefined {
  try {
    const b = decodePrekeyBundle(bytes);
    if (b.userId === userId) return b;
    log.warn('bundle of another identity refused', { source });
  } catch (e) {
    log.warn('bundle refused', { source, error: e instanceof Error ? e : String(e) });
  }
  return undefined;
}

/** Peer ID of a "/…/p2p/<id>" address (the last /p2p/ component), else undefined. */
export function peerIdOf(addr: string): string | undefined {
  const at = addr.lastIndexOf('/p2p/');
  if (at < 0) return undefined;
  const id = addr.slice(at + 5);
  return /^[1-9A-HJ-NP-Za-km-z]{1,128}$/.test(id) ? id : undefined;
}

/** Groups addresses by their peer ID (addresses without one are skipped). */
export function byPeer(addresses: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const a of addresses) {
    const id = peerIdOf(a);
    if (id === undefined) continue;
    const list = out.get(id) ?? [];
    list.push(a);
    out.set(id, list);
  }
  return out;
}

export async function fetchBundle(
  net: Pick<NetNode, 'request' | 'dhtGet'>,
  userId: string,
  addresses: readonly string[],
  log: Logger,
  opts: { timeoutMs?: number } = {},
): Promise<VerifiedPrekeyBundle> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const request = bundleRequest(userId);
  for (const [peer, addrs] of byPeer(addresses)) {
    try {
      const res = await net.request(peer, addrs, BUNDLE_PROTOCOL, request, {
        timeoutMs,
        maxResponseBytes: PREKEY_BUNDLE_MAX_LENGTH,
      });
      const b = accept(res, userId, log, 'direct');
      if (b) return b;
    } catch (e) {
      log.debug('bundle request failed', { peer, error: e instanceof Error ? e : String(e) });
    }
  }
  const values = await net.dhtGet(bundleDhtKey(userId), { timeoutMs });
  const valid = values.map((v) => accept(v, userId, log, 'dht')).filter((b): b is VerifiedPrekeyBundle => b !== undefined);
  if (valid.length === 0) throw new NetworkError(ErrorCodes.UNREACHABLE, 'no prekey bundle found for the contact (direct or DHT)');
  return valid.reduce((a, b) => (b.timestamp > a.timestamp ? b : a));
}
