/**
 * The public Compeer API: what the composition root (src/node/) offers to the control API (src/api/),
 * the CLI and tests. Plain data (DTOs) only — JSON-safe, no key objects, no libp2p types — so the
 * same shapes travel over the local HTTP API and print with `--json`.
 * Events are emitted only after the store has committed what they report.
 */

export type MessageStatus = 'queued' | 'sent' | 'held' | 'delivered' | 'expired' | 'failed';
export type MessageDirection = 'in' | 'out';
export type NetworkState = 'online' | 'degraded' | 'local-only';

export interface IdentityInfo {
  userId: string;
  name: string | null;
  /** Fingerprint of our own identity for display (hex groups); the per-contact safety number is in verify(). */
  safetyFingerprint: string;
  /** compeer:// invite link (identity keys, current addresses, one-time secret). */
  invite: string;
  /** Our libp2p listen addresses (multiaddr strings with /p2p/<peerId>). */
  addresses: string[];
}

export interface ContactInfo {
  userId: string;
  name: string | null;
  verified: boolean;
  /** The contact's identity key changed since it was last verified or accepted. */
  keyChanged: boolean;
}

export interface MessageInfo {
  id: string;
  contact: string;
  direction: MessageDirection;
  text: string;
  status: MessageStatus;
  /** ms since epoch; for incoming messages, the sender's claimed time. */
  sentAt: number;
  /** ms since epoch; null for outgoing messages. */
  receivedAt: number | null;
}

export interface VerifyInfo {
  /** 60 digits, 12 groups of 5. */
  safetyNumber: string;
  /** SAS emoji + decimal, when a SAS verification has completed for this contact; else null. */
  sas: string | null;
  verified: boolean;
}

export interface PeerInfo {
  peerId: string;
  addresses: string[];
  lastSeen: number;
  score: number;
}

export interface StatusInfo {
  state: NetworkState;
  /** Why the state is what it is (human-readable, no user data). */
  reason: string;
  peers: number;
  outbox: { queued: number; held: number };
}

export type CompeerEvent =
  | { type: 'message'; message: MessageInfo }
  | { type: 'status'; id: string; contact: string; status: MessageStatus }
  | { type: 'contact'; contact: ContactInfo };

export interface SendOptions {
  /** Time to live in ms (default 7 days). */
  ttlMs?: number;
  /**
   * Relays on the path, 0..5. 0 allows direct delivery; N > 0 is strict (the message waits for N relays).
   * Omitted: up to 3, as many as are known (direct when none is).
   */
  hops?: number;
}

export interface MessagesQuery {
  /** Wait up to this many ms until at least `count` messages exist. */
  waitMs?: number;
  count?: number;
}

/** `contact` arguments are a name or a unique prefix of a user ID (else NOT_FOUND / INVALID_ARGUMENT). */
export interface CompeerApi {
  /**
   * Identity, addresses and a fresh invite; `forContact` (a name or user ID prefix): an invite for that
   * contact's new identity — only its hello may move the contact to another key.
   */
  id(opts?: { forContact?: string }): Promise<IdentityInfo>;
  addContact(invite: string, name?: string): Promise<{ userId: string; name: string | null }>;
  contacts(): Promise<ContactInfo[]>;
  send(contact: string, text: string, opts?: SendOptions): Promise<{ id: string; status: MessageStatus }>;
  messages(contact: string, query?: MessagesQuery): Promise<MessageInfo[]>;
  verify(contact: string, confirm: boolean): Promise<VerifyInfo>;
  peers(): Promise<PeerInfo[]>;
  status(): Promise<StatusInfo>;
  /** Subscribes to events; returns an unsubscribe function. */
  on(listener: (event: CompeerEvent) => void): () => void;
}
