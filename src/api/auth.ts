/**
 * Who may talk to the control API: the holder of the bearer token, from this machine, not via a browser
 * page of another origin.
 * - Token: 32 random bytes as 64 hex characters in DIR/api.token (0600), a new one at every start.
 *   Compared in constant time (both sides hashed first, so lengths leak nothing either).
 * - Host header: only loopback names (or the explicitly allowed bound host), which defeats DNS
 *   rebinding (a page on evil.example resolving to 127.0.0.1 still sends Host: evil.example).
 * - Origin: absent (CLI, curl) or the API's own origin; `Sec-Fetch-Site: cross-site` is refused too.
 *
 * Knows headers and the token file; does not know routes or the node.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompeerError, ErrorCodes } from '../lib/errors.ts';

export const TOKEN_FILE = 'api.token';
export const TOKEN_BYTES = 32;
const TOKEN_RE = /^[0-9a-f]{64}$/;

export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('hex');
}

export function tokenPath(dir: string): string {
  return join(dir, TOKEN_FILE);
}

/** Writes the token 0600 through a temporary file and a rename, so no reader sees a partial token. */
export function writeToken(dir: string, token: string): void {
  const tmp = `${tokenPath(dir)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${token}\n`, { mode: 0o600, flag: 'w' });
  renameSync(tmp, tokenPath(dir));
}

export function removeToken(dir: string): void {
  rmSync(tokenPath(dir), { force: true });
}

export function readToken(dir: string): string {
  let raw: string;
  try {
    raw = readFileSync(tokenPath(dir), 'utf8');
  } catch {
    throw new CompeerError(ErrorCodes.NOT_RUNNING, `no API token in ${dir}; is the node running? (\`compeer start\`)`);
  }
  const token = raw.trim();
  if (!TOKEN_RE.test(token)) throw new CompeerError(ErrorCodes.UNAUTHORIZED, `the API token file in ${dir} is malformed`);
  return token;
}

export function isToken(s: string): boolean {
  return TOKEN_RE.test(s);
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time check of an `Authorization: Bearer <token>` header. */
export function checkBearer(header: string | undefined, token: string): boolean {
  const m = /^Bearer ([^\s]+)$/.exec(header ?? '');
  const given = m?.[1] ?? '';
  // Always compare (even for a missing header), so timing says nothing about why a request failed.
  return timingSafeEqual(digest(given), digest(token)) && m !== null;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Splits a Host header value into hostname and port; undefined when it is not of that form. */
function splitHost(host: string): { name: string; port: string } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?$/.exec(host);
  if (m === null) return undefined;
  return { name: (m[1] ?? '').toLowerCase(), port: m[2] ?? '80' };
}

export interface OriginPolicy {
  /** The port the API listens on: Host and Origin must name it. */
  port: number;
  /** A non-loopback host the server was explicitly bound to, also accepted in Host/Origin. */
  extraHost?: string;
}

function hostAllowed(name: string, policy: OriginPolicy): boolean {
  if (LOOPBACK_NAMES.has(name)) return true;
  const extra = policy.extraHost?.toLowerCase();
  return extra !== undefined && (name === extra || name === `[${extra}]`);
}

/** UNAUTHORIZED unless Host names this API and any Origin is this API's own. */
export function checkHostAndOrigin(headers: { host?: string | undefined; origin?: string | undefined; 'sec-fetch-site'?: string | string[] | undefined }, policy: OriginPolicy): void {
  const host = splitHost(headers.host ?? '');
  if (host === undefined || !hostAllowed(host.name, policy) || host.port !== String(policy.port)) {
    throw new CompeerError(ErrorCodes.UNAUTHORIZED, 'Host header must name the local API (localhost or 127.0.0.1 and its port)');
  }
  if (headers['sec-fetch-site'] === 'cross-site') {
    throw new CompeerError(ErrorCodes.UNAUTHORIZED, 'cross-site requests are refused');
  }
  const origin = headers.origin;
  if (origin === undefined) return;
  const m = /^http:\/\/(.+)$/.exec(origin);
  const o = m === null ? undefined : splitHost(m[1] ?? '');
  if (o === undefined || !hostAllowed(o.name, policy) || o.port !== String(policy.port)) {
    throw new CompeerError(ErrorCodes.UNAUTHORIZED, 'cross-origin requests are refused');
  }
}
