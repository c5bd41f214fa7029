/**
 * The batches of outbound delivery (outbound.ts): which due outbox entries of a contact travel together
 * in one session message — oldest first, one path length, expiries within an hour of each other, at most
 * APP_BATCH_MAX messages and APP_MESSAGE_MAX_BYTES — and the envelope kept on a batch's first entry, so
 * that an envelope that reached nobody goes again as the same bytes (docs/delivery.md "Outbox").
 * Reads the store; writes only to drop an entry whose message is gone. No encryption, no network.
 */
import { concatBytes, fromHex, toHex } from '../lib/bytes.ts';
import type { Clock } from '../lib/deps.ts';
import type { Logger } from '../lib/log.ts';
import { APP_BATCH_MAX, APP_MESSAGE_MAX_BYTES, appMessageEncodedSize, batchEncodedSize, type BatchableMessage } from '../protocol/wire/app-message.ts';
import type { OutboxItem } from '../store/outbox.ts';
import type { NodeStore } from './node-store.ts';
import type { SessionIo } from './session-io.ts';

const CACHE_TAG = 0xca;
const BATCH_EXPIRY_SPREAD_MS = 3600_000;

export interface Batch {
  readonly items: OutboxItem[];
  readonly apps: BatchableMessage[];
}

export /** The envelope last sent for a batch, kept on the batch's first entry: tag | count | ids (16 each) | envelope. */
function encodeCache(ids: readonly string[], envelope: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(CACHE_TAG, ids.length), ...ids.map(fromHex), envelope);
}

function decodeCache(wire: Uint8Array): { ids: string[]; envelope: Uint8Array } | undefined {
  if (wire.length < 2 || wire[0] !== CACHE_TAG) return undefined;
  const count = wire[1] as number;
  const start = 2 + 16 * count;
  if (count === 0 || wire.length <= start) return undefined;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(toHex(wire.subarray(2 + 16 * i, 18 + 16 * i)));
  return { ids, envelope: wire.subarray(start) };
}

/**
 * The encoded size of an app message, remembered per object: the flush sizes the same queued
 * messages (session-io.ts keeps them in memory) each time it builds a batch (docs/perf-node.md T4).
 * Computed without encoding (a 1 KiB text: ~0.2 µs vs ~4 µs and a copy, "Sixth pass, continued").
 */
const sizes = new WeakMap<BatchableMessage, number>();
function encodedSize(app: BatchableMessage): number {
  let n = sizes.get(app);
  if (n === undefined) {
    n = appMessageEncodedSize(app);
    sizes.set(app, n);
  }
  return n;
}

export interface BatchDeps {
  readonly store: NodeStore;
  readonly io: SessionIo;
  readonly log: Logger;
  readonly clock: Clock;
}

export interface Batcher {
  /**
   * The next batch of a contact's due entries not in flight (`busy`); `more` makes the following
   * batches from the same read of the outbox. `force`: entries not due yet count as due. `after`: from
   * the entries after that one only (outbound.ts prepareAhead: those before are encrypted already);
   * `busy` is then checked here only, not sent to the store as a skip list (~0.9 µs per id there).
   * `complete`: the read held every entry it could have returned, not just the first batches' worth;
   * `more().drained`: no batch left in it, and no entry passed over as not due yet.
   */
  nextBatch(contact: string, now: number, force: boolean, busy: ReadonlySet<string>, batches?: number, after?: string): Batch & { more(): Batch & { readonly drained: boolean }; readonly complete: boolean };
  /** The envelope cached on the first of `items` when it covers exactly them. */
  cachedEnvelope(items: readonly OutboxItem[]): Uint8Array | undefined;
}

export function createBatcher(d: BatchDeps): Batcher {
  const { store, io, log, clock } = d;

  /** The envelope cached on the first of `items` when it covers exactly them. */
  const cachedEnvelope = (items: readonly OutboxItem[]): Uint8Array | undefined => {
    const cached = items[0] ? decodeCache(items[0].wire) : undefined;
    return cached && cached.ids.length === items.length && cached.ids.every((id, i) => id === items[i]?.messageId) ? cached.envelope : undefined;
  };

  /**
   * The next due entries of a contact, oldest first, with the same path length, skipping those in
   * flight (`busy`): those of a cached envelope when the first free entry has one still complete, else
   * as many as fit one batch. Entries whose plaintext is gone are dropped. Reads the first
   * `batches` + 1 batches' worth of entries not in flight (T2), all of them only when that ran out
   * without a batch; `more` makes the following batches from the same read.
   */
  const nextBatch = (contact: string, now: number, force: boolean, busy: ReadonlySet<string>, batches = 1, after?: string): Batch & { more(): Batch & { readonly drained: boolean }; readonly complete: boolean } => {
    // The entries in flight are not read again (each of them may carry a 64 KiB cached envelope);
    // that none of them is a hello is the caller's to see (outbound.ts pump).
    const skip = after === undefined ? [...busy] : [];
    const limit = (batches + 1) * APP_BATCH_MAX;
    let page = store.outbox.forContact(contact, limit, skip, after);
    let complete = page.length < limit;
    let first = fill(contact, page, now, force, busy);
    if (first.exhausted && !complete) {
      page = store.outbox.forContact(contact, undefined, skip, after);
      complete = true;
      first = fill(contact, page, now, force, busy);
    }
    // complete: the page holds every entry such a read could return (more() then sees all of them).
    const more = (): Batch & { readonly drained: boolean } => {
      const b = fill(contact, page, clock(), false, busy);
      return { items: b.items, apps: b.apps, drained: b.items.length === 0 && b.exhausted && !b.later };
    };
    return { items: first.items, apps: first.apps, more, complete };
  };

  /**
   * nextBatch over `all`; `exhausted` when it ran out of entries before the batch was complete, `later`
   * when it passed over an entry not due yet.
   */
  const fill = (contact: string, all: readonly OutboxItem[], now: number, force: boolean, busy: ReadonlySet<string>): { items: OutboxItem[]; apps: BatchableMessage[]; exhausted: boolean; later: boolean } => {
    let later = false;
    const items: OutboxItem[] = [];
    const apps: BatchableMessage[] = [];
    const sizes: number[] = [];
    const free = all.find((i) => !busy.has(i.messageId));
    const cached = free ? decodeCache(free.wire) : undefined;
    const want = cached ? new Set(cached.ids) : undefined;
    let hops: number | undefined;
    for (const item of all) {
      if (busy.has(item.messageId) || (!force && item.nextAttemptAt > now)) {
        // Nothing overtakes a hello (a stranger's first message must be one); the rest may be overtaken.
        if (io.plaintextOf(item)?.type === 'hello') return { items, apps, exhausted: false, later };
        if (!busy.has(item.messageId)) later = true;
        continue;
      }
      if (want && !want.has(item.messageId)) continue;
      const h = io.hopsOf(item.messageId);
      if (items.length === 0) hops = h;
      else if (h !== hops) return { items, apps, exhausted: false, later };
      // A batch is held with its earliest expiry: do not tie a long-lived message to a short one.
      if (items.length > 0 && Math.abs(item.expiresAt - (items[0] as OutboxItem).expiresAt) > BATCH_EXPIRY_SPREAD_MS) return { items, apps, exhausted: false, later };
      const app = io.plaintextOf(item);
      if (!app) {
        log.warn('outbox entry without a message dropped', { contact });
        store.transaction(() => {
          if (store.outbox.remove(contact, item.messageId)) io.forget(item.messageId);
        });
        continue;
      }
      const size = encodedSize(app);
      if (items.length > 0 && (items.length >= APP_BATCH_MAX || batchEncodedSize([...sizes, size]) > APP_MESSAGE_MAX_BYTES)) return { items, apps, exhausted: false, later };
      items.push(item);
      apps.push(app);
      sizes.push(size);
      if (want && items.length === want.size) return { items, apps, exhausted: false, later };
    }
    return { items, apps, exhausted: true, later };
  };

  return { nextBatch, cachedEnvelope };
}
