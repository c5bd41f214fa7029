/**
 * A mailbox holder: keeps opaque blobs for offline recipients and hands them out against a proof of
 * ownership (docs/mailboxes.md; keys and proofs in protocol/mailbox/keys.ts, wire in
 * protocol/mailbox/wire.ts). Pure: storage, time and randomness are injected.
 *
 *   deposit  (onion exit payload) 1. size and TTL checks 2. put (id = SHA-256(blob)[0..16]) 3. over a
 *            per-mailbox or total cap (after sweeping expired items) → roll the put back and refuse
 *   challenge 32 random bytes for this peer (one outstanding per peer, replacing any earlier one)
 *   fetch    1. a live challenge of this peer 2. proof (op fetch) 3. oldest `limit` unexpired items
 *   delete   1. a live challenge of this peer 2. proof (op delete) 3. remove ids 4. challenge consumed
 *
 * A challenge is valid for `challengeTtlMs`; a fetch may reuse it while it lives (paging), a successful
 * delete consumes it, and so does a bad proof (one verification per challenge round trip). The table
 * holds at most `maxChallenges` peers, the oldest evicted first. It lives in memory only.
 *
 * This module knows nothing of who the holders of an address are (r-closest selection), of streams
 * or of rate limits per connection (src/net/); it never sees sender, recipient or plaintext.
 */
import { assertBytes, assertInteger } from '../lib/assert.ts';
import type { Clock, Rng } from '../lib/deps.ts';
import { CompeerError, ErrorCodes, isCompeerError } from '../lib/errors.ts';
import { silentLogger, type Logger } from '../lib/log.ts';
import { sha256 } from '../crypto/hash.ts';
import { MAILBOX_ADDRESS_LENGTH, MAILBOX_CHALLENGE_LENGTH, verifyMailboxProof, type MailboxOp } from '../protocol/mailbox/keys.ts';
import {
  decodeMailboxRequest,
  encodeMailboxResponse,
  MAILBOX_BLOB_MAX_BYTES,
  MAILBOX_DELETE_MAX,
  MAILBOX_FETCH_MAX,
  MAILBOX_ID_LENGTH,
  type MailboxRefusal,
  type MailboxResponse,
  type MailboxWireItem,
} from '../protocol/mailbox/wire.ts';
import type { MailboxRepository } from '../store/mailboxes.ts';

export interface MailboxHolderLimits {
  /** Blobs one mailbox may hold (default 256). */
  readonly maxItemsPerMailbox: number;
  /** Blob bytes one mailbox may hold (default 1 MiB). */
  readonly maxBytesPerMailbox: number;
  /** Blobs held in all (default 50,000). */
  readonly maxTotalItems: number;
  /** Blob bytes held in all (default 64 MiB). */
  readonly maxTotalBytes: number;
  /** expiresAt may be at most now + this (default 30 days). */
  readonly maxTtlMs: number;
  /** How long a challenge stays valid (default 60 s). */
  readonly challengeTtlMs: number;
  /** Outstanding challenges kept, one per peer (default 4,096; the oldest is evicted). */
  readonly maxChallenges: number;
}

export const MAILBOX_HOLDER_DEFAULTS: MailboxHolderLimits = {
  maxItemsPerMailbox: 256,
  maxBytesPerMailbox: 1024 * 1024,
  maxTotalItems: 50_000,
  maxTotalBytes: 64 * 1024 * 1024,
  maxTtlMs: 30 * 86_400_000,
  challengeTtlMs: 60_000,
  maxChallenges: 4096,
};

export type DepositRefusal = 'quota' | 'full' | 'expired' | 'too-large' | 'ttl-too-long';
export type DepositResult = { readonly outcome: 'stored' | 'duplicate' } | { readonly outcome: 'refused'; readonly reason: DepositRefusal };
export type FetchResult =
  | { readonly outcome: 'items'; readonly items: readonly MailboxWireItem[]; readonly more: boolean }
  | { readonly outcome: 'refused'; readonly reason: MailboxRefusal };
export type DeleteResult = { readonly outcome: 'deleted'; readonly count: number } | { readonly outcome: 'refused'; readonly reason: MailboxRefusal };

export interface MailboxHolderDeps {
  readonly repo: MailboxRepository;
  /** The store's transaction (Store.transaction): a refused deposit is rolled back through it. */
  readonly transaction: <T>(fn: () => T) => T;
  readonly clock: Clock;
  readonly rng: Rng;
  /** This holder's own peer ID: proofs are bound to it. */
  readonly selfPeerId: string;
  readonly limits?: Partial<MailboxHolderLimits>;
  readonly logger?: Logger;
}

export interface MailboxHolder {
  deposit(address: Uint8Array, blob: Uint8Array, expiresAt: number): DepositResult;
  /** A fresh 32-byte challenge for `peerId`, replacing any earlier one. */
  challenge(peerId: string): Uint8Array;
  fetch(peerId: string, address: Uint8Array, proof: Uint8Array, limit: number): FetchResult;
  delete(peerId: string, address: Uint8Array, proof: Uint8Array, ids: readonly Uint8Array[]): DeleteResult;
  /** Drops expired blobs; returns how many. */
  expire(): number;
  /** One `/compeer/mailbox/1` exchange: request bytes in, response bytes out. Never throws. */
  handle(peerId: string, request: Uint8Array): Uint8Array;
  /** Outstanding challenges (for tests and status). */
  challenges(): number;
}

/** Thrown inside the deposit transaction to roll the put back; never escapes. */
class OverCap extends Error {
  readonly reason: 'quota' | 'full';
  constructor(reason: 'quota' | 'full') {
    super(reason);
    this.reason = reason;
  }
}

/** A blob's id: the first 16 bytes of its SHA-256 (computed by the holder, so depositors cannot pick ids). */
export function mailboxItemId(blob: Uint8Array): Uint8Array {
  return sha256(blob).slice(0, MAILBOX_ID_LENGTH);
}

function checkLimits(l: MailboxHolderLimits): void {
  for (const [k, v] of Object.entries(l)) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `mailbox holder: ${k} must be a positive integer`);
    }
  }
}

export function createMailboxHolder(deps: MailboxHolderDeps): MailboxHolder {
  const limits: MailboxHolderLimits = { ...MAILBOX_HOLDER_DEFAULTS, ...deps.limits };
  checkLimits(limits);
  const { repo, transaction, clock, rng } = deps;
  const logger = deps.logger ?? silentLogger;
  // Insertion order is issue order: the first entry is the oldest.
  const outstanding = new Map<string, { readonly nonce: Uint8Array; readonly issuedAt: number }>();

  /** The peer's live challenge, or undefined (an expired one is dropped). */
  const liveChallenge = (peerId: string, now: number): Uint8Array | undefined => {
    const c = outstanding.get(peerId);
    if (c === undefined) return undefined;
    if (now - c.issuedAt >= limits.challengeTtlMs) {
      outstanding.delete(peerId);
      return undefined;
    }
    return c.nonce;
  };

  /** Checks the challenge and the proof; a bad proof consumes the challenge. */
  const authorize = (peerId: string, address: Uint8Array, proof: Uint8Array, op: MailboxOp): MailboxRefusal | undefined => {
    const nonce = liveChallenge(peerId, clock());
    if (nonce === undefined) return 'no-challenge';
    try {
      verifyMailboxProof(address, deps.selfPeerId, nonce, op, proof);
      return undefined;
    } catch (e) {
      if (!isCompeerError(e)) throw e;
      outstanding.delete(peerId);
      return 'bad-proof';
    }
  };

  const holder: MailboxHolder = {
    deposit(address, blob, expiresAt) {
      assertBytes(address, 'mailbox address', MAILBOX_ADDRESS_LENGTH);
      assertBytes(blob, 'mailbox blob');
      if (blob.length === 0 || blob.length > MAILBOX_BLOB_MAX_BYTES) return { outcome: 'refused', reason: 'too-large' };
      const now = clock();
      if (!Number.isSafeInteger(expiresAt) || expiresAt <= now) return { outcome: 'refused', reason: 'expired' };
      if (expiresAt > now + limits.maxTtlMs) return { outcome: 'refused', reason: 'ttl-too-long' };
      const item = { address, id: mailboxItemId(blob), blob, expiresAt, storedAt: now };
      const overCap = (): 'quota' | 'full' | undefined => {
        const box = repo.usage(address);
        if (box.count > limits.maxItemsPerMailbox || box.bytes > limits.maxBytesPerMailbox) return 'quota';
        const all = repo.totals();
        if (all.count > limits.maxTotalItems || all.bytes > limits.maxTotalBytes) return 'full';
        return undefined;
      };
      try {
        return transaction(() => {
          // Expired items are swept only when they would matter: a duplicate (it may be an expired
          // copy) or a cap (they may hold the room). expire() sweeps the rest.
          let outcome = repo.put(item);
          if (outcome === 'duplicate') {
            if (repo.removeExpired(now) === 0) return { outcome };
            outcome = repo.put(item);
            if (outcome === 'duplicate') return { outcome };
          }
          let over = overCap();
          if (over !== undefined && repo.removeExpired(now) > 0) over = overCap();
          if (over !== undefined) throw new OverCap(over);
          return { outcome };
        });
      } catch (e) {
        if (e instanceof OverCap) return { outcome: 'refused', reason: e.reason };
        throw e;
      }
    },

    challenge(peerId) {
      const nonce = rng.bytes(MAILBOX_CHALLENGE_LENGTH);
      outstanding.delete(peerId);
      outstanding.set(peerId, { nonce, issuedAt: clock() });
      while (outstanding.size > limits.maxChallenges) {
        const oldest = outstanding.keys().next();
        if (oldest.done) break;
        outstanding.delete(oldest.value);
      }
      return nonce.slice();
    },

    fetch(peerId, address, proof, limit) {
      assertInteger(limit, 'fetch limit', 1, MAILBOX_FETCH_MAX);
      const refused = authorize(peerId, address, proof, 'fetch');
      if (refused !== undefined) return { outcome: 'refused', reason: refused };
      const now = clock();
      let found = repo.list(address, limit + 1);
      if (found.some((i) => i.expiresAt <= now)) {
        repo.removeExpired(now);
        found = repo.list(address, limit + 1);
      }
      const items = found.slice(0, limit).map((i) => ({ id: i.id, blob: i.blob, expiresAt: i.expiresAt }));
      return { outcome: 'items', items, more: found.length > limit };
    },

    delete(peerId, address, proof, ids) {
      assertInteger(ids.length, 'delete ids', 1, MAILBOX_DELETE_MAX);
      const refused = authorize(peerId, address, proof, 'delete');
      if (refused !== undefined) return { outcome: 'refused', reason: refused };
      outstanding.delete(peerId);
      return { outcome: 'deleted', count: repo.remove(address, ids) };
    },

    expire: () => repo.removeExpired(clock()),

    handle(peerId, request) {
      let response: MailboxResponse;
      try {
        const req = decodeMailboxRequest(request);
        switch (req.type) {
          case 'challenge':
            response = { type: 'challenge', nonce: holder.challenge(peerId) };
            break;
          case 'fetch': {
            const r = holder.fetch(peerId, req.address, req.proof, req.limit);
            response = r.outcome === 'items' ? { type: 'items', items: r.items, more: r.more } : { type: 'refused', reason: r.reason };
            break;
          }
          case 'delete': {
            const r = holder.delete(peerId, req.address, req.proof, req.ids);
            response = r.outcome === 'deleted' ? { type: 'deleted', count: r.count } : { type: 'refused', reason: r.reason };
            break;
          }
        }
      } catch (e) {
        // Malformed input lands here; so would a store failure, which is logged (code only, no data).
        if (!isCompeerError(e) || e.code === ErrorCodes.INTERNAL || e.code === ErrorCodes.STATE_CORRUPT) {
          logger.warn('mailbox request failed', { code: isCompeerError(e) ? e.code : 'unexpected' });
        }
        response = { type: 'refused', reason: 'malformed' };
      }
      return encodeMailboxResponse(response);
    },

    challenges: () => outstanding.size,
  };
  return holder;
}

