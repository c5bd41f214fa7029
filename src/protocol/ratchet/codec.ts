/**
 * Versioned binary encoding of the ratchet state, for the store (which seals it; this module only
 * encodes). Hand-written and fixed-layout because it runs after every message: one allocation, no
 * varints, no field tags. All integers big-endian. Version 0x01:
 *
 *   version (1) | send status (1: 0 none, 1 active, 2 pending) | flags (1: bit0 DHr, bit1 current chain)
 *   | AD length (u16) | AD | RK (32) | NHKs (32) | NHKr (32) | Ns (u32) | PN (u32)
 *   | [status ≠ pending] DHs public (32) | DHs private (32)
 *   | [status = active]  CKs (32) | HKs (32)
 *   | [bit0] DHr (32)
 *   | [bit1] current chain: HKr (32) | CKr (32) | Nr (u32) | floor (u32) | skipped count (u16) | entries
 *   | old chain count (u8) | per old chain: HK (32) | length (u32) | floor (u32) | skipped count (u16) | entries
 *   entry = message number (u32) | stored at, ms (u64) | message key (32)
 *
 * Decoding is strict: version, every enum value, every length, the invariants between fields (e.g. a
 * pending step implies a current chain and Ns = 0), entries in increasing order within
 * [floor, length), the limits on chains and keys, DHr a valid public key, no trailing bytes. Errors are
 * DecodeError UNSUPPORTED_VERSION or STATE_CORRUPT, never with key material in the message. The OpenSSL
 * handle of DHs is restored on first use (state.ts ownKeyPair), which also checks it against DHs public.
 */
import { CompeerError, DecodeError, ErrorCodes } from '../../lib/errors.ts';
import { x25519PublicKey, type X25519PublicKey } from '../../crypto/x25519.ts';
import {
  RATCHET_MAX_AD_LENGTH,
  RATCHET_MAX_OLD_CHAINS,
  RATCHET_MAX_SKIPPED_KEYS,
  RATCHET_STATE_VERSION,
} from '../wire/constants.ts';
import { remoteKey } from './_handles.ts';
import type { ChainKey, HeaderKey, MessageKey, RootKey } from './kdf.ts';
import {
  internal,
  opaque,
  SEND_ACTIVE,
  SEND_NONE,
  SEND_PENDING,
  State,
  type OwnRatchetKey,
  type RatchetState,
  type ReceivingChain,
  type SendStatus,
  type SkippedKey,
} from './state.ts';

const K = 32;
const FLAG_REMOTE = 0x01;
const FLAG_CURRENT = 0x02;
const ENTRY_LENGTH = 4 + 8 + K;
const CHAIN_FIXED = K + 4 + 4 + 2;
const TWO_32 = 0x1_0000_0000;

function chainLength(c: ReceivingChain): number {
  return CHAIN_FIXED + c.skipped.size * ENTRY_LENGTH;
}

/** Writes one receiving chain at `o`; returns the offset after it. (A function of its own, not a
 * closure over the offset: a captured, reassigned `o` would live in a context object.) */
function writeChain(out: Uint8Array, v: DataView, o: number, c: ReceivingChain): number {
  out.set(c.headerKey, o);
  o += K;
  if (c.chainKey !== null) {
    out.set(c.chainKey, o);
    o += K;
  }
  v.setUint32(o, c.next, false);
  v.setUint32(o + 4, c.floor, false);
  v.setUint16(o + 8, c.skipped.size, false);
  o += 10;
  if (c.skipped.size === 0) return o;
  for (const [n, e] of c.skipped) {
    v.setUint32(o, n, false);
    v.setUint32(o + 4, Math.floor(e.at / TWO_32), false);
    v.setUint32(o + 8, e.at >>> 0, false);
    out.set(e.key, o + 12);
    o += ENTRY_LENGTH;
  }
  return o;
}

/** The encoding, starting at offset `headroom` of the returned array (free bytes for a caller's prefix). */
export function encodeRatchetState(state: RatchetState, headroom = 0): Uint8Array {
  const s = internal(state);
  if (!Number.isInteger(headroom) || headroom < 0) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'ratchet state: bad headroom');
  let len = 3 + 2 + s.ad.length + 3 * K + 8 + 1;
  if (s.sendStatus !== SEND_PENDING) len += 2 * K;
  if (s.sendStatus === SEND_ACTIVE) len += 2 * K;
  if (s.remoteKey !== null) len += K;
  if (s.current !== null) len += K + chainLength(s.current);
  for (let i = 0; i < s.old.length; i++) len += chainLength(s.old[i] as ReceivingChain);

  const framed = new Uint8Array(headroom + len);
  const out = framed.subarray(headroom);
  const v = new DataView(framed.buffer, headroom);
  out[0] = RATCHET_STATE_VERSION;
  out[1] = s.sendStatus;
  out[2] = (s.remoteKey !== null ? FLAG_REMOTE : 0) | (s.current !== null ? FLAG_CURRENT : 0);
  v.setUint16(3, s.ad.length, false);
  let o = 5;
  out.set(s.ad, o);
  o += s.ad.length;
  out.set(s.rootKey, o);
  out.set(s.nextSendHeaderKey, o + K);
  out.set(s.nextRecvHeaderKey, o + 2 * K);
  o += 3 * K;
  v.setUint32(o, s.ns, false);
  v.setUint32(o + 4, s.pn, false);
  o += 8;
  if (s.sendStatus !== SEND_PENDING) {
    const own = s.ownKey as OwnRatchetKey;
    out.set(own.publicKey, o);
    out.set(own.privateKey, o + K);
    o += 2 * K;
  }
  if (s.sendStatus === SEND_ACTIVE) {
    out.set(s.sendChainKey as ChainKey, o);
    out.set(s.sendHeaderKey as HeaderKey, o + K);
    o += 2 * K;
  }
  if (s.remoteKey !== null) {
    out.set(s.remoteKey, o);
    o += K;
  }
  if (s.current !== null) o = writeChain(out, v, o, s.current);
  out[o++] = s.old.length;
  for (let i = 0; i < s.old.length; i++) o = writeChain(out, v, o, s.old[i] as ReceivingChain);
  return framed;
}

function corrupt(what: string): DecodeError {
  return new DecodeError(ErrorCodes.STATE_CORRUPT, `ratchet state: ${what}`);
}

/** A bounds-checked cursor; every read copies, so the caller may wipe its buffer afterwards. */
class Reader {
  private readonly b: Uint8Array;
  private readonly v: DataView;
  o = 0;
  constructor(b: Uint8Array) {
    this.b = b;
    this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private need(n: number): void {
    if (this.o + n > this.b.length) throw corrupt(`truncated (needs ${this.o + n} bytes, has ${this.b.length})`);
  }
  u8(): number {
    this.need(1);
    return this.b[this.o++] as number;
  }
  u16(): number {
    this.need(2);
    const x = this.v.getUint16(this.o, false);
    this.o += 2;
    return x;
  }
  u32(): number {
    this.need(4);
    const x = this.v.getUint32(this.o, false);
    this.o += 4;
    return x;
  }
  time(): number {
    const hi = this.u32();
    const lo = this.u32();
    if (hi > 0x1f_ffff) throw corrupt('timestamp out of range');
    return hi * TWO_32 + lo;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const x = this.b.slice(this.o, this.o + n);
    this.o += n;
    return x;
  }
  get remaining(): number {
    return this.b.length - this.o;
  }
}

function readChain(r: Reader, current: boolean, budget: { keys: number }): ReceivingChain {
  const headerKey = r.bytes(K) as HeaderKey;
  const chainKey = current ? (r.bytes(K) as ChainKey) : null;
  const next = r.u32();
  const floor = r.u32();
  const count = r.u16();
  if (floor > next) throw corrupt('chain floor beyond its length');
  budget.keys -= count;
  if (budget.keys < 0) throw corrupt(`more than ${RATCHET_MAX_SKIPPED_KEYS} skipped keys`);
  const skipped = new Map<number, SkippedKey>();
  let last = -1;
  for (let i = 0; i < count; i++) {
    const n = r.u32();
    const at = r.time();
    const key = r.bytes(K) as MessageKey;
    if (n <= last || n < floor || n >= next) throw corrupt('skipped key numbers out of order or range');
    last = n;
    skipped.set(n, { key, at });
  }
  return { headerKey, chainKey, next, floor, skipped };
}

function readPublicKey(r: Reader, whose: 'own' | 'remote'): X25519PublicKey {
  const bytes = r.bytes(K);
  try {
    return whose === 'remote' ? remoteKey(bytes) : x25519PublicKey(bytes);
  } catch (cause) {
    throw new DecodeError(ErrorCodes.STATE_CORRUPT, `ratchet state: invalid ${whose} ratchet public key`, { cause });
  }
}

export function decodeRatchetState(bytes: Uint8Array): RatchetState {
  if (!(bytes instanceof Uint8Array)) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'ratchet state: expected Uint8Array');
  const r = new Reader(bytes);
  const version = r.u8();
  if (version !== RATCHET_STATE_VERSION) {
    throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `ratchet state: unsupported version ${version}`);
  }
  const status = r.u8();
  if (status !== SEND_NONE && status !== SEND_ACTIVE && status !== SEND_PENDING) throw corrupt('unknown send status');
  const flags = r.u8();
  if ((flags & ~(FLAG_REMOTE | FLAG_CURRENT)) !== 0) throw corrupt('unknown flags');
  const hasRemote = (flags & FLAG_REMOTE) !== 0;
  const hasCurrent = (flags & FLAG_CURRENT) !== 0;
  const adLength = r.u16();
  if (adLength > RATCHET_MAX_AD_LENGTH) throw corrupt('associated data too long');
  const ad = r.bytes(adLength);
  const rootKey = r.bytes(K) as RootKey;
  const nextSendHeaderKey = r.bytes(K) as HeaderKey;
  const nextRecvHeaderKey = r.bytes(K) as HeaderKey;
  const ns = r.u32();
  const pn = r.u32();
  let ownKey: OwnRatchetKey | null = null;
  if (status !== SEND_PENDING) {
    const publicKey = readPublicKey(r, 'own');
    ownKey = { publicKey, privateKey: r.bytes(K), pair: null, owned: true };
  }
  let sendChainKey: ChainKey | null = null;
  let sendHeaderKey: HeaderKey | null = null;
  if (status === SEND_ACTIVE) {
    sendChainKey = r.bytes(K) as ChainKey;
    sendHeaderKey = r.bytes(K) as HeaderKey;
  }
  const remoteKey = hasRemote ? readPublicKey(r, 'remote') : null;
  const budget = { keys: RATCHET_MAX_SKIPPED_KEYS };
  const current = hasCurrent ? readChain(r, true, budget) : null;
  const oldCount = r.u8();
  if (oldCount > RATCHET_MAX_OLD_CHAINS) throw corrupt(`more than ${RATCHET_MAX_OLD_CHAINS} old chains`);
  const old: ReceivingChain[] = [];
  for (let i = 0; i < oldCount; i++) old.push(readChain(r, false, budget));
  if (r.remaining !== 0) throw corrupt(`${r.remaining} trailing bytes`);

  // Invariants between fields (see state.ts for the meaning of each status).
  if (status === SEND_NONE && (hasRemote || hasCurrent || oldCount > 0 || ns !== 0 || pn !== 0)) {
    throw corrupt('a responder that never received has chains or counters');
  }
  if (status !== SEND_NONE && !hasRemote) throw corrupt('no remote ratchet key');
  if (status === SEND_PENDING && (!hasCurrent || ns !== 0)) throw corrupt('pending step without a receiving chain');
  if (oldCount > 0 && !hasCurrent) throw corrupt('old chains without a current one');

  return opaque(
    new State({
      ad,
      rootKey,
      sendStatus: status as SendStatus,
      ownKey,
      sendChainKey,
      sendHeaderKey,
      nextSendHeaderKey,
      ns,
      pn,
      remoteKey,
      nextRecvHeaderKey,
      current,
      old,
    }),
  );
}
