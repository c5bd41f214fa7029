/**
 * Signed peer announcements: what a node gossips about itself so strangers can find and route through it
 * (DESIGN.md "Discovery and the peer table"; docs/networking.md "Discovery").
 *
 * Layout (v1), big-endian, every field bounded:
 *
 *   version       u8        0x01
 *   capabilities  u8        bit 0 relay, bit 1 mailbox; other bits must be 0
 *   timestamp     u64       ms since the epoch, when the announcer signed
 *   signing key   32        the node's Ed25519 public key (the libp2p node key)
 *   peer ID       u8 len ‖ ASCII, 1..128 bytes; must equal the peer ID that the signing key derives
 *   onion key     u8 type   0x00 (none) or 0x05 followed by an X25519 public key (32)
 *   addresses     u8 count (0..8) ‖ count × (u16 len (1..256) ‖ printable ASCII starting with '/')
 *   hop TTL       u8        1..8 hops left; NOT signed — each forwarder decrements it
 *   signature     64        Ed25519 over "compeer-announcement-v1" ‖ every byte before the hop TTL
 *
 * Which key signs: the node's libp2p Ed25519 key. A libp2p peer ID of an Ed25519 key embeds the key
 * (base58btc of the identity multihash of its protobuf encoding), so the verifier derives the peer ID
 * from the signing key and compares: nobody can announce addresses for a peer ID whose key they lack.
 * Nothing here names the user identity — announcements carry network data only.
 *
 * The hop TTL is outside the signature because it changes in transit; a forwarder may reset it up to
 * the maximum, which only lets an announcement travel a few hops further than its origin wished.
 * Decoding is strict: trailing bytes, unknown bits, a zero-length or oversized field, a non-canonical key
 * are all refused. This module does no I/O and knows nothing of gossip, peer tables or libp2p objects.
 */
import { ed25519AssertValid, ed25519PublicKey, ed25519Sign, ED25519_PUBLIC_KEY_LENGTH, ED25519_SIGNATURE_LENGTH, type Ed25519KeyPair, type Ed25519PublicKey } from '../../crypto/ed25519.ts';
import { x25519PublicKey, X25519_KEY_LENGTH, type X25519PublicKey } from '../../crypto/x25519.ts';
import { concatBytes, fromUtf8, utf8 } from '../../lib/bytes.ts';
import { CompeerError, CryptoError, DecodeError, ErrorCodes, LimitError, ProtocolError } from '../../lib/errors.ts';
import {
  ANNOUNCEMENT_MAX_ADDRESS_BYTES,
  ANNOUNCEMENT_MAX_ADDRESSES,
  ANNOUNCEMENT_MAX_AGE_MS,
  ANNOUNCEMENT_MAX_CLOCK_SKEW_MS,
  ANNOUNCEMENT_MAX_HOP_TTL,
  ANNOUNCEMENT_MAX_PEER_ID_BYTES,
  ANNOUNCEMENT_VERSION,
  KEY_TYPE_X25519,
} from './constants.ts';

export const CAPABILITY_RELAY = 0x01;
export const CAPABILITY_MAILBOX = 0x02;
const KNOWN_CAPABILITIES = CAPABILITY_RELAY | CAPABILITY_MAILBOX;

const SIGNATURE_CONTEXT = utf8('compeer-announcement-v1');
const TRAILER_LENGTH = 1 + ED25519_SIGNATURE_LENGTH; // hop TTL ‖ signature

/** The largest well-formed announcement (every field at its maximum). */
export const ANNOUNCEMENT_MAX_BYTES =
  1 + 1 + 8 + ED25519_PUBLIC_KEY_LENGTH + 1 + ANNOUNCEMENT_MAX_PEER_ID_BYTES + 1 + X25519_KEY_LENGTH + 1 +
  ANNOUNCEMENT_MAX_ADDRESSES * (2 + ANNOUNCEMENT_MAX_ADDRESS_BYTES) + TRAILER_LENGTH;

export interface PeerAnnouncement {
  readonly peerId: string;
  readonly signingKey: Ed25519PublicKey;
  readonly addresses: readonly string[];
  readonly onionKey: X25519PublicKey | undefined;
  /** Bit flags: CAPABILITY_RELAY, CAPABILITY_MAILBOX. */
  readonly capabilities: number;
  readonly timestamp: number;
  readonly hopTtl: number;
}

/** A parsed but unverified announcement: the signed bytes and the signature travel with it. */
export interface DecodedAnnouncement extends PeerAnnouncement {
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
}

export interface AnnouncementFields {
  readonly addresses: readonly string[];
  readonly onionKey?: X25519PublicKey | undefined;
  readonly capabilities: number;
  readonly timestamp: number;
  readonly hopTtl: number;
}

export interface VerifyOptions {
  readonly now: number;
  /** Older announcements are stale (default ANNOUNCEMENT_MAX_AGE_MS). */
  readonly maxAgeMs?: number;
  /** How far past `now` a timestamp may lie (default ANNOUNCEMENT_MAX_CLOCK_SKEW_MS). */
  readonly maxSkewMs?: number;
}

// ---- peer ID binding (libp2p peer-ids spec: Ed25519 keys are inlined with the identity multihash)

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
// identity multihash (0x00), length 36 ‖ protobuf PublicKey { Type: Ed25519 (1), Data: 32 bytes }
const ED25519_PEER_ID_PREFIX = Uint8Array.of(0x00, 0x24, 0x08, 0x01, 0x12, 0x20);

function base58btc(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = BASE58.charAt(Number(n % 58n)) + out;
    n /= 58n;
  }
  return '1'.repeat(zeros) + out;
}

/** The libp2p peer ID ("12D3KooW…") of an Ed25519 public key. */
export function ed25519PeerId(key: Ed25519PublicKey): string {
  return base58btc(concatBytes(ED25519_PEER_ID_PREFIX, key));
}

// ---- field checks, shared by encode (INVALID_ARGUMENT from us) and decode (MALFORMED_MESSAGE from others)

function addressProblem(a: Uint8Array): string | undefined {
  if (a.length === 0) return 'empty address';
  if (a.length > ANNOUNCEMENT_MAX_ADDRESS_BYTES) return `address of ${a.length} bytes (max ${ANNOUNCEMENT_MAX_ADDRESS_BYTES})`;
  if (a[0] !== 0x2f) return 'address does not start with /';
  for (const c of a) if (c < 0x21 || c > 0x7e) return 'address is not printable ASCII';
  return undefined;
}

function peerIdProblem(p: Uint8Array): string | undefined {
  if (p.length === 0 || p.length > ANNOUNCEMENT_MAX_PEER_ID_BYTES) return `peer ID of ${p.length} bytes`;
  for (const c of p) if (!BASE58.includes(String.fromCharCode(c))) return 'peer ID is not base58btc';
  return undefined;
}

function checkTtl(ttl: number, err: (m: string) => CompeerError): void {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > ANNOUNCEMENT_MAX_HOP_TTL) {
    throw err(`hop TTL ${ttl} outside 1..${ANNOUNCEMENT_MAX_HOP_TTL}`);
  }
}

// ---- encode

/** Builds and signs our own announcement with the node key. Throws INVALID_ARGUMENT on bad fields. */
export function encodeAnnouncement(nodeKey: Ed25519KeyPair, f: AnnouncementFields): Uint8Array {
  const bad = (m: string): CompeerError => new CompeerError(ErrorCodes.INVALID_ARGUMENT, `announcement: ${m}`);
  if (f.addresses.length > ANNOUNCEMENT_MAX_ADDRESSES) throw bad(`${f.addresses.length} addresses (max ${ANNOUNCEMENT_MAX_ADDRESSES})`);
  if (!Number.isInteger(f.capabilities) || (f.capabilities & ~KNOWN_CAPABILITIES) !== 0) throw bad('unknown capability bits');
  if (!Number.isSafeInteger(f.timestamp) || f.timestamp < 0) throw bad('timestamp out of range');
  checkTtl(f.hopTtl, bad);
  const peerId = utf8(ed25519PeerId(nodeKey.publicKey));
  const parts: Uint8Array[] = [Uint8Array.of(ANNOUNCEMENT_VERSION, f.capabilities)];
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigUint64(0, BigInt(f.timestamp), false);
  parts.push(ts, nodeKey.publicKey, Uint8Array.of(peerId.length), peerId);
  parts.push(f.onionKey === undefined ? Uint8Array.of(0) : concatBytes(Uint8Array.of(KEY_TYPE_X25519), f.onionKey));
  parts.push(Uint8Array.of(f.addresses.length));
  for (const [i, s] of f.addresses.entries()) {
    const a = utf8(s);
    const problem = addressProblem(a);
    if (problem !== undefined) throw bad(problem);
    // The decoder refuses a repeated address: never sign an announcement every receiver rejects.
    if (f.addresses.indexOf(s) !== i) throw bad('duplicate address');
    parts.push(Uint8Array.of(a.length >> 8, a.length & 0xff), a);
  }
  const body = concatBytes(...parts);
  const sig = ed25519Sign(nodeKey, concatBytes(SIGNATURE_CONTEXT, body));
  return concatBytes(body, Uint8Array.of(f.hopTtl), sig);
}

/** A copy of an encoded announcement with another hop TTL (the signature stays valid). */
export function withHopTtl(bytes: Uint8Array, hopTtl: number): Uint8Array {
  checkTtl(hopTtl, (m) => new CompeerError(ErrorCodes.INVALID_ARGUMENT, `announcement: ${m}`));
  if (bytes.length < TRAILER_LENGTH) throw new DecodeError(ErrorCodes.INVALID_LENGTH, 'announcement: truncated');
  const out = Uint8Array.from(bytes);
  out[out.length - TRAILER_LENGTH] = hopTtl;
  return out;
}

// ---- decode

class Reader {
  readonly b: Uint8Array;
  #off = 0;
  constructor(b: Uint8Array) {
    this.b = b;
  }

  take(n: number, field: string): Uint8Array {
    if (this.#off + n > this.b.length) throw new DecodeError(ErrorCodes.INVALID_LENGTH, `announcement: truncated at ${field}`);
    // A copy, whatever the input is (Buffer#slice would return a view into a pooled buffer).
    const out = new Uint8Array(n);
    out.set(this.b.subarray(this.#off, this.#off + n));
    this.#off += n;
    return out;
  }

  u8(field: string): number {
    return this.take(1, field)[0] as number;
  }

  get offset(): number {
    return this.#off;
  }
}

function malformed(m: string): DecodeError {
  return new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `announcement: ${m}`);
}

/**
 * Parses the structure and validates the keys; checks neither signature, binding nor freshness (use
 * `verifyAnnouncement`). Throws LimitError (oversized), DecodeError (malformed, wrong version),
 * CryptoError (a key that is not a valid point).
 */
export function decodeAnnouncement(bytes: Uint8Array): DecodedAnnouncement {
  if (bytes.length > ANNOUNCEMENT_MAX_BYTES) {
    throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `announcement of ${bytes.length} bytes (max ${ANNOUNCEMENT_MAX_BYTES})`);
  }
  const r = new Reader(bytes);
  const version = r.u8('version');
  if (version !== ANNOUNCEMENT_VERSION) throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `announcement: version ${version}`);
  const capabilities = r.u8('capabilities');
  if ((capabilities & ~KNOWN_CAPABILITIES) !== 0) throw malformed('unknown capability bits');
  const tsBig = new DataView(r.take(8, 'timestamp').buffer).getBigUint64(0, false);
  if (tsBig > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed('timestamp out of range');
  const signingKey = ed25519PublicKey(r.take(ED25519_PUBLIC_KEY_LENGTH, 'signing key'));
  const peerIdBytes = r.take(r.u8('peer ID length'), 'peer ID');
  const pidProblem = peerIdProblem(peerIdBytes);
  if (pidProblem !== undefined) throw malformed(pidProblem);
  const onionType = r.u8('onion key type');
  let onionKey: X25519PublicKey | undefined;
  if (onionType === KEY_TYPE_X25519) onionKey = x25519PublicKey(r.take(X25519_KEY_LENGTH, 'onion key'));
  else if (onionType !== 0) throw malformed(`onion key type 0x${onionType.toString(16)}`);
  const count = r.u8('address count');
  if (count > ANNOUNCEMENT_MAX_ADDRESSES) throw malformed(`${count} addresses (max ${ANNOUNCEMENT_MAX_ADDRESSES})`);
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = r.take(2, 'address length');
    const a = r.take(((len[0] as number) << 8) | (len[1] as number), 'address');
    const problem = addressProblem(a);
    if (problem !== undefined) throw malformed(problem);
    const s = fromUtf8(a);
    if (addresses.includes(s)) throw malformed('duplicate address');
    addresses.push(s);
  }
  const signedEnd = r.offset;
  const hopTtl = r.u8('hop TTL');
  checkTtl(hopTtl, malformed);
  const signature = r.take(ED25519_SIGNATURE_LENGTH, 'signature');
  if (r.offset !== bytes.length) throw new DecodeError(ErrorCodes.INVALID_LENGTH, `announcement: ${bytes.length - r.offset} trailing bytes`);
  return {
    peerId: fromUtf8(peerIdBytes),
    signingKey,
    addresses,
    onionKey,
    capabilities,
    timestamp: Number(tsBig),
    hopTtl,
    signed: new Uint8Array(bytes.subarray(0, signedEnd)), // a copy: the input may be a pooled buffer
    signature,
  };
}

/**
 * Decodes and checks an announcement from the network, cheapest checks first:
 * 1. structure and size (LimitError / DecodeError; CryptoError INVALID_KEY for a bad key)
 * 2. the signing key derives the peer ID (CryptoError INVALID_KEY)
 * 3. freshness (ProtocolError MESSAGE_EXPIRED: older than maxAgeMs, or more than maxSkewMs ahead)
 * 4. the signature (CryptoError BAD_SIGNATURE)
 * Forged input fails with a DecodeError, LimitError or CryptoError; honest-but-stale input with a
 * ProtocolError — callers treat the two differently (gossip 'reject' vs 'ignore').
 */
export function verifyAnnouncement(bytes: Uint8Array, opts: VerifyOptions): PeerAnnouncement {
  return verifyDecodedAnnouncement(decodeAnnouncement(bytes), opts);
}

/** Steps 2–4 of `verifyAnnouncement`, for a caller that decoded first (e.g. to drop duplicates cheaply). */
export function verifyDecodedAnnouncement(a: DecodedAnnouncement, opts: VerifyOptions): PeerAnnouncement {
  if (ed25519PeerId(a.signingKey) !== a.peerId) {
    throw new CryptoError(ErrorCodes.INVALID_KEY, 'announcement: the signing key does not derive the announced peer ID');
  }
  const maxAge = opts.maxAgeMs ?? ANNOUNCEMENT_MAX_AGE_MS;
  const maxSkew = opts.maxSkewMs ?? ANNOUNCEMENT_MAX_CLOCK_SKEW_MS;
  if (a.timestamp > opts.now + maxSkew) {
    throw new ProtocolError(ErrorCodes.MESSAGE_EXPIRED, `announcement: timestamp ${a.timestamp - opts.now} ms in the future`);
  }
  if (a.timestamp < opts.now - maxAge) {
    throw new ProtocolError(ErrorCodes.MESSAGE_EXPIRED, `announcement: stale by ${opts.now - maxAge - a.timestamp} ms`);
  }
  ed25519AssertValid(a.signingKey, concatBytes(SIGNATURE_CONTEXT, a.signed), a.signature, 'announcement');
  return {
    peerId: a.peerId,
    signingKey: a.signingKey,
    addresses: a.addresses,
    onionKey: a.onionKey,
    capabilities: a.capabilities,
    timestamp: a.timestamp,
    hopTtl: a.hopTtl,
  };
}
