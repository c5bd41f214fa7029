/**
 * How contacts reach each other privately (docs/delivery.md "Inbox"): each side tells the other, inside
 * the session, its node's onion key and a mailbox rendezvous secret made for that one contact. Kept in
 * the sealed meta area:
 *   node.inbox-of/<contact>   what the contact told us: onion key (32) | mailbox secret (32)
 *   node.inbox-for/<contact>  the secret we gave the contact (we fetch its mailboxes)
 *   node.inbox-key            the onion key our last `inbox` messages carried (a new one is announced)
 *   node.first-box/<contact>  the mailbox secret of the invite we added the contact from, until its
 *                             `inbox` arrives: where our first messages go when its node is out of reach
 * This module knows nothing of sessions or the network; messaging.ts sends and applies `inbox` messages.
 */
import { equalBytes } from '../lib/bytes.ts';
import type { Rng } from '../lib/deps.ts';
import { x25519PublicKey, type X25519PublicKey } from '../crypto/x25519.ts';
import { MAILBOX_SECRET_LENGTH } from '../protocol/mailbox/keys.ts';
import type { AppMessage } from '../protocol/wire/app-message.ts';
import type { NodeMeta } from './node-store.ts';

const THEIRS = 'node.inbox-of/';
const OURS = 'node.inbox-for/';
const SENT_KEY = 'node.inbox-key';
const FIRST_BOX = 'node.first-box/';

export interface ContactInbox {
  readonly routingKey: X25519PublicKey;
  readonly mailboxSecret: Uint8Array;
}

/** What a contact told us, if anything (an unreadable record counts as nothing). */
export function inboxOf(meta: NodeMeta, contact: string): ContactInbox | undefined {
  const raw = meta.get(THEIRS + contact);
  if (raw?.length !== 32 + MAILBOX_SECRET_LENGTH) return undefined;
  try {
    return { routingKey: x25519PublicKey(raw.slice(0, 32)), mailboxSecret: raw.slice(32) };
  } catch {
    return undefined;
  }
}

/** Inside a transaction: records a received `inbox` message (the key is validated first). */
export function applyInbox(meta: NodeMeta, contact: string, m: Extract<AppMessage, { type: 'inbox' }>): void {
  const key = x25519PublicKey(m.routingKey);
  const value = new Uint8Array(32 + MAILBOX_SECRET_LENGTH);
  value.set(key, 0);
  value.set(m.mailboxSecret, 32);
  meta.set(THEIRS + contact, value);
  meta.delete(FIRST_BOX + contact);
}

/** Inside a transaction: the invite's mailbox secret for a contact added from it (protocol/invite.ts). */
export function rememberFirstBox(meta: NodeMeta, contact: string, secret: Uint8Array): void {
  meta.set(FIRST_BOX + contact, secret);
}

/**
 * The mailbox secret to deposit a contact's mail under: the one it gave us, else — before its `inbox`
 * arrived — the one of the invite we added it from.
 */
export function depositSecretOf(meta: NodeMeta, contact: string): Uint8Array | undefined {
  const inbox = inboxOf(meta, contact);
  if (inbox) return inbox.mailboxSecret;
  const first = meta.get(FIRST_BOX + contact);
  return first?.length === MAILBOX_SECRET_LENGTH ? first : undefined;
}

/** The mailbox secret we gave `contact`, made on first use (inside a transaction). */
export function ourSecretFor(meta: NodeMeta, contact: string, rng: Rng): Uint8Array {
  const existing = meta.get(OURS + contact);
  if (existing?.length === MAILBOX_SECRET_LENGTH) return existing;
  const secret = rng.bytes(MAILBOX_SECRET_LENGTH);
  meta.set(OURS + contact, secret);
  return secret;
}

/** Every contact we gave a mailbox secret to, with it (the mailboxes we fetch). */
export function ourSecrets(meta: NodeMeta): { contact: string; secret: Uint8Array }[] {
  const out: { contact: string; secret: Uint8Array }[] = [];
  for (const k of meta.keys(OURS)) {
    const secret = meta.get(k);
    if (secret?.length === MAILBOX_SECRET_LENGTH) out.push({ contact: k.slice(OURS.length), secret });
  }
  return out;
}

/** Whether contacts still have to learn `key` (it changed since the last `inbox` messages). */
export function inboxKeyChanged(meta: NodeMeta, key: X25519PublicKey): boolean {
  const sent = meta.get(SENT_KEY);
  return !sent || !equalBytes(sent, key);
}

export function markInboxKeySent(meta: NodeMeta, key: X25519PublicKey): void {
  meta.set(SENT_KEY, key);
}
