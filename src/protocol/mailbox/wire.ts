/**
 * Wire codecs of the mailbox protocol `/compeer/mailbox/1` (one request, one response per stream) and
 * of the deposit frame an onion exit hands to a holder (docs/mailboxes.md "Wire").
 *
 *   request  = version (1) = 0x01 | type (1) | body
 *     0x01 challenge  (empty)
 *     0x02 fetch      address (32) | proof (96) | limit (u8, 1..MAILBOX_FETCH_MAX)
 *     0x03 delete     address (32) | proof (96) | count (u8, 1..MAILBOX_DELETE_MAX) | ids (16 each)
 *   response = version (1) = 0x01 | type (1) | body
 *     0x81 challenge  nonce (32)
 *     0x82 items      more (u8, 0 | 1) | count (u8, 0..MAILBOX_FETCH_MAX) | each: id (16) | expiresAt (u64, ms) | length (u16, 1..MAILBOX_BLOB_MAX_BYTES) | blob
 *     0x83 deleted    count (u8, 0..MAILBOX_DELETE_MAX)
 *     0x84 refused    reason (u8): 1 bad-proof | 2 no-challenge | 3 rate-limited | 4 malformed
 *   deposit  = version (1) = 0x01 | address (32) | expiresAt (u64, ms) | length (u16, 1..MAILBOX_BLOB_MAX_BYTES) | blob
 *
 * Request and response types do not overlap, so neither decodes as the other. Every decode is strict:
 * a DecodeError for anything malformed (bad version, unknown type, out-of-range count, truncation,
 * trailing bytes), a LimitError for oversized input. Blobs are opaque ciphertext chunks.
 * This module knows nothing of proofs' validity or of storage; it only encodes and decodes.
 */
import { assertBytes, assertInteger } from '../../lib/assert.ts';
import { concatBytes } from '../../lib/bytes.ts';
import { CompeerError, DecodeError, ErrorCodes, LimitError } from '../../lib/errors.ts';
import { StrictReader, u16, u64 } from '../../lib/reader.ts';
import { MAILBOX_ADDRESS_LENGTH, MAILBOX_CHALLENGE_LENGTH, MAILBOX_PROOF_LENGTH } from './keys.ts';

export const MAILBOX_PROTOCOL = '/compeer/mailbox/1';
export const MAILBOX_WIRE_VERSION = 0x01;
export const MAILBOX_ID_LENGTH = 16;
/** Largest blob (one chunk of a sealed envelope, ~3 KiB plus framing). */
export const MAILBOX_BLOB_MAX_BYTES = 3_200;
/** Most items one fetch returns, and most ids one delete names. */
export const MAILBOX_FETCH_MAX = 64;
export const MAILBOX_DELETE_MAX = 64;
const ITEM_OVERHEAD = MAILBOX_ID_LENGTH + 8 + 2;
/** Largest response: a full items response (206,468 bytes). */
export const MAILBOX_RESPONSE_MAX_BYTES = 4 + MAILBOX_FETCH_MAX * (ITEM_OVERHEAD + MAILBOX_BLOB_MAX_BYTES);
/** Largest request: a full delete. */
export const MAILBOX_REQUEST_MAX_BYTES = 3 + MAILBOX_ADDRESS_LENGTH + MAILBOX_PROOF_LENGTH + MAILBOX_DELETE_MAX * MAILBOX_ID_LENGTH;
export const MAILBOX_DEPOSIT_MAX_BYTES = 1 + MAILBOX_ADDRESS_LENGTH + 8 + 2 + MAILBOX_BLOB_MAX_BYTES;

const REQ_CHALLENGE = 0x01;
const REQ_FETCH = 0x02;
const REQ_DELETE = 0x03;
const RES_CHALLENGE = 0x81;
const RES_ITEMS = 0x82;
const RES_DELETED = 0x83;
const RES_REFUSED = 0x84;

export type MailboxRefusal = 'bad-proof' | 'no-challenge' | 'rate-limited' | 'malformed';
const REFUSALS: readonly MailboxRefusal[] = ['bad-proof', 'no-challenge', 'rate-limited', 'malformed']; // wire value = index + 1

export type MailboxRequest =
  | { readonly type: 'challenge' }
  | { readonly type: 'fetch'; readonly address: Uint8Array; readonly proof: Uint8Array; readonly limit: number }
  | { readonly type: 'delete'; readonly address: Uint8Array; readonly proof: Uint8Array; readonly ids: readonly Uint8Array[] };

export interface MailboxWireItem {
  readonly id: Uint8Array;
  readonly blob: Uint8Array;
  readonly expiresAt: number;
}

export type MailboxResponse =
  | { readonly type: 'challenge'; readonly nonce: Uint8Array }
  | { readonly type: 'items'; readonly items: readonly MailboxWireItem[]; readonly more: boolean }
  | { readonly type: 'deleted'; readonly count: number }
  | { readonly type: 'refused'; readonly reason: MailboxRefusal };

export interface MailboxDeposit {
  readonly address: Uint8Array;
  readonly expiresAt: number;
  readonly blob: Uint8Array;
}

function arg(what: string): CompeerError {
  return new CompeerError(ErrorCodes.INVALID_ARGUMENT, `mailbox wire: ${what}`);
}

function bad(what: string): DecodeError {
  return new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `mailbox wire: ${what}`);
}

function checkBlob(blob: Uint8Array): void {
  assertBytes(blob, 'mailbox blob');
  if (blob.length < 1 || blob.length > MAILBOX_BLOB_MAX_BYTES) throw arg(`blob of 1 to ${MAILBOX_BLOB_MAX_BYTES} bytes`);
}

function head(type: number): Uint8Array {
  return Uint8Array.of(MAILBOX_WIRE_VERSION, type);
}

/** Encodes; invalid values throw INVALID_ARGUMENT (or INVALID_LENGTH) — never an undecodable request. */
export function encodeMailboxRequest(m: MailboxRequest): Uint8Array {
  switch (m.type) {
    case 'challenge':
      return head(REQ_CHALLENGE);
    case 'fetch':
      assertBytes(m.address, 'mailbox address', MAILBOX_ADDRESS_LENGTH);
      assertBytes(m.proof, 'mailbox proof', MAILBOX_PROOF_LENGTH);
      assertInteger(m.limit, 'fetch limit', 1, MAILBOX_FETCH_MAX);
      return concatBytes(head(REQ_FETCH), m.address, m.proof, Uint8Array.of(m.limit));
    case 'delete':
      assertBytes(m.address, 'mailbox address', MAILBOX_ADDRESS_LENGTH);
      assertBytes(m.proof, 'mailbox proof', MAILBOX_PROOF_LENGTH);
      if (m.ids.length < 1 || m.ids.length > MAILBOX_DELETE_MAX) throw arg(`delete: 1 to ${MAILBOX_DELETE_MAX} ids`);
      for (const id of m.ids) assertBytes(id, 'mailbox item id', MAILBOX_ID_LENGTH);
      return concatBytes(head(REQ_DELETE), m.address, m.proof, Uint8Array.of(m.ids.length), ...m.ids);
  }
}

function open(bytes: Uint8Array, what: string, max: number): StrictReader {
  assertBytes(bytes, what);
  if (bytes.length > max) throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `${what}: ${bytes.length} bytes, at most ${max}`);
  const r = new StrictReader(bytes, what);
  const version = r.u8('version');
  if (version !== MAILBOX_WIRE_VERSION) throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `${what}: unsupported version ${version}`);
  return r;
}

export function decodeMailboxRequest(bytes: Uint8Array): MailboxRequest {
  const r = open(bytes, 'mailbox request', MAILBOX_REQUEST_MAX_BYTES);
  const type = r.u8('type');
  let m: MailboxRequest;
  switch (type) {
    case REQ_CHALLENGE:
      m = { type: 'challenge' };
      break;
    case REQ_FETCH: {
      const address = r.bytes(MAILBOX_ADDRESS_LENGTH, 'address');
      const proof = r.bytes(MAILBOX_PROOF_LENGTH, 'proof');
      const limit = r.u8('limit');
      if (limit < 1 || limit > MAILBOX_FETCH_MAX) throw bad(`fetch limit ${limit}`);
      m = { type: 'fetch', address, proof, limit };
      break;
    }
    case REQ_DELETE: {
      const address = r.bytes(MAILBOX_ADDRESS_LENGTH, 'address');
      const proof = r.bytes(MAILBOX_PROOF_LENGTH, 'proof');
      const count = r.u8('id count');
      if (count < 1 || count > MAILBOX_DELETE_MAX) throw bad(`delete of ${count} ids`);
      const ids: Uint8Array[] = [];
      for (let i = 0; i < count; i++) ids.push(r.bytes(MAILBOX_ID_LENGTH, 'id'));
      m = { type: 'delete', address, proof, ids };
      break;
    }
    default:
      throw bad(`unknown request type ${type}`);
  }
  r.end();
  return m;
}

export function encodeMailboxResponse(m: MailboxResponse): Uint8Array {
  switch (m.type) {
    case 'challenge':
      assertBytes(m.nonce, 'mailbox challenge', MAILBOX_CHALLENGE_LENGTH);
      return concatBytes(head(RES_CHALLENGE), m.nonce);
    case 'items': {
      if (m.items.length > MAILBOX_FETCH_MAX) throw arg(`items: at most ${MAILBOX_FETCH_MAX}`);
      const parts = m.items.flatMap((i) => {
        assertBytes(i.id, 'mailbox item id', MAILBOX_ID_LENGTH);
        assertInteger(i.expiresAt, 'expiresAt', 0, Number.MAX_SAFE_INTEGER);
        checkBlob(i.blob);
        return [i.id, u64(i.expiresAt), u16(i.blob.length), i.blob];
      });
      return concatBytes(head(RES_ITEMS), Uint8Array.of(m.more ? 1 : 0, m.items.length), ...parts);
    }
    case 'deleted':
      assertInteger(m.count, 'deleted count', 0, MAILBOX_DELETE_MAX);
      return concatBytes(head(RES_DELETED), Uint8Array.of(m.count));
    case 'refused': {
      const i = REFUSALS.indexOf(m.reason);
      if (i < 0) throw arg('unknown refusal reason');
      return concatBytes(head(RES_REFUSED), Uint8Array.of(i + 1));
    }
  }
}

function readBlob(r: StrictReader): Uint8Array {
  const len = r.u16('blob length');
  if (len < 1 || len > MAILBOX_BLOB_MAX_BYTES) throw bad(`blob of ${len} bytes`);
  return r.bytes(len, 'blob');
}

export function decodeMailboxResponse(bytes: Uint8Array): MailboxResponse {
  const r = open(bytes, 'mailbox response', MAILBOX_RESPONSE_MAX_BYTES);
  const type = r.u8('type');
  let m: MailboxResponse;
  switch (type) {
    case RES_CHALLENGE:
      m = { type: 'challenge', nonce: r.bytes(MAILBOX_CHALLENGE_LENGTH, 'nonce') };
      break;
    case RES_ITEMS: {
      const more = r.u8('more');
      if (more > 1) throw bad('more flag');
      const count = r.u8('item count');
      if (count > MAILBOX_FETCH_MAX) throw bad(`${count} items`);
      const items: MailboxWireItem[] = [];
      for (let i = 0; i < count; i++) {
        const id = r.bytes(MAILBOX_ID_LENGTH, 'id');
        const expiresAt = r.u64('expiresAt');
        items.push({ id, expiresAt, blob: readBlob(r) });
      }
      m = { type: 'items', items, more: more === 1 };
      break;
    }
    case RES_DELETED: {
      const count = r.u8('deleted count');
      if (count > MAILBOX_DELETE_MAX) throw bad(`deleted count ${count}`);
      m = { type: 'deleted', count };
      break;
    }
    case RES_REFUSED: {
      const reason = REFUSALS[r.u8('reason') - 1];
      if (reason === undefined) throw bad('unknown refusal reason');
      m = { type: 'refused', reason };
      break;
    }
    default:
      throw bad(`unknown response type ${type}`);
  }
  r.end();
  return m;
}

export function encodeDeposit(d: MailboxDeposit): Uint8Array {
  assertBytes(d.address, 'mailbox address', MAILBOX_ADDRESS_LENGTH);
  assertInteger(d.expiresAt, 'expiresAt', 0, Number.MAX_SAFE_INTEGER);
  checkBlob(d.blob);
  return concatBytes(Uint8Array.of(MAILBOX_WIRE_VERSION), d.address, u64(d.expiresAt), u16(d.blob.length), d.blob);
}

export function decodeDeposit(bytes: Uint8Array): MailboxDeposit {
  const r = open(bytes, 'mailbox deposit', MAILBOX_DEPOSIT_MAX_BYTES);
  const address = r.bytes(MAILBOX_ADDRESS_LENGTH, 'address');
  const expiresAt = r.u64('expiresAt');
  const blob = readBlob(r);
  r.end();
  return { address, expiresAt, blob };
}
