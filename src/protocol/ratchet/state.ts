/**
 * The Double Ratchet state (Signal Double Ratchet spec §4, "state variables" with header encryption) as
 * one mutable object behind an opaque type: callers hold a `RatchetState` and can only pass it to the
 * functions of protocol/ratchet/. The object never prints its keys (inspect/toJSON are redacted).
 *
 * Spec variable → field:
 *   DHs → ownKey (null while a sending ratchet step is pending)   DHr → remoteKey
 *   RK → rootKey   CKs → sendChainKey   HKs → sendHeaderKey   NHKs → nextSendHeaderKey
 *   Ns, PN → ns, pn   CKr, HKr, Nr → current.chainKey, current.headerKey, current.next
 *   NHKr → nextRecvHeaderKey   MKSKIPPED → the `skipped` maps of current and old chains
 *
 * Deferred key generation (spec §8.5): on receiving a new ratchet key we derive the receiving chain and
 * delete our old ratchet private key, but generate the new key pair only when we next send (status
 * PENDING). Decryption therefore needs no randomness, and our ratchet private keys live shorter.
 * This module knows nothing of wire formats, trial decryption or limits.
 */
import { inspect } from 'node:util';
import { equalBytes, wipe } from '../../lib/bytes.ts';
import { CompeerError, DecodeError, ErrorCodes } from '../../lib/errors.ts';
import type { SecretBytes } from '../../crypto/secret.ts';
import { x25519FromPrivate, type X25519KeyPair, type X25519PublicKey } from '../../crypto/x25519.ts';
import type { ChainKey, HeaderKey, MessageKey, RootKey } from './kdf.ts';
import { MESSAGE_PREFIX_LENGTH } from './message.ts';
import { cachedOwnKey, forgetOwnKey, rememberOwnKey } from './_handles.ts';

/** Sending status: NONE = responder before its first message in; ACTIVE = CKs/HKs set; PENDING = step due. */
export const SEND_NONE = 0;
export const SEND_ACTIVE = 1;
export const SEND_PENDING = 2;
export type SendStatus = typeof SEND_NONE | typeof SEND_ACTIVE | typeof SEND_PENDING;

export interface SkippedKey {
  readonly key: MessageKey;
  /** When the key was derived (ms since epoch, the caller's clock): for expiry. */
  readonly at: number;
}

/**
 * A receiving chain. The current one has a chain key; an old (finished) one keeps only its header key,
 * its length and its remaining skipped keys, so late messages decrypt and replays are recognised.
 */
export interface ReceivingChain {
  readonly headerKey: HeaderKey;
  /** CKr; null once the chain is finished. */
  chainKey: ChainKey | null;
  /** Current chain: Nr, the next number expected. Old chain: its length (the PN that ended it). */
  next: number;
  /** Numbers below `floor` whose keys were dropped (evicted or expired): MESSAGE_EXPIRED, not DUPLICATE. */
  floor: number;
  /** Skipped message keys by message number, in insertion (= number) order. */
  readonly skipped: Map<number, SkippedKey>;
}

/** Our ratchet key pair (DHs). The OpenSSL handle is imported lazily after decoding (it costs a DH). */
export interface OwnRatchetKey {
  readonly publicKey: X25519PublicKey;
  readonly privateKey: Uint8Array;
  pair: X25519KeyPair | null;
  /** False for the responder's signed prekey, which other sessions share: never wiped by us. */
  readonly owned: boolean;
}

export interface StateFields {
  ad: Uint8Array;
  rootKey: RootKey;
  sendStatus: SendStatus;
  ownKey: OwnRatchetKey | null;
  sendChainKey: ChainKey | null;
  sendHeaderKey: HeaderKey | null;
  nextSendHeaderKey: HeaderKey;
  ns: number;
  pn: number;
  remoteKey: X25519PublicKey | null;
  nextRecvHeaderKey: HeaderKey;
  current: ReceivingChain | null;
  old: ReceivingChain[];
}

const REDACTED = '[RatchetState]';

export class State implements StateFields {
  ad: Uint8Array;
  rootKey: RootKey;
  sendStatus: SendStatus;
  ownKey: OwnRatchetKey | null;
  sendChainKey: ChainKey | null;
  sendHeaderKey: HeaderKey | null;
  nextSendHeaderKey: HeaderKey;
  ns: number;
  pn: number;
  remoteKey: X25519PublicKey | null;
  nextRecvHeaderKey: HeaderKey;
  current: ReceivingChain | null;
  /** Finished receiving chains, oldest first. */
  old: ReceivingChain[];
  /** Total skipped keys over current and old chains. */
  skippedCount: number;
  /** ad | message prefix: the body's associated data, rebuilt in place for each message. */
  readonly bodyAd: Uint8Array;

  constructor(f: StateFields) {
    this.ad = f.ad;
    this.rootKey = f.rootKey;
    this.sendStatus = f.sendStatus;
    this.ownKey = f.ownKey;
    this.sendChainKey = f.sendChainKey;
    this.sendHeaderKey = f.sendHeaderKey;
    this.nextSendHeaderKey = f.nextSendHeaderKey;
    this.ns = f.ns;
    this.pn = f.pn;
    this.remoteKey = f.remoteKey;
    this.nextRecvHeaderKey = f.nextRecvHeaderKey;
    this.current = f.current;
    this.old = f.old;
    let count = f.current?.skipped.size ?? 0;
    for (const c of f.old) count += c.skipped.size;
    this.skippedCount = count;
    this.bodyAd = new Uint8Array(f.ad.length + MESSAGE_PREFIX_LENGTH);
    this.bodyAd.set(f.ad, 0);
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

declare const stateBrand: unique symbol;
/** An opaque Double Ratchet session state; see ratchet.ts for the operations. */
export interface RatchetState {
  readonly [stateBrand]: true;
}

export function opaque(s: State): RatchetState {
  return s as unknown as RatchetState;
}

export function internal(state: RatchetState): State {
  if (!((state as unknown) instanceof State)) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'ratchet: not a RatchetState');
  }
  return state as unknown as State;
}

/** DHs as a usable key pair, importing the private key once after a decode (and checking it). */
export function ownKeyPair(key: OwnRatchetKey): X25519KeyPair {
  if (key.pair !== null) return key.pair;
  const cached = cachedOwnKey(key.publicKey, key.privateKey);
  if (cached !== null) {
    key.pair = cached;
    return cached;
  }
  const imported = x25519FromPrivate(key.privateKey);
  // Keep one copy of the private bytes (the state's own, wiped when the ratchet deletes the key).
  wipe(imported.privateKey);
  if (!equalBytes(imported.publicKey, key.publicKey)) {
    throw new DecodeError(ErrorCodes.STATE_CORRUPT, 'ratchet state: ratchet public key does not match its private key');
  }
  const pair: X25519KeyPair = { publicKey: key.publicKey, privateKey: key.privateKey as SecretBytes, handle: imported.handle };
  key.pair = pair;
  if (key.owned) rememberOwnKey(pair);
  return pair;
}

/** Wraps a key pair as DHs; a pair we generated (`owned`) is cached for states decoded later. */
export function ownKeyFrom(pair: X25519KeyPair, owned: boolean): OwnRatchetKey {
  if (owned) rememberOwnKey(pair);
  return { publicKey: pair.publicKey, privateKey: pair.privateKey, pair, owned };
}

/** Deletes DHs: wipes the private key bytes unless they belong to the caller (the signed prekey). */
export function dropOwnKey(s: State): void {
  const key = s.ownKey;
  if (key !== null && key.owned) {
    forgetOwnKey(key.publicKey);
    wipe(key.privateKey);
  }
  s.ownKey = null;
}

/** Wipes and forgets a finished or dropped chain's keys. */
export function wipeChain(chain: ReceivingChain): void {
  for (const entry of chain.skipped.values()) wipe(entry.key);
  chain.skipped.clear();
  if (chain.chainKey !== null) wipe(chain.chainKey);
  chain.chainKey = null;
  wipe(chain.headerKey);
}

export interface RatchetInfo {
  /** False for a responder that has not yet received a message. */
  readonly canSend: boolean;
  /** True when the next message sent starts a new DH ratchet step (a new ratchet key). */
  readonly ratchetPending: boolean;
  /** Messages sent in the current sending chain (Ns) and in the previous one (PN). */
  readonly sendIndex: number;
  readonly previousSendLength: number;
  /** Messages received in the current receiving chain (Nr); 0 before any. */
  readonly receiveIndex: number;
  readonly skippedKeys: number;
  readonly oldChains: number;
}

/** Non-secret counters, for the session layer's decisions and for logs. */
export function ratchetInfo(state: RatchetState): RatchetInfo {
  const s = internal(state);
  return {
    canSend: s.sendStatus !== SEND_NONE,
    ratchetPending: s.sendStatus === SEND_PENDING,
    sendIndex: s.ns,
    previousSendLength: s.pn,
    receiveIndex: s.current?.next ?? 0,
    skippedKeys: s.skippedCount,
    oldChains: s.old.length,
  };
}
