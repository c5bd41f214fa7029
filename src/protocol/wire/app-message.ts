/**
 * The application message: the plaintext inside one session (ratchet) message. A tagged union with a
 * version byte; fixed-layout binary with strict limits (docs/node.md "App messages").
 *
 *   app message = version (1) = 0x01 | type (1) | body
 *   0x01 text       id (16) | sentAt (u64, ms) | length (u32) | UTF-8 text (≤ APP_TEXT_MAX_BYTES)
 *   0x02 ack        count (u16, 1..APP_ACK_MAX_IDS) | ids (16 each)
 *   0x03 addresses  id (16) | count (u8, ≤ APP_MAX_ADDRESSES) | each: length (u16, ≤ APP_MAX_ADDRESS_LENGTH) | ASCII multiaddr
 *   0x04 hello      id (16) | invite secret (16) | name length (u8, ≤ 64) | UTF-8 name (0 = none)
 *   0x05 batch      count (u8, 2..APP_BATCH_MAX) | each: length (u32) | app message (text, addresses, hello or inbox)
 *   0x06 inbox      id (16) | onion routing key (X25519, 32) | mailbox secret (32)
 *   0x07 sas        id (16) | SAS message (src/protocol/verify/sas.ts: version | type | 32 bytes)
 *
 * A batch carries several queued messages in one session message (one ratchet step, one envelope);
 * the whole encoding stays within APP_MESSAGE_MAX_BYTES so it fits a sealed envelope.
 *
 * Ids are 16 random bytes chosen by the sender; the receiver deduplicates texts on them and acks every
 * message that carries one (texts and the control messages alike, so all travel through the outbox).
 * `addresses` is how contacts learn each other's current addresses — only inside the encrypted channel.
 * `hello` is the first message of a first contact: it proves the sender holds one of our invites.
 * `inbox` tells one contact how to reach us privately (docs/delivery.md): the onion key of our node (the
 * final layer of a path to us) and the rendezvous secret of the mailbox we fetch for this contact only.
 * This module knows nothing of sessions, contacts or delivery; it only encodes and decodes.
 */
import { concatBytes, fromUtf8, utf8 } from '../../lib/bytes.ts';
import { assertBytes, assertInteger } from '../../lib/assert.ts';
import { CompeerError, DecodeError, ErrorCodes, LimitError } from '../../lib/errors.ts';
import { StrictReader, u16, u32, u64 } from '../../lib/reader.ts';

export const APP_MESSAGE_VERSION = 0x01;
export const APP_TYPE_TEXT = 0x01;
export const APP_TYPE_ACK = 0x02;
export const APP_TYPE_ADDRESSES = 0x03;
export const APP_TYPE_HELLO = 0x04;
export const APP_TYPE_BATCH = 0x05;
export const APP_TYPE_INBOX = 0x06;
export const APP_TYPE_SAS = 0x07;
/** A SAS message: version (1) | type (1) | 32 bytes (sas.ts SAS_MESSAGE_LENGTH). */
export const APP_SAS_MESSAGE_LENGTH = 34;

export const APP_MESSAGE_ID_LENGTH = 16;
export const APP_INVITE_SECRET_LENGTH = 16;
export const APP_ROUTING_KEY_LENGTH = 32;
export const APP_MAILBOX_SECRET_LENGTH = 32;
/**
 * Text limit: 60 KiB. A sealed envelope carries < 64 KiB of content, which must also hold the session
 * framing (up to 1,267 bytes of PQXDH initial message), the ratchet overhead (85) and this header (30).
 */
export const APP_TEXT_MAX_BYTES = 60 * 1024;
export const APP_ACK_MAX_IDS = 256;
export const APP_MAX_ADDRESSES = 8;
export const APP_MAX_ADDRESS_LENGTH = 256;
export const APP_MAX_NAME_BYTES = 64;
export const APP_BATCH_MAX = 64;
/**
 * Largest app message (a batch): a sealed envelope carries at most 65,535 bytes of content, of which the
 * session framing takes up to 1,267 (prekey message) and the ratchet 85: 62 KiB leaves a margin.
 */
export const APP_MESSAGE_MAX_BYTES = 62 * 1024;

export type AppMessage =
  | { readonly type: 'text'; readonly id: Uint8Array; readonly sentAt: number; readonly text: string }
  | { readonly type: 'ack'; readonly ids: readonly Uint8Array[] }
  | { readonly type: 'addresses'; readonly id: Uint8Array; readonly addresses: readonly string[] }
  | { readonly type: 'hello'; readonly id: Uint8Array; readonly inviteSecret: Uint8Array; readonly name: string | null }
  | { readonly type: 'inbox'; readonly id: Uint8Array; readonly routingKey: Uint8Array; readonly mailboxSecret: Uint8Array }
  | { readonly type: 'sas'; readonly id: Uint8Array; readonly message: Uint8Array }
  | { readonly type: 'batch'; readonly messages: readonly BatchableMessage[] };

/** What a batch may carry: messages with an id (no acks, no nested batches). */
export type BatchableMessage = Extract<AppMessage, { type: 'text' | 'addresses' | 'hello' | 'inbox' | 'sas' }>;

const ADDRESS_RE = /^\/[\x21-\x7e]+$/;
const CONTROL_RE = /\p{Cc}/u;

function arg(what: string): CompeerError {
  return new CompeerError(ErrorCodes.INVALID_ARGUMENT, `app message: ${what}`);
}

function bad(what: string): DecodeError {
  return new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `app message: ${what}`);
}

function checkText(text: string): Uint8Array {
  const bytes = utf8(text);
  if (bytes.length > APP_TEXT_MAX_BYTES) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `app message: text of ${bytes.length} bytes, at most ${APP_TEXT_MAX_BYTES}`);
  }
  return bytes;
}

/**
 * checkText's length without the copy. Buffer.byteLength counts as TextEncoder (utf8()) writes: a lone
 * surrogate as the 3 bytes of U+FFFD, a pair as 4.
 */
function checkTextLength(text: string): number {
  const n = Buffer.byteLength(text, 'utf8');
  if (n > APP_TEXT_MAX_BYTES) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `app message: text of ${n} bytes, at most ${APP_TEXT_MAX_BYTES}`);
  }
  return n;
}

function checkAddress(a: string): Uint8Array {
  const bytes = utf8(a);
  if (bytes.length > APP_MAX_ADDRESS_LENGTH || !ADDRESS_RE.test(a)) throw arg('address is not a printable multiaddr');
  return bytes;
}

function checkName(name: string): Uint8Array {
  const bytes = utf8(name);
  if (bytes.length === 0 || bytes.length > APP_MAX_NAME_BYTES || CONTROL_RE.test(name)) throw arg('name: 1 to 64 bytes, no control characters');
  return bytes;
}

/** Encodes; invalid values (sizes, shapes) throw INVALID_ARGUMENT or LIMIT_EXCEEDED — never an undecodable message. */
export function encodeAppMessage(m: AppMessage): Uint8Array {
  const head = (type: number): Uint8Array => Uint8Array.of(APP_MESSAGE_VERSION, type);
  switch (m.type) {
    case 'text': {
      assertBytes(m.id, 'message id', APP_MESSAGE_ID_LENGTH);
      assertInteger(m.sentAt, 'sentAt', 0, Number.MAX_SAFE_INTEGER);
      const text = checkText(m.text);
      return concatBytes(head(APP_TYPE_TEXT), m.id, u64(m.sentAt), u32(text.length), text);
    }
    case 'ack': {
      if (m.ids.length < 1 || m.ids.length > APP_ACK_MAX_IDS) throw arg(`ack: 1 to ${APP_ACK_MAX_IDS} ids`);
      for (const id of m.ids) assertBytes(id, 'acked id', APP_MESSAGE_ID_LENGTH);
      return concatBytes(head(APP_TYPE_ACK), u16(m.ids.length), ...m.ids);
    }
    case 'addresses': {
      if (m.addresses.length > APP_MAX_ADDRESSES) throw arg(`at most ${APP_MAX_ADDRESSES} addresses`);
      assertBytes(m.id, 'message id', APP_MESSAGE_ID_LENGTH);
      const parts = m.addresses.map(checkAddress);
      return concatBytes(head(APP_TYPE_ADDRESSES), m.id, Uint8Array.of(parts.length), ...parts.flatMap((p) => [u16(p.length), p]));
    }
    case 'batch':
      return encodeBatch(m.messages);
    case 'hello': {
      assertBytes(m.id, 'message id', APP_MESSAGE_ID_LENGTH);
      assertBytes(m.inviteSecret, 'invite secret', APP_INVITE_SECRET_LENGTH);
      const name = m.name === null ? new Uint8Array(0) : checkName(m.name);
      return concatBytes(head(APP_TYPE_HELLO), m.id, m.inviteSecret, Uint8Array.of(name.length), name);
    }
    case 'inbox': {
      assertBytes(m.id, 'message id', APP_MESSAGE_ID_LENGTH);
      assertBytes(m.routingKey, 'routing key', APP_ROUTING_KEY_LENGTH);
      assertBytes(m.mailboxSecret, 'mailbox secret', APP_MAILBOX_SECRET_LENGTH);
      return concatBytes(head(APP_TYPE_INBOX), m.id, m.routingKey, m.mailboxSecret);
    }
    case 'sas': {
      assertBytes(m.id, 'message id', APP_MESSAGE_ID_LENGTH);
      assertBytes(m.message, 'SAS message', APP_SAS_MESSAGE_LENGTH);
      return concatBytes(head(APP_TYPE_SAS), m.id, m.message);
    }
  }
}

const textEncoder = new TextEncoder();

/**
 * A batch in one pass: every part sized first (appMessageEncodedSize: the same checks in the same order
 * as encoding each, so the same refusals), then written once into the batch's buffer — texts straight
 * from their strings (encodeInto: the bytes TextEncoder.encode gives) — instead of each part encoded
 * into a buffer of its own (a UTF-8 copy and a concatenation per text) and all of them copied again
 * (docs/perf-node.md, seventh pass). Parts other than texts (rare) are encoded as before and copied.
 */
function encodeBatch(messages: readonly BatchableMessage[]): Uint8Array {
  if (messages.length < 2 || messages.length > APP_BATCH_MAX) throw arg(`batch: 2 to ${APP_BATCH_MAX} messages`);
  const sizes = messages.map((x) => {
    if ((x.type as string) === 'batch' || (x.type as string) === 'ack') throw arg('batch: no acks or batches inside');
    return appMessageEncodedSize(x);
  });
  const n = batchEncodedSize(sizes);
  if (n > APP_MESSAGE_MAX_BYTES) throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `app message: batch of ${n} bytes`);
  const out = new Uint8Array(n);
  const view = new DataView(out.buffer);
  out[0] = APP_MESSAGE_VERSION;
  out[1] = APP_TYPE_BATCH;
  out[2] = messages.length;
  let at = 3;
  for (const [i, x] of messages.entries()) {
    const size = sizes[i] as number;
    view.setUint32(at, size, false);
    at += 4;
    if (x.type === 'text') {
      // text = version | type | id (16) | sentAt (u64) | length (u32) | UTF-8
      const length = size - (2 + APP_MESSAGE_ID_LENGTH + 8 + 4);
      out[at] = APP_MESSAGE_VERSION;
      out[at + 1] = APP_TYPE_TEXT;
      out.set(x.id, at + 2);
      view.setBigUint64(at + 2 + APP_MESSAGE_ID_LENGTH, BigInt(x.sentAt), false);
      view.setUint32(at + 2 + APP_MESSAGE_ID_LENGTH + 8, length, false);
      const start = at + 2 + APP_MESSAGE_ID_LENGTH + 12;
      const { written } = textEncoder.encodeInto(x.text, out.subarray(start, start + length));
      // Buffer.byteLength (the size) and the encoder agree on every string; never trust it blindly.
      if (written !== length) throw new CompeerError(ErrorCodes.INTERNAL, 'app message: text length changed while encoding');
    } else {
      const part = encodeAppMessage(x);
      if (part.length !== size) throw new CompeerError(ErrorCodes.INTERNAL, 'app message: part length changed while encoding');
      out.set(part, at);
    }
    at += size;
  }
  return out;
}

/**
 * The length `encodeAppMessage(m)` returns, computed without encoding (no UTF-8 copy of a text, no
 * concatenation): the outbound flush sizes every queued message to fill its batches, and encodes it
 * once more inside the batch (docs/perf-node.md "Sixth pass, continued"). The same checks in the same
 * order, so the same refusals; names and addresses (short, rare) are still encoded to check them.
 */
export function appMessageEncodedSize(m: AppMessage): number {
  switch (m.type) {
    case 'text': {
      assertBytes(m.id, 'message id', APP_MESSAGE_ID_LENGTH);
      assertInteger(m.sentAt, 'sentAt', 0, Number.MAX_SAFE_INTEGER);
      return 2 + APP_MESSAGE_ID_LENGTH + 8 + 4 + checkTextLength(m.text);
    }
    case 'ack': {
      if (m.ids.length < 1 || m.ids.length > APP_ACK_MAX_IDS) throw arg(`ack: 1 to ${APP_ACK_MAX_IDS} ids`);
      for (const id of m.ids) assertBytes(id, 'acked id', APP_MESSAGE_ID_LENGTH);
      return 2 + 2 + APP_MESSAGE_ID_LENGTH * m.ids.length;
    }
    case 'addresses': {
      if (m.addresses.length > APP_MAX_ADDRESSES) throw arg(`at most ${APP_MAX_ADDRESSES} addresses`);
      assertBytes(m.id, 'message id', APP_MESSAGE_ID_LENGTH);
      let n = 2 + APP_MESSAGE_ID_LENGTH + 1;
      for (const a of m.addresses) n += 2 + checkAddress(a).length;
      return n;
    }
    case 'batch': {
      if (m.messages.length < 2 || m.messages.length > APP_BATCH_MAX) throw arg(`batch: 2 to ${APP_BATCH_MAX} messages`);
      const sizes = m.messages.map((x) => {
        if ((x.type as string) === 'batch' || (x.type as string) === 'ack') throw arg('batch: no acks or batches inside');
        return appMessageEncodedSize(x);
      });
      const n = batchEncodedSize(sizes);
      if (n > APP_MESSAGE_MAX_BYTES) throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `app message: batch of ${n} bytes`);
      return n;
    }
    case 'hello': {
      assertBytes(m.id, 'message id', APP_MESSAGE_ID_LENGTH);
      assertBytes(m.inviteSecret, 'invite secret', APP_INVITE_SECRET_LENGTH);
      return 2 + APP_MESSAGE_ID_LENGTH + APP_INVITE_SECRET_LENGTH + 1 + (m.name === null ? 0 : checkName(m.name).length);
    }
    case 'inbox': {
      assertBytes(m.id, 'message id', APP_MESSAGE_ID_LENGTH);
      assertBytes(m.routingKey, 'routing key', APP_ROUTING_KEY_LENGTH);
      assertBytes(m.mailboxSecret, 'mailbox secret', APP_MAILBOX_SECRET_LENGTH);
      return 2 + APP_MESSAGE_ID_LENGTH + APP_ROUTING_KEY_LENGTH + APP_MAILBOX_SECRET_LENGTH;
    }
    case 'sas': {
      assertBytes(m.id, 'message id', APP_MESSAGE_ID_LENGTH);
      assertBytes(m.message, 'SAS message', APP_SAS_MESSAGE_LENGTH);
      return 2 + APP_MESSAGE_ID_LENGTH + APP_SAS_MESSAGE_LENGTH;
    }
  }
}

/** The ids a message asks to be acked: its own, or those of a batch's messages; none for an ack. */
export function appMessageIds(m: AppMessage): Uint8Array[] {
  if (m.type === 'ack') return [];
  if (m.type === 'batch') return m.messages.map((x) => x.id);
  return [m.id];
}

/** Strict decode: every failure is a DecodeError (or LimitError for an oversized text). */
export function decodeAppMessage(bytes: Uint8Array): AppMessage {
  return decodeOne(bytes, true);
}

/** Bytes a batch of messages of these encoded sizes takes. */
export function batchEncodedSize(sizes: readonly number[]): number {
  return 3 + sizes.reduce((n, s) => n + 4 + s, 0);
}

function decodeOne(bytes: Uint8Array, top: boolean): AppMessage {
  if (bytes.length > APP_MESSAGE_MAX_BYTES) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `app message: ${bytes.length} bytes`);
  }
  const r = new StrictReader(bytes, 'app message');
  const version = r.u8('version');
  if (version !== APP_MESSAGE_VERSION) throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `app message: unsupported version ${version}`);
  const type = r.u8('type');
  let m: AppMessage;
  switch (type) {
    case APP_TYPE_TEXT: {
      const id = r.bytes(APP_MESSAGE_ID_LENGTH, 'id');
      const sentAt = r.u64('sentAt');
      const len = r.u32('text length');
      if (len > APP_TEXT_MAX_BYTES) throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `app message: text of ${len} bytes`);
      m = { type: 'text', id, sentAt, text: fromUtf8(r.bytes(len, 'text')) };
      break;
    }
    case APP_TYPE_ACK: {
      const count = r.u16('ack count');
      if (count < 1 || count > APP_ACK_MAX_IDS) throw bad(`ack: ${count} ids`);
      const ids: Uint8Array[] = [];
      for (let i = 0; i < count; i++) ids.push(r.bytes(APP_MESSAGE_ID_LENGTH, 'acked id'));
      m = { type: 'ack', ids };
      break;
    }
    case APP_TYPE_ADDRESSES: {
      const id = r.bytes(APP_MESSAGE_ID_LENGTH, 'id');
      const count = r.u8('address count');
      if (count > APP_MAX_ADDRESSES) throw bad(`${count} addresses`);
      const addresses: string[] = [];
      for (let i = 0; i < count; i++) {
        const len = r.u16('address length');
        if (len > APP_MAX_ADDRESS_LENGTH) throw bad('address too long');
        const a = fromUtf8(r.bytes(len, 'address'));
        if (!ADDRESS_RE.test(a)) throw bad('address is not a printable multiaddr');
        addresses.push(a);
      }
      m = { type: 'addresses', id, addresses };
      break;
    }
    case APP_TYPE_BATCH: {
      if (!top) throw bad('nested batch');
      const count = r.u8('batch count');
      if (count < 2 || count > APP_BATCH_MAX) throw bad(`batch of ${count}`);
      const messages: BatchableMessage[] = [];
      for (let i = 0; i < count; i++) {
        const len = r.u32('batch entry length');
        const inner = decodeOne(r.bytes(len, 'batch entry'), false);
        if (inner.type === 'ack' || inner.type === 'batch') throw bad('batch: no acks or batches inside');
        messages.push(inner);
      }
      m = { type: 'batch', messages };
      break;
    }
    case APP_TYPE_HELLO: {
      const id = r.bytes(APP_MESSAGE_ID_LENGTH, 'id');
      const inviteSecret = r.bytes(APP_INVITE_SECRET_LENGTH, 'invite secret');
      const len = r.u8('name length');
      if (len > APP_MAX_NAME_BYTES) throw bad('name too long');
      const name = fromUtf8(r.bytes(len, 'name'));
      if (CONTROL_RE.test(name)) throw bad('name has control characters');
      m = { type: 'hello', id, inviteSecret, name: len === 0 ? null : name };
      break;
    }
    case APP_TYPE_INBOX: {
      const id = r.bytes(APP_MESSAGE_ID_LENGTH, 'id');
      const routingKey = r.bytes(APP_ROUTING_KEY_LENGTH, 'routing key');
      m = { type: 'inbox', id, routingKey, mailboxSecret: r.bytes(APP_MAILBOX_SECRET_LENGTH, 'mailbox secret') };
      break;
    }
    case APP_TYPE_SAS: {
      const id = r.bytes(APP_MESSAGE_ID_LENGTH, 'id');
      m = { type: 'sas', id, message: r.bytes(APP_SAS_MESSAGE_LENGTH, 'SAS message') };
      break;
    }
    default:
      throw bad(`unknown type ${type}`);
  }
  r.end();
  return m;
}
