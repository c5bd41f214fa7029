/**
 * Fetching our mail (docs/mailboxes.md, docs/delivery.md "Mailboxes"): for every contact we gave a
 * mailbox secret, and for our newest outstanding invites (where an invitee that could not reach our
 * node leaves its first messages: invites.ts), the addresses of the last days are derived and asked of
 * the holders closest to each
 * — challenge, fetch with a proof of the day key, then delete what was taken. Chunks are reassembled
 * into envelopes and handed to messaging like any routed envelope (deduplicated there by message id).
 * A holder learns an address, a day key and our node (its peer ID and IP address: the fetch is a direct
 * request), not from these our user: our node gives its bundle, which names the user, only to a peer
 * that names that user already (bundles.ts), so a holder can confirm a user ID it knows or guesses (a
 * contact's node may hold our box), and a DHT peer that stores our bundle record, or saw our node put
 * it or look its key up, can tie our peer ID to our user (docs/threat-model.md). Bounded: days, holders
 * and rounds; the holders of one box are asked in parallel (at most r = MAILBOX_REPLICAS in flight).
 */
import type { Clock, Rng } from '../lib/deps.ts';
import { ErrorCodes, ProtocolError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { deriveMailbox, mailboxDay, signMailboxProof, type Mailbox } from '../protocol/mailbox/keys.ts';
import {
  decodeMailboxResponse,
  encodeMailboxRequest,
  MAILBOX_FETCH_MAX,
  MAILBOX_PROTOCOL,
  MAILBOX_RESPONSE_MAX_BYTES,
  type MailboxRequest,
  type MailboxResponse,
} from '../protocol/mailbox/wire.ts';
import { createReassembler } from '../routing/chunks.ts';
import type { RouteTarget } from '../routing/router.ts';
import type { NetNode } from '../net/index.ts';
import type { NodeStore } from './node-store.ts';
import { ourSecrets } from './inbox.ts';
import { inviteBoxes } from './invites.ts';
import { byPeer } from './bundles.ts';

/** Days looked at on a full fetch (the longest TTL a sender may choose is 30 days; 7 is the default). */
export const FULL_FETCH_DAYS = 8;
/**
 * Invite boxes are asked at the first fetch after start, then at most this often: an invitee deposits
 * there only while our node is out of its reach (mostly: offline, and so fetched at our next start),
 * and each box costs every holder a challenge and a fetch per day asked — a node with unanswered
 * invites would otherwise add that to every poll, for a month.
 */
export const INVITE_FETCH_EVERY_MS = 10 * 60_000;
const ROUNDS_PER_MAILBOX = 8;

export interface MailboxFetchDeps {
  readonly store: NodeStore;
  readonly net: NetNode;
  readonly rng: Rng;
  readonly clock: Clock;
  readonly log: Logger;
  readonly holdersFor: (address: Uint8Array, exclude: ReadonlySet<string>) => RouteTarget[];
  readonly onEnvelope: (envelope: Uint8Array) => Promise<void>;
  readonly timeoutMs: number;
}

export interface MailboxFetcher {
  /** Fetches the last `days` days of every mailbox; resolves to the envelopes received. */
  fetch(days: number): Promise<number>;
}

export function createMailboxFetcher(d: MailboxFetchDeps): MailboxFetcher {
  const { net, log } = d;
  const reassembler = createReassembler({ clock: d.clock });
  let running: Promise<number> | undefined;
  let invitesAskedAt: number | undefined;

  const ask = async (holder: RouteTarget, req: MailboxRequest): Promise<MailboxResponse> => {
    const res = await net.request(holder.peerId, holder.addresses, MAILBOX_PROTOCOL, encodeMailboxRequest(req), {
      timeoutMs: d.timeoutMs,
      maxResponseBytes: MAILBOX_RESPONSE_MAX_BYTES,
    });
    return decodeMailboxResponse(res);
  };

  /** Drains one mailbox at one holder; resolves to the envelopes completed. */
  const drain = async (holder: RouteTarget, box: Mailbox): Promise<number> => {
    let received = 0;
    for (let round = 0; round < ROUNDS_PER_MAILBOX; round++) {
      const ch = await ask(holder, { type: 'challenge' });
      if (ch.type !== 'challenge') throw new ProtocolError(ErrorCodes.UNEXPECTED_MESSAGE, `mailbox: ${ch.type} instead of a challenge`);
      const proof = signMailboxProof(box, holder.peerId, ch.nonce, 'fetch');
      const res = await ask(holder, { type: 'fetch', address: box.address, proof, limit: MAILBOX_FETCH_MAX });
      if (res.type !== 'items') throw new ProtocolError(ErrorCodes.UNEXPECTED_MESSAGE, `mailbox: fetch answered ${res.type === 'refused' ? res.reason : res.type}`);
      if (res.items.length === 0) break;
      for (const item of res.items) {
        try {
          const envelope = reassembler.add(item.blob);
          if (envelope) {
            received++;
            await d.onEnvelope(envelope);
          }
        } catch (e) {
          log.warn('mailbox item refused', { error: e instanceof Error ? e : String(e) });
        }
      }
      // Deleted only after the envelopes were handed over (stored, or refused for good).
      const del = await ask(holder, {
        type: 'delete',
        address: box.address,
        proof: signMailboxProof(box, holder.peerId, ch.nonce, 'delete'),
        ids: res.items.map((i) => i.id),
      });
      if (del.type !== 'deleted') log.info('mailbox delete refused', { reason: del.type === 'refused' ? del.reason : del.type });
      if (!res.more) break;
    }
    return received;
  };

  const run = async (days: number): Promise<number> => {
    const now = d.clock();
    const today = mailboxDay(now);
    let total = 0;
    const self = new Set([net.peerId]);
    const boxes = ourSecrets(d.store.meta).map(({ contact, secret }) => ({
      secret,
      // The same exclusions as the depositing contact's (outbound.ts): neither end's own node holds.
      exclude: new Set([...self, ...byPeer(d.store.contacts.get(contact)?.addresses ?? []).keys()]),
      from: today - days,
    }));
    // An invitee's node is not known yet: only ours is left out (the invitee leaves out its own too, so
    // at most one of the r holders differs). No day before the invite existed.
    if (invitesAskedAt === undefined || now - invitesAskedAt >= INVITE_FETCH_EVERY_MS) {
      invitesAskedAt = now;
      for (const { secret, issuedAt } of inviteBoxes(d.store.meta, now)) boxes.push({ secret, exclude: self, from: Math.max(today - days, mailboxDay(issuedAt) - 1) });
    }
    for (const { secret, exclude, from } of boxes) {
      for (let day = today; day > from; day--) {
        const box = deriveMailbox(secret, day);
        // The r holders of a box at once: one slow or unreachable holder (a timeout, a dial that waits)
        // must not hold back the mail the others have — at a heal that is the first few seconds
        // (docs/delivery.md "Heal"). The same envelope from two holders is deduplicated by messaging.
        const got = await Promise.all(
          d.holdersFor(box.address, exclude).map((holder) =>
            drain(holder, box).catch((e: unknown) => {
              log.debug('mailbox fetch failed', { error: e instanceof Error ? e : String(e) });
              return 0;
            }),
          ),
        );
        for (const n of got) total += n;
      }
    }
    if (total > 0) log.info('mail fetched', { envelopes: total });
    return total;
  };

  return {
    fetch(days) {
      // One fetch at a time; a request during one joins it.
      running ??= run(days).finally(() => (running = undefined));
      return running;
    },
  };
}
