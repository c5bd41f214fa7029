/**
 * Shared by the mailbox wire tests (test/unit/mailbox-wire.test.ts) and their fuzz
 * (test/fuzz/mailbox.test.ts): one sample of every request, response and deposit shape, made with the
 * real encoders' inputs — smallest and largest counts, blob lengths and expiry times.
 */
import { MAILBOX_BLOB_MAX_BYTES, type MailboxDeposit, type MailboxRequest, type MailboxResponse } from '../../src/protocol/mailbox/wire.ts';

export const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);
export const address = fill(32, 0xaa);
export const proof = fill(96, 0xbb);
export const ids = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => fill(16, i));
export const item = (i: number, len: number) => ({ id: fill(16, i), blob: fill(len, i + 1), expiresAt: 1_700_000_000_000 + i });

export const requests: MailboxRequest[] = [
  { type: 'challenge' },
  { type: 'fetch', address, proof, limit: 1 },
  { type: 'fetch', address, proof, limit: 64 },
  { type: 'delete', address, proof, ids: ids(1) },
  { type: 'delete', address, proof, ids: ids(64) },
];
export const responses: MailboxResponse[] = [
  { type: 'challenge', nonce: fill(32, 7) },
  { type: 'items', items: [], more: false },
  { type: 'items', items: [item(1, 1), item(2, 100)], more: true },
  { type: 'items', items: Array.from({ length: 64 }, (_, i) => item(i, MAILBOX_BLOB_MAX_BYTES)), more: false },
  { type: 'deleted', count: 0 },
  { type: 'deleted', count: 64 },
  { type: 'refused', reason: 'bad-proof' },
  { type: 'refused', reason: 'no-challenge' },
  { type: 'refused', reason: 'rate-limited' },
  { type: 'refused', reason: 'malformed' },
];
export const deposits: MailboxDeposit[] = [
  { address, expiresAt: 0, blob: fill(1, 1) },
  { address, expiresAt: Number.MAX_SAFE_INTEGER, blob: fill(MAILBOX_BLOB_MAX_BYTES, 2) },
];
