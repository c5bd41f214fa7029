/**
 * Strict validation of what arrives at the control API: JSON bodies and query strings become typed
 * request objects, or a CompeerError(INVALID_ARGUMENT) naming the field and what was expected.
 * Unknown fields are refused (a typo is an error, not a silently ignored option).
 *
 * Knows the request shapes of each route and their limits; does not know HTTP, auth or the node.
 */
import { CompeerError, ErrorCodes } from '../lib/errors.ts';

/** Limits on single fields; the body as a whole is capped by the server (API_LIMITS.maxBodyBytes). */
export const FIELD_LIMITS = {
  inviteChars: 16 * 1024,
  nameChars: 64,
  contactChars: 256,
  textChars: 64 * 1024,
  /** 30 days. */
  maxTtlMs: 30 * 24 * 3600 * 1000,
  /** 10 minutes: a long poll longer than this should be a WebSocket subscription. */
  maxWaitMs: 10 * 60 * 1000,
  maxCount: 10_000,
  maxHops: 5,
} as const;

export interface AddContactRequest {
  invite: string;
  name?: string;
}
export interface SendRequest {
  contact: string;
  text: string;
  ttlMs?: number;
  hops?: number;
}
export interface VerifyRequest {
  contact: string;
  confirm: boolean;
}
export interface MessagesRequest {
  contact: string;
  waitMs?: number;
  count?: number;
}

function invalid(message: string): CompeerError {
  return new CompeerError(ErrorCodes.INVALID_ARGUMENT, message);
}

type Fields = Record<string, unknown>;

/** Parses `raw` as JSON; the result must be a plain object with only the `allowed` keys. */
export function parseJsonObject(raw: string, allowed: readonly string[]): Fields {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalid('body: not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('body: expected a JSON object');
  const fields = value as Fields;
  for (const k of Object.keys(fields)) {
    if (!allowed.includes(k)) throw invalid(`body: unknown field "${k.slice(0, 32)}" (allowed: ${allowed.join(', ')})`);
  }
  return fields;
}

function str(fields: Fields, key: string, max: number, required: true): string;
function str(fields: Fields, key: string, max: number, required: false): string | undefined;
function str(fields: Fields, key: string, max: number, required: boolean): string | undefined {
  const v = fields[key];
  if (v === undefined || (v === null && !required)) {
    if (required) throw invalid(`${key}: required`);
    return undefined;
  }
  if (typeof v !== 'string') throw invalid(`${key}: expected a string`);
  if (v.length === 0) throw invalid(`${key}: must not be empty`);
  if (v.length > max) throw invalid(`${key}: at most ${max} characters, got ${v.length}`);
  return v;
}

function int(v: unknown, key: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalid(`${key}: expected an integer`);
  if (v < min || v > max) throw invalid(`${key}: expected ${min}..${max}, got ${v}`);
  return v;
}

export function parseAddContact(raw: string): AddContactRequest {
  const f = parseJsonObject(raw, ['invite', 'name']);
  const invite = str(f, 'invite', FIELD_LIMITS.inviteChars, true);
  const name = str(f, 'name', FIELD_LIMITS.nameChars, false);
  return name === undefined ? { invite } : { invite, name };
}

export function parseSend(raw: string): SendRequest {
  const f = parseJsonObject(raw, ['contact', 'text', 'ttlMs', 'hops']);
  const contact = str(f, 'contact', FIELD_LIMITS.contactChars, true);
  const text = str(f, 'text', FIELD_LIMITS.textChars, true);
  const ttlMs = int(f.ttlMs, 'ttlMs', 1, FIELD_LIMITS.maxTtlMs);
  const hops = int(f.hops, 'hops', 0, FIELD_LIMITS.maxHops);
  return { contact, text, ...(ttlMs !== undefined && { ttlMs }), ...(hops !== undefined && { hops }) };
}

export function parseVerify(raw: string): VerifyRequest {
  const f = parseJsonObject(raw, ['contact', 'confirm']);
  const contact = str(f, 'contact', FIELD_LIMITS.contactChars, true);
  const confirm = f.confirm ?? false;
  if (typeof confirm !== 'boolean') throw invalid('confirm: expected true or false');
  return { contact, confirm };
}

/** Query integers: decimal digits only (no signs, exponents, blanks or hex that Number() would take). */
function queryInt(q: URLSearchParams, key: string, min: number, max: number): number | undefined {
  const all = q.getAll(key);
  if (all.length === 0) return undefined;
  if (all.length > 1) throw invalid(`${key}: given more than once`);
  const s = all[0] ?? '';
  if (!/^[0-9]{1,16}$/.test(s)) throw invalid(`${key}: expected a non-negative integer`);
  return int(Number(s), key, min, max);
}

export function parseMessagesQuery(q: URLSearchParams): MessagesRequest {
  for (const k of q.keys()) {
    if (!['contact', 'waitMs', 'count'].includes(k)) throw invalid(`query: unknown parameter "${k.slice(0, 32)}"`);
  }
  const contacts = q.getAll('contact');
  if (contacts.length !== 1) throw invalid('contact: required, once');
  const contact = str({ contact: contacts[0] }, 'contact', FIELD_LIMITS.contactChars, true);
  const waitMs = queryInt(q, 'waitMs', 0, FIELD_LIMITS.maxWaitMs);
  const count = queryInt(q, 'count', 1, FIELD_LIMITS.maxCount);
  const out: MessagesRequest = { contact };
  if (waitMs !== undefined) out.waitMs = waitMs;
  if (count !== undefined) out.count = count;
  return out;
}

/** `GET /v1/id[?for=CONTACT]`: an invite for that contact's new identity (CompeerApi.id). */
export function parseIdQuery(q: URLSearchParams): { forContact?: string } {
  for (const k of q.keys()) {
    if (k !== 'for') throw invalid(`query: unknown parameter "${k.slice(0, 32)}"`);
  }
  const all = q.getAll('for');
  if (all.length === 0) return {};
  if (all.length > 1) throw invalid('for: given more than once');
  return { forContact: str({ for: all[0] }, 'for', FIELD_LIMITS.contactChars, true) as string };
}

/** Routes without parameters take no query string at all. */
export function expectNoQuery(q: URLSearchParams): void {
  for (const k of q.keys()) throw invalid(`query: unknown parameter "${k.slice(0, 32)}"`);
}
