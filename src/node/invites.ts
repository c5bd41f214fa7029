/**
 * The node's outstanding invites: each `compeer id` issues a fresh 16-byte secret, remembered (sealed,
 * in the node's meta area) as SHA-256 of it with its issue time; a `hello` that carries it is accepted
 * once. At most MAX_INVITES are outstanding (the oldest go first) and each lasts INVITE_TTL_MS.
 * Beside each, the invite's mailbox secret (protocol/invite.ts inviteMailboxSecret): the node fetches
 * the mailboxes of its newest FETCHED_INVITES outstanding invites, where an invitee that could not reach
 * this node left its first messages (docs/mailboxes.md "First contact").
 * An invite may be issued FOR an existing contact (`compeer id --for NAME`: the contact starts over with a
 * new identity); only a `hello` carrying such an invite moves that contact to the new identity. Any
 * other invite makes a new contact, whatever name its hello claims: a name proves nothing, and an
 * invite may have been handed to anyone (fuzz11's finding, 27 Nov: any unused invite took over any
 * contact by its name).
 * Also the checks on what an invite shows: local names, and the order of the addresses it carries.
 * This module knows nothing of sessions or the network.
 */
import { toHex } from '../lib/bytes.ts';
import type { Rng } from '../lib/deps.ts';
import { CompeerError, ErrorCodes, ProtocolError } from '../lib/errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { INVITE_SECRET_LENGTH, inviteMailboxSecret } from '../protocol/invite.ts';
import type { NodeMeta } from './node-store.ts';

const PREFIX = 'node.invite/';
/** node.invite-box/<SHA-256 of the secret, hex>: the invite's mailbox secret. */
const BOX_PREFIX = 'node.invite-box/';
/**
 * Outstanding invites whose mailboxes each fetch asks for, newest first: each costs a challenge and a
 * fetch per day and holder, and an invite is mostly answered within days of being handed over.
 */
export const FETCHED_INVITES = 4;
export const INVITE_TTL_MS = 30 * 24 * 3600_000;
export const MAX_INVITES = 100;
const NAME_MAX_BYTES = 64;

function keyOf(secret: Uint8Array): string {
  return PREFIX + toHex(sha256(secret));
}

/** An invite's record: `<issue time>` or `<issue time> <contact key it was issued for>`. */
function recordOf(meta: NodeMeta, key: string): { at: number; forContact: string | undefined } {
  const [at, forContact] = new TextDecoder().decode(meta.get(key) ?? new Uint8Array(0)).split(' ');
  return { at: Number(at) || 0, forContact: forContact === undefined || forContact === '' ? undefined : forContact };
}

function issuedAt(meta: NodeMeta, key: string): number {
  return recordOf(meta, key).at;
}

/** A new invite secret, remembered (for `forContact`, a contact key, when given); call inside a store transaction. */
export function issueInvite(meta: NodeMeta, rng: Rng, now: number, forContact?: string): Uint8Array {
  const outstanding = meta
    .keys(PREFIX)
    .map((k) => ({ k, at: issuedAt(meta, k) }))
    .sort((x, y) => x.at - y.at);
  outstanding.forEach(({ k, at }, i) => {
    if (now - at > INVITE_TTL_MS || outstanding.length - i >= MAX_INVITES) forget(meta, k);
  });
  const secret = rng.bytes(INVITE_SECRET_LENGTH);
  const key = keyOf(secret);
  if (forContact !== undefined && (forContact.length === 0 || forContact.includes(' '))) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'invite: a contact key');
  meta.set(key, new TextEncoder().encode(forContact === undefined ? String(now) : `${now} ${forContact}`));
  meta.set(BOX_PREFIX + key.slice(PREFIX.length), inviteMailboxSecret(secret));
  return secret;
}

function forget(meta: NodeMeta, key: string): void {
  meta.delete(key);
  meta.delete(BOX_PREFIX + key.slice(PREFIX.length));
}

/**
 * The mailbox secrets of the newest FETCHED_INVITES outstanding, unexpired invites, with their issue
 * times (a fetch need not ask days before an invite existed).
 */
export function inviteBoxes(meta: NodeMeta, now: number): { secret: Uint8Array; issuedAt: number }[] {
  return meta
    .keys(PREFIX)
    .map((k) => ({ k, at: issuedAt(meta, k) }))
    .filter(({ at }) => now - at <= INVITE_TTL_MS)
    .sort((x, y) => y.at - x.at)
    .slice(0, FETCHED_INVITES)
    .flatMap(({ k, at }) => {
      const secret = meta.get(BOX_PREFIX + k.slice(PREFIX.length));
      return secret?.length === 32 ? [{ secret, issuedAt: at }] : [];
    });
}

/**
 * Accepts an invite secret once (call inside the transaction that adds the contact); returns the
 * contact key it was issued for, if any.
 */
export function consumeInvite(meta: NodeMeta, secret: Uint8Array, now: number): string | undefined {
  const key = keyOf(secret);
  if (meta.get(key) === undefined) throw new ProtocolError(ErrorCodes.UNTRUSTED_IDENTITY, 'hello: unknown or used invite');
  const { at, forContact } = recordOf(meta, key);
  if (now - at > INVITE_TTL_MS) throw new ProtocolError(ErrorCodes.UNTRUSTED_IDENTITY, 'hello: expired invite');
  forget(meta, key); // one-time
  return forContact;
}

/** A local contact name: 1–64 UTF-8 bytes after trimming, no control characters (they could rewrite a terminal). */
export function checkName(name: string | null | undefined): string | null {
  if (name === undefined || name === null) return null;
  if (typeof name !== 'string') throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'name: a string');
  const t = name.trim();
  if (t === '' || Buffer.byteLength(t, 'utf8') > NAME_MAX_BYTES || /\p{Cc}/u.test(t)) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `name: 1 to ${NAME_MAX_BYTES} bytes, no control characters`);
  }
  return t;
}

/** Addresses for an invite, likeliest to work from elsewhere first: public, then LAN, then loopback; TCP before WebSockets. */
export function inviteOrder(addresses: readonly string[]): string[] {
  const rank = (a: string): number =>
    (/^\/ip[46]\/(127\.|::1\/)/.test(a) ? 4 : /^\/ip4\/(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.)|^\/ip6\/(f[cd]|fe80)/i.test(a) ? 2 : 0) +
    (a.includes('/ws') ? 1 : 0);
  return [...addresses].sort((x, y) => rank(x) - rank(y));
}
