/**
 * Mailbox items a holder keeps for others (docs/mailboxes.md): opaque ciphertext blobs under a 32-byte
 * mailbox address, each with a 16-byte id (the first 16 bytes of SHA-256(blob), computed by the holder),
 * an expiry and the time it was stored. Blobs are stored as they are; the holder never sees inside.
 *
 * This module knows nothing of proofs, quotas or expiry policy (src/routing/mailbox-holder.ts); it keeps
 * items and counts them. Implementations: memory (below) and mailboxes-sqlite.ts;
 * test/unit/store/mailboxes-compliance.ts runs against both.
 */
import { assertBytes, assertInteger } from '../lib/assert.ts';
import { toHex } from '../lib/bytes.ts';
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import { MAILBOX_ADDRESS_LENGTH } from '../protocol/mailbox/keys.ts';
import { MAILBOX_BLOB_MAX_BYTES, MAILBOX_ID_LENGTH } from '../protocol/mailbox/wire.ts';
import { mapDelete, mapSet, noUndo, type UndoLog } from './memory-tx.ts';

export interface MailboxItem {
  readonly address: Uint8Array;
  readonly id: Uint8Array;
  readonly blob: Uint8Array;
  readonly expiresAt: number;
  readonly storedAt: number;
}

export interface MailboxUsage {
  readonly count: number;
  /** Sum of blob lengths. */
  readonly bytes: number;
}

export interface MailboxRepository {
  /** Stores the item unless (address, id) is there already. */
  put(item: MailboxItem): 'stored' | 'duplicate';
  /** A mailbox's items, oldest (storedAt, then insertion) first, at most `limit`. Expired ones included. */
  list(address: Uint8Array, limit: number): MailboxItem[];
  /** Removes these ids from the mailbox; returns how many were there. */
  remove(address: Uint8Array, ids: readonly Uint8Array[]): number;
  /** Removes every item with expiresAt <= now; returns how many. */
  removeExpired(now: number): number;
  usage(address: Uint8Array): MailboxUsage;
  totals(): MailboxUsage;
}

export function checkMailboxItem(i: MailboxItem): void {
  assertBytes(i.address, 'mailbox address', MAILBOX_ADDRESS_LENGTH);
  assertBytes(i.id, 'mailbox item id', MAILBOX_ID_LENGTH);
  assertBytes(i.blob, 'mailbox blob');
  if (i.blob.length < 1 || i.blob.length > MAILBOX_BLOB_MAX_BYTES) {
    throw new CompeerError(ErrorCodes.LIMIT_EXCEEDED, `mailbox blob: 1 to ${MAILBOX_BLOB_MAX_BYTES} bytes`);
  }
  assertInteger(i.expiresAt, 'mailbox expiresAt', 0, Number.MAX_SAFE_INTEGER);
  assertInteger(i.storedAt, 'mailbox storedAt', 0, Number.MAX_SAFE_INTEGER);
}

export function checkListLimit(limit: number): void {
  assertInteger(limit, 'mailbox list limit', 1, Number.MAX_SAFE_INTEGER);
}

export function checkIds(address: Uint8Array, ids: readonly Uint8Array[]): void {
  assertBytes(address, 'mailbox address', MAILBOX_ADDRESS_LENGTH);
  for (const id of ids) assertBytes(id, 'mailbox item id', MAILBOX_ID_LENGTH);
}

interface Stored {
  readonly item: MailboxItem;
  readonly seq: number;
}

function copyItem(i: MailboxItem): MailboxItem {
  return { address: i.address.slice(), id: i.id.slice(), blob: i.blob.slice(), expiresAt: i.expiresAt, storedAt: i.storedAt };
}

const byAge = (a: Stored, b: Stored): number => a.item.storedAt - b.item.storedAt || a.seq - b.seq;

/** The reference implementation: mailboxes by address (hex), items by id (hex); totals kept as it goes. */
export function memoryMailboxRepository(log: UndoLog = noUndo): MailboxRepository {
  const boxes = new Map<string, Map<string, Stored>>();
  const totals = { count: 0, bytes: 0 };
  let seq = 0;
  // A lower bound on every stored expiresAt: a sweep before it finds nothing and skips the scan.
  let earliest = Number.MAX_SAFE_INTEGER;
  const setEarliest = (value: number): void => {
    const prev = earliest;
    earliest = value;
    log.record(() => {
      earliest = prev;
    });
  };
  const count = (delta: number, bytes: number): void => {
    totals.count += delta;
    totals.bytes += bytes;
    log.record(() => {
      totals.count -= delta;
      totals.bytes -= bytes;
    });
  };
  const removeOne = (addr: string, box: Map<string, Stored>, id: string): boolean => {
    const s = box.get(id);
    if (s === undefined) return false;
    mapDelete(log, box, id);
    count(-1, -s.item.blob.length);
    if (box.size === 0) mapDelete(log, boxes, addr);
    return true;
  };
  return {
    put(item) {
      checkMailboxItem(item);
      const addr = toHex(item.address);
      const id = toHex(item.id);
      let box = boxes.get(addr);
      if (box?.has(id)) return 'duplicate';
      if (box === undefined) {
        box = new Map();
        mapSet(log, boxes, addr, box);
      }
      mapSet(log, box, id, { item: copyItem(item), seq: seq++ });
      if (item.expiresAt < earliest) setEarliest(item.expiresAt);
      count(1, item.blob.length);
      return 'stored';
    },
    list(address, limit) {
      assertBytes(address, 'mailbox address', MAILBOX_ADDRESS_LENGTH);
      checkListLimit(limit);
      const box = boxes.get(toHex(address));
      if (box === undefined) return [];
      return [...box.values()].sort(byAge).slice(0, limit).map((s) => copyItem(s.item));
    },
    remove(address, ids) {
      checkIds(address, ids);
      const addr = toHex(address);
      let n = 0;
      for (const id of ids) {
        const box = boxes.get(addr);
        if (box !== undefined && removeOne(addr, box, toHex(id))) n++;
      }
      return n;
    },
    removeExpired(now) {
      assertInteger(now, 'now', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
      if (now < earliest) return 0;
      const gone: [string, Map<string, Stored>, string][] = [];
      let next = Number.MAX_SAFE_INTEGER;
      for (const [addr, box] of boxes) {
        for (const [id, s] of box) {
          if (s.item.expiresAt <= now) gone.push([addr, box, id]);
          else next = Math.min(next, s.item.expiresAt);
        }
      }
      for (const [addr, box, id] of gone) removeOne(addr, box, id);
      setEarliest(next);
      return gone.length;
    },
    usage(address) {
      assertBytes(address, 'mailbox address', MAILBOX_ADDRESS_LENGTH);
      let count = 0;
      let bytes = 0;
      for (const s of boxes.get(toHex(address))?.values() ?? []) {
        count++;
        bytes += s.item.blob.length;
      }
      return { count, bytes };
    },
    totals: () => ({ ...totals }),
  };
}
