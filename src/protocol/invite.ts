/**
 * The `compeer://` invite (DESIGN.md "Identity and first contact"): what one person hands another out of
 * band — as a link or a QR code — so that the other can start a session and be accepted as a contact.
 *
 *   link   = "compeer://invite/" | base64url(invite), no padding
 *   invite = version (1) = 0x01
 *          | identity (129)           PublicIdentity encoding (protocol/identity.ts)
 *          | secret (16)              one-time secret; the first message (a `hello`) must carry it
 *          | peerIdLen (1) | peerId   the inviter node's libp2p peer ID (base58), 0 when no address follows
 *          | count (1) ≤ 4            addresses, each: len (1) | multiaddr text without its /p2p/<peerId> tail
 *          | nameLen (1) ≤ 64 | name  optional display name (UTF-8, no control characters), 0 = none
 *
 * Addresses are stored without their common "/p2p/<peerId>" suffix (added back on decode) so a link
 * with two addresses stays near 400 characters, and a QR code stays small. The prekey bundle (1.6 KB,
 * ML-KEM) is not in the invite: it is fetched from the inviter's node or the DHT.
 * Decoding is strict: version, lengths, limits, the identity binding signature, printable addresses.
 * This module knows nothing of networking (an address is only checked for shape) or of which invites a
 * node has outstanding. `renderQr` draws any text as a QR code with Unicode half blocks (uqr encodes).
 */
import { encode as qrEncode } from 'uqr';
import { concatBytes, fromBase64Url, fromUtf8, toBase64Url, utf8 } from '../lib/bytes.ts';
import { assertBytes } from '../lib/assert.ts';
import { CompeerError, DecodeError, ErrorCodes, LimitError } from '../lib/errors.ts';
import { encodePublicIdentity, PUBLIC_IDENTITY_LENGTH, userIdOf, type PublicIdentity, type UserId } from './identity.ts';
import { decodeKnownIdentity } from './identity-cache.ts';
import { StrictReader } from '../lib/reader.ts';
import { hkdfSha256 } from '../crypto/hkdf.ts';

export const INVITE_VERSION = 0x01;
export const INVITE_PREFIX = 'compeer://invite/';
export const INVITE_SECRET_LENGTH = 16;
export const INVITE_MAX_ADDRESSES = 4;
/** One address without its /p2p/ tail. */
export const INVITE_MAX_ADDRESS_LENGTH = 200;
export const INVITE_MAX_PEER_ID_LENGTH = 64;
export const INVITE_MAX_NAME_BYTES = 64;
/** Longest link accepted by the decoder (a full invite is well below: ~1,450 characters). */
export const INVITE_MAX_LINK_LENGTH = 2048;

export interface Invite {
  readonly identity: PublicIdentity;
  /** userIdOf(identity). */
  readonly userId: UserId;
  readonly secret: Uint8Array;
  /** Full multiaddrs, each ending in /p2p/<peerId>; empty when the invite carries none. */
  readonly addresses: readonly string[];
  readonly name: string | null;
}

export interface InviteInput {
  readonly identity: PublicIdentity;
  readonly secret: Uint8Array;
  /** Candidate addresses; only those ending in /p2p/<one peer id> are kept, at most 4 (see encodeInvite). */
  readonly addresses: readonly string[];
  readonly name?: string | null | undefined;
}

const INVITE_MAILBOX_INFO = utf8('compeer/invite/v1/mailbox');

/**
 * The mailbox secret of an invite (docs/mailboxes.md "First contact"): HKDF-SHA256(invite secret, no
 * salt, "compeer/invite/v1/mailbox", 32). The invitee deposits its first messages in the day mailboxes
 * of this secret when the inviter's node cannot be reached; the inviter fetches them. One-way: a holder
 * that learns a day key learns nothing of the invite secret, which alone authenticates the `hello`.
 */
export function inviteMailboxSecret(secret: Uint8Array): Uint8Array {
  assertBytes(secret, 'invite secret', INVITE_SECRET_LENGTH);
  return hkdfSha256(secret, undefined, INVITE_MAILBOX_INFO, 32);
}

const PEER_ID_RE = /^[1-9A-HJ-NP-Za-km-z]{1,64}$/;
// Printable ASCII without space; starts with '/'. The shape only: src/net/ parses multiaddrs for real.
const ADDRESS_RE = /^\/[\x21-\x7e]{1,199}$/;
const CONTROL_RE = /\p{Cc}/u;

function invalid(what: string): DecodeError {
  return new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `invite: ${what}`);
}

/** Splits "/…/p2p/<peerId>" into its head and peer ID; undefined when it does not end that way. */
function splitP2p(addr: string): { head: string; peerId: string } | undefined {
  const at = addr.lastIndexOf('/p2p/');
  if (at <= 0) return undefined;
  const peerId = addr.slice(at + 5);
  const head = addr.slice(0, at);
  if (!PEER_ID_RE.test(peerId) || !ADDRESS_RE.test(head)) return undefined;
  return { head, peerId };
}

function checkName(name: string): Uint8Array {
  const bytes = utf8(name);
  if (bytes.length === 0 || bytes.length > INVITE_MAX_NAME_BYTES || CONTROL_RE.test(name)) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `invite name: 1 to ${INVITE_MAX_NAME_BYTES} UTF-8 bytes, no control characters`);
  }
  return bytes;
}

/**
 * The binary invite. Addresses: the peer ID of the first usable address wins; addresses of another peer,
 * without a /p2p/ tail, or too long are skipped (never an error: the node's address list is what it is).
 */
export function encodeInvite(input: InviteInput): Uint8Array {
  assertBytes(input.secret, 'invite secret', INVITE_SECRET_LENGTH);
  let peerId: string | undefined;
  const heads: Uint8Array[] = [];
  for (const addr of input.addresses) {
    if (heads.length >= INVITE_MAX_ADDRESSES) break;
    const parts = splitP2p(addr);
    if (!parts) continue;
    peerId ??= parts.peerId;
    if (parts.peerId !== peerId) continue;
    heads.push(utf8(parts.head));
  }
  const name = input.name === null || input.name === undefined ? new Uint8Array(0) : checkName(input.name);
  const pid = peerId === undefined ? new Uint8Array(0) : utf8(peerId);
  return concatBytes(
    Uint8Array.of(INVITE_VERSION),
    encodePublicIdentity(input.identity),
    input.secret,
    Uint8Array.of(pid.length),
    pid,
    Uint8Array.of(heads.length),
    ...heads.flatMap((h) => [Uint8Array.of(h.length), h]),
    Uint8Array.of(name.length),
    name,
  );
}

/** Strict decode. Errors: DecodeError (shape, version, lengths), CryptoError (identity binding). */
export function decodeInvite(bytes: Uint8Array): Invite {
  const r = new StrictReader(bytes, 'invite');
  const version = r.u8('version');
  if (version !== INVITE_VERSION) throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `invite: unsupported version ${version}`);
  const identity = decodeKnownIdentity(r.bytes(PUBLIC_IDENTITY_LENGTH, 'identity'));
  const secret = r.bytes(INVITE_SECRET_LENGTH, 'secret');
  const pidLen = r.u8('peer id length');
  if (pidLen > INVITE_MAX_PEER_ID_LENGTH) throw invalid('peer id too long');
  const peerId = fromUtf8(r.bytes(pidLen, 'peer id'));
  if (pidLen > 0 && !PEER_ID_RE.test(peerId)) throw invalid('peer id is not base58');
  const count = r.u8('address count');
  if (count > INVITE_MAX_ADDRESSES) throw invalid(`at most ${INVITE_MAX_ADDRESSES} addresses, got ${count}`);
  if (count > 0 && pidLen === 0) throw invalid('addresses without a peer id');
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = r.u8('address length');
    if (len > INVITE_MAX_ADDRESS_LENGTH) throw invalid('address too long');
    const head = fromUtf8(r.bytes(len, 'address'));
    if (!ADDRESS_RE.test(head)) throw invalid('address is not a multiaddr');
    addresses.push(`${head}/p2p/${peerId}`);
  }
  const nameLen = r.u8('name length');
  if (nameLen > INVITE_MAX_NAME_BYTES) throw invalid('name too long');
  const nameText = fromUtf8(r.bytes(nameLen, 'name'));
  if (CONTROL_RE.test(nameText)) throw invalid('name has control characters');
  r.end();
  return { identity, userId: userIdOf(identity), secret, addresses, name: nameLen === 0 ? null : nameText };
}

export function inviteToLink(input: InviteInput): string {
  return INVITE_PREFIX + toBase64Url(encodeInvite(input));
}

/** Parses a link (surrounding whitespace ignored). Errors as decodeInvite, plus LimitError for a huge link. */
export function parseInviteLink(link: string): Invite {
  if (typeof link !== 'string') throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'invite: expected a string');
  if (link.length > INVITE_MAX_LINK_LENGTH) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `invite: at most ${INVITE_MAX_LINK_LENGTH} characters, got ${link.length}`);
  }
  const trimmed = link.trim();
  if (!trimmed.startsWith(INVITE_PREFIX)) throw new DecodeError(ErrorCodes.INVALID_ENCODING, `invite: expected a ${INVITE_PREFIX} link`);
  return decodeInvite(fromBase64Url(trimmed.slice(INVITE_PREFIX.length)));
}

/**
 * A QR code of `text` drawn with Unicode half blocks (two modules per character cell), with a quiet
 * zone of 2 modules. By default light modules are drawn as blocks, which scans on the usual dark
 * terminal background; `invert` draws dark modules instead (for light backgrounds).
 */
export function renderQr(text: string, opts: { invert?: boolean } = {}): string {
  const qr = qrEncode(text, { ecc: 'L', border: 2 });
  const on = (y: number, x: number): boolean => {
    const dark = qr.data[y]?.[x] ?? false; // rows past the bottom edge are light
    return opts.invert === true ? dark : !dark;
  };
  const lines: string[] = [];
  for (let y = 0; y < qr.size; y += 2) {
    let line = '';
    for (let x = 0; x < qr.size; x++) {
      const top = on(y, x);
      const bottom = y + 1 < qr.size ? on(y + 1, x) : opts.invert !== true;
      line += top ? (bottom ? '█' : '▀') : bottom ? '▄' : ' ';
    }
    lines.push(line);
  }
  return lines.join('\n');
}
