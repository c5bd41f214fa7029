/**
 * Contacts: the people we talk to, keyed by user ID. A contact has an encoded public identity (opaque
 * bytes from src/protocol/identity.ts), a local display name (unique when set), a verified flag, the
 * history of identities it had before (key changes), a keyChanged flag (set by a key change, cleared
 * when the user verifies or accepts), the addresses it told us inside the encrypted channel, and an
 * optional 32-byte pairwise secret (rendezvous secret, sealed at rest).
 *
 * This module knows nothing of key types, sessions or the network; it keeps bytes and strings.
 * Implementations: the in-memory reference below and contacts-sqlite.ts; one compliance suite
 * (test/unit/store/contacts-compliance.ts) runs against both.
 */
import { assertBytes } from '../lib/assert.ts';
import { CompeerError, ErrorCodes, StateError } from '../lib/errors.ts';
import { mapDelete, mapSet, noUndo, type UndoLog } from './memory-tx.ts';

export const PAIRWISE_SECRET_LENGTH = 32;
/** Limits on what a contact may make us keep (addresses are learned from the contact itself). */
export const MAX_CONTACT_ADDRESSES = 16;
export const MAX_ADDRESS_LENGTH = 512;

export interface ContactRecord {
  readonly userId: string;
  /** Local display name; unique among contacts when not null. */
  readonly name: string | null;
  /** The encoded public identity currently trusted for this contact. */
  readonly publicKey: Uint8Array;
  readonly verified: boolean;
  /** The identity changed since it was last verified or accepted. */
  readonly keyChanged: boolean;
  /** Last known addresses (multiaddr strings), learned only inside the encrypted channel. */
  readonly addresses: readonly string[];
  /** ms since the Unix epoch. */
  readonly createdAt: number;
}

export interface NewContact {
  readonly userId: string;
  readonly name: string | null;
  readonly publicKey: Uint8Array;
  readonly createdAt: number;
  readonly verified?: boolean;
  readonly addresses?: readonly string[];
}

/** An identity the contact had before a key change. */
export interface KeyChange {
  readonly publicKey: Uint8Array;
  /** When it was replaced (ms). */
  readonly replacedAt: number;
}

export interface ContactRepository {
  /** ALREADY_EXISTS when the user ID is known or the name is taken. */
  add(contact: NewContact): void;
  get(userId: string): ContactRecord | undefined;
  /** Whether the contact exists (get without the copy: the send path asks once per message). */
  has(userId: string): boolean;
  /**
   * A contact by exact name, else by exact user ID, else by unique user-ID prefix (case-insensitive).
   * NOT_FOUND when nothing matches, INVALID_ARGUMENT when a prefix matches several contacts.
   */
  resolve(nameOrPrefix: string): ContactRecord;
  /** All contacts, oldest first (createdAt, then userId). */
  list(): ContactRecord[];
  /** NOT_FOUND for an unknown contact; ALREADY_EXISTS when another contact has the name. */
  rename(userId: string, name: string | null): void;
  /**
   * Records a new identity for the contact: the old one goes to the history with `now`, keyChanged is
   * set and verified cleared. The same identity again is a no-op. NOT_FOUND for an unknown contact.
   */
  changeIdentity(userId: string, publicKey: Uint8Array, now: number): void;
  /** Sets verified; verifying (true) also clears keyChanged. NOT_FOUND for an unknown contact. */
  setVerified(userId: string, verified: boolean): void;
  /** The user accepted the new identity without verifying: clears keyChanged. */
  acceptKeyChange(userId: string): void;
  /** Previous identities, oldest first. */
  keyHistory(userId: string): KeyChange[];
  /** Replaces the known addresses (at most MAX_CONTACT_ADDRESSES, each at most MAX_ADDRESS_LENGTH). */
  setAddresses(userId: string, addresses: readonly string[]): void;
  /** The pairwise (rendezvous) secret, or undefined when none is set (NOT_FOUND for an unknown contact); returned bytes are the caller's to wipe. */
  getSecret(userId: string): Uint8Array | undefined;
  /** Sets (32 bytes) or clears (null) the pairwise secret. NOT_FOUND for an unknown contact. */
  setSecret(userId: string, secret: Uint8Array | null): void;
  /** Deletes the contact with its history and secret; returns whether it existed. */
  remove(userId: string): boolean;
}

export function contactNotFound(what: string): CompeerError {
  return new StateError(ErrorCodes.NOT_FOUND, `no contact ${what}`);
}

export function checkAddresses(addresses: readonly string[]): string[] {
  if (addresses.length > MAX_CONTACT_ADDRESSES) {
    throw new CompeerError(ErrorCodes.LIMIT_EXCEEDED, `contact addresses: at most ${MAX_CONTACT_ADDRESSES}, got ${addresses.length}`);
  }
  for (const a of addresses) {
    if (typeof a !== 'string' || a.length === 0 || a.length > MAX_ADDRESS_LENGTH) {
      throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `contact address: 1 to ${MAX_ADDRESS_LENGTH} characters`);
    }
  }
  return [...addresses];
}

export function checkSecret(secret: Uint8Array | null): void {
  if (secret !== null) assertBytes(secret, 'pairwise secret', PAIRWISE_SECRET_LENGTH);
}

/**
 * The resolution rule shared by both implementations: `candidates` are the contacts whose name equals
 * the query or whose user ID starts with it (lowercased).
 */
export function pickResolved(query: string, candidates: readonly ContactRecord[]): ContactRecord {
  const byName = candidates.find((c) => c.name === query);
  if (byName) return byName;
  const q = query.toLowerCase();
  const exact = candidates.find((c) => c.userId === q);
  if (exact) return exact;
  const prefixed = candidates.filter((c) => q.length > 0 && c.userId.startsWith(q));
  if (prefixed.length === 1) return prefixed[0] as ContactRecord;
  if (prefixed.length > 1) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `"${query}" matches ${prefixed.length} contacts; give more of the user ID`);
  }
  throw contactNotFound(`named or starting with "${query}"`);
}

export function nameTaken(): CompeerError {
  return new StateError(ErrorCodes.ALREADY_EXISTS, 'another contact has this name');
}

function copyContact(c: ContactRecord): ContactRecord {
  return { ...c, publicKey: c.publicKey.slice(), addresses: [...c.addresses] };
}

interface MemoryContact {
  readonly record: ContactRecord;
  readonly history: readonly KeyChange[];
  readonly secret: Uint8Array | null;
}

/** Reference implementation: the behaviour the sqlite one must match, minus persistence. */
export function memoryContactRepository(log: UndoLog = noUndo): ContactRepository {
  const rows = new Map<string, MemoryContact>();
  const must = (userId: string): MemoryContact => {
    const c = rows.get(userId);
    if (!c) throw contactNotFound(userId);
    return c;
  };
  const nameFree = (name: string | null, except?: string): boolean =>
    name === null || ![...rows.values()].some((c) => c.record.name === name && c.record.userId !== except);
  const update = (userId: string, change: (c: MemoryContact) => MemoryContact): void => {
    mapSet(log, rows, userId, change(must(userId)));
  };
  const withRecord = (c: MemoryContact, r: Partial<ContactRecord>): MemoryContact => ({ ...c, record: { ...c.record, ...r } });
  return {
    add(n) {
      if (rows.has(n.userId)) throw new StateError(ErrorCodes.ALREADY_EXISTS, 'contact already exists');
      if (!nameFree(n.name)) throw nameTaken();
      const record: ContactRecord = {
        userId: n.userId,
        name: n.name,
        publicKey: n.publicKey.slice(),
        verified: n.verified ?? false,
        keyChanged: false,
        addresses: checkAddresses(n.addresses ?? []),
        createdAt: n.createdAt,
      };
      mapSet(log, rows, n.userId, { record, history: [], secret: null });
    },
    has: (userId) => rows.has(userId),
    get: (userId) => {
      const c = rows.get(userId);
      return c ? copyContact(c.record) : undefined;
    },
    resolve(query) {
      const q = query.toLowerCase();
      const cands = [...rows.values()].map((c) => c.record).filter((r) => r.name === query || (q.length > 0 && r.userId.startsWith(q)));
      return copyContact(pickResolved(query, cands));
    },
    list: () =>
      [...rows.values()]
        .map((c) => copyContact(c.record))
        .sort((a, b) => a.createdAt - b.createdAt || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0)),
    rename(userId, name) {
      must(userId);
      if (!nameFree(name, userId)) throw nameTaken();
      update(userId, (c) => withRecord(c, { name }));
    },
    changeIdentity(userId, publicKey, now) {
      const c = must(userId);
      const old = c.record.publicKey;
      if (old.length === publicKey.length && old.every((b, i) => b === publicKey[i])) return;
      mapSet(log, rows, userId, {
        ...withRecord(c, { publicKey: publicKey.slice(), keyChanged: true, verified: false }),
        history: [...c.history, { publicKey: old, replacedAt: now }],
      });
    },
    setVerified(userId, verified) {
      update(userId, (c) => withRecord(c, verified ? { verified, keyChanged: false } : { verified }));
    },
    acceptKeyChange(userId) {
      update(userId, (c) => withRecord(c, { keyChanged: false }));
    },
    keyHistory: (userId) => (rows.get(userId)?.history ?? []).map((h) => ({ publicKey: h.publicKey.slice(), replacedAt: h.replacedAt })),
    setAddresses(userId, addresses) {
      const list = checkAddresses(addresses);
      update(userId, (c) => withRecord(c, { addresses: list }));
    },
    getSecret: (userId) => must(userId).secret?.slice(),
    setSecret(userId, secret) {
      checkSecret(secret);
      update(userId, (c) => ({ ...c, secret: secret === null ? null : secret.slice() }));
    },
    remove: (userId) => mapDelete(log, rows, userId),
  };
}
