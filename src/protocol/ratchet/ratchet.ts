/**
 * Double Ratchet encryption and decryption with header encryption (Signal Double Ratchet spec §4,
 * RatchetEncryptHE / RatchetDecryptHE), with deferred ratchet key generation (§8.5, see state.ts).
 *
 * Outbound: 1. if a DH step is pending, new DHs and RK, CKs, NHKs = KDF_RK_HE(RK, DH(DHs, DHr)), HKs = NHKs
 *           2. MK, CKs = KDF_CK(CKs), header nonce = HMAC(CKs, 0x03)   3. encrypt header (HKs, that nonce)
 *           4. encrypt body (key MK, fixed nonce: MK is single-use)   5. Ns += 1
 * Inbound:  1. parse   2. find the header key that opens the header: NHKr (a new DH ratchet step),
 *           HKr (the current chain), then the header keys of kept old chains
 *           3. derive the message key — from a stored skipped key, by advancing CKr, or by a DH ratchet
 *           step — into local variables only   4. open the body   5. only then commit to the state.
 *
 * Decryption is transactional: every check and every derivation happens before the first write, and
 * the only writes follow a successful body authentication; a failed decryption leaves the state exactly
 * as it was (its encoding is byte-for-byte unchanged). Trial order: the spec tries skipped keys, then
 * HKr, then NHKr. Exactly one key can open a header, so the order changes cost, not results: we try the
 * likeliest key first (a failed trial costs ~9 µs, a success ~3 µs, measured) and never try NHKr while a sending step
 * is pending (an honest peer cannot have started a new chain before seeing our next ratchet key).
 * This module knows nothing of PQXDH, sessions, storage or transport.
 */
import { assertBytes, assertInteger, assertMaxLength, invariant } from '../../lib/assert.ts';
import { equalBytes, wipe } from '../../lib/bytes.ts';
import type { Rng } from '../../lib/deps.ts';
import { CryptoError, ErrorCodes, LimitError, ProtocolError } from '../../lib/errors.ts';
import { aeadOpen, aeadSealInto, AEAD_TAG_LENGTH } from '../../crypto/aead.ts';
import { generateX25519, x25519 } from '../../crypto/x25519.ts';
import { RATCHET_HEADER_NONCE_LENGTH, RATCHET_MAX_PLAINTEXT, RATCHET_MAX_SKIP } from '../wire/constants.ts';
import { chainStep, kdfRoot, type MessageKey } from './kdf.ts';
import { MESSAGE_PREFIX_LENGTH, openHeader, parseRatchetMessage, writeMessagePrefix, type Header, type ParsedMessage } from './message.ts';
import { forgetRemoteKey, remoteKey } from './_handles.ts';
import { consumeSkipped, deriveSkipped, enforceLimits, findSkipped, pruneExpired, storeSkipped } from './skipped.ts';
import {
  dropOwnKey,
  internal,
  ownKeyFrom,
  ownKeyPair,
  SEND_ACTIVE,
  SEND_NONE,
  SEND_PENDING,
  type RatchetState,
  type ReceivingChain,
  type State,
} from './state.ts';

const MAX_COUNTER = 0xffffffff;

/**
 * Seals the body into out[69..), after the prefix it binds: key MK, the message's random nonce (the
 * header's too, under another key). MK alone never repeats in a live state, but a state restored from a
 * backup derives the same MK again for a new plaintext: a fixed or MK-derived nonce would then repeat
 * the ChaCha20 keystream (the XOR of two plaintexts to whoever has both messages) and the Poly1305 key.
 * A fresh nonce keeps that pair unique all the same (docs/protocol.md "Key derivation").
 */
function sealBody(s: State, mk: MessageKey, nonce: Uint8Array, out: Uint8Array, plaintext: Uint8Array): void {
  s.bodyAd.set(out.subarray(0, MESSAGE_PREFIX_LENGTH), s.ad.length);
  aeadSealInto(mk, nonce, plaintext, s.bodyAd, out, MESSAGE_PREFIX_LENGTH);
}

function openBody(s: State, mk: MessageKey, message: ParsedMessage): Uint8Array {
  s.bodyAd.set(message.prefix, s.ad.length);
  return aeadOpen(mk, message.nonce, message.body, s.bodyAd);
}

/** The deferred half of DHRatchetHE (spec §4): a new DHs and sending chain, when we next send. */
function sendingStep(s: State, rng: Rng): void {
  const remote = s.remoteKey;
  invariant(remote !== null, 'pending sending step without a remote ratchet key');
  const own = generateX25519(rng);
  const shared = x25519(own, remote);
  const step = kdfRoot(s.rootKey, shared);
  wipe(shared, s.rootKey);
  s.rootKey = step.rootKey;
  s.ownKey = ownKeyFrom(own, true);
  s.sendHeaderKey = s.nextSendHeaderKey;
  s.nextSendHeaderKey = step.nextHeaderKey;
  s.sendChainKey = step.chainKey;
  s.sendStatus = SEND_ACTIVE;
}

/**
 * RatchetEncryptHE: returns the wire bytes of one message and advances the sending chain. With
 * `headroom` > 0 the message starts at that offset of the returned array, the bytes before it zero,
 * for a caller's framing (session.ts) without a copy of the message.
 */
export function ratchetEncrypt(state: RatchetState, plaintext: Uint8Array, rng: Rng, headroom = 0): Uint8Array {
  const s = internal(state);
  assertInteger(headroom, 'ratchet headroom', 0, 0xffff);
  assertBytes(plaintext, 'ratchet plaintext');
  assertMaxLength(plaintext, RATCHET_MAX_PLAINTEXT, 'ratchet plaintext');
  if (s.sendStatus === SEND_NONE) {
    throw new ProtocolError(ErrorCodes.NO_SESSION, 'ratchet: the responder cannot send before a message has arrived');
  }
  if (s.ns >= MAX_COUNTER) throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, 'ratchet: sending chain exhausted');
  if (s.sendStatus === SEND_PENDING) sendingStep(s, rng);
  const ck = s.sendChainKey;
  const hk = s.sendHeaderKey;
  const own = s.ownKey;
  invariant(ck !== null && hk !== null && own !== null, 'active sending chain without keys');

  const { messageKey: mk, chainKey: nextCk } = chainStep(ck);
  const nonce = rng.bytes(RATCHET_HEADER_NONCE_LENGTH);
  const framed = new Uint8Array(headroom + MESSAGE_PREFIX_LENGTH + plaintext.length + AEAD_TAG_LENGTH);
  const out = framed.subarray(headroom);
  writeMessagePrefix(out, hk, nonce, own.publicKey, s.pn, s.ns);
  try {
    sealBody(s, mk, nonce, out, plaintext);
  } catch (e) {
    wipe(nextCk);
    throw e;
  } finally {
    wipe(mk);
  }
  s.sendChainKey = nextCk;
  wipe(ck);
  s.ns++;
  return framed;
}

function headerMismatch(): ProtocolError {
  return new ProtocolError(ErrorCodes.MALFORMED_MESSAGE, 'ratchet: header inconsistent with its chain');
}

/** A message of a chain we know, numbered below the chain's next number: a stored skipped key or nothing. */
function fromSkipped(s: State, chain: ReceivingChain, n: number, message: ParsedMessage, now: number): Uint8Array {
  const entry = findSkipped(chain, n, now);
  const plaintext = openBody(s, entry.key, message);
  consumeSkipped(s, chain, n);
  pruneExpired(s, now);
  return plaintext;
}

/** A message under HKr: a late one (skipped key) or one at or after Nr (advance CKr, storing skipped keys). */
function fromCurrent(s: State, chain: ReceivingChain, header: Header, message: ParsedMessage, now: number): Uint8Array {
  if (s.remoteKey === null || !equalBytes(header.dh, s.remoteKey)) throw headerMismatch();
  if (header.n < chain.next) return fromSkipped(s, chain, header.n, message, now);
  const gap = header.n - chain.next;
  if (gap > RATCHET_MAX_SKIP) {
    throw new ProtocolError(ErrorCodes.TOO_MANY_SKIPPED, `ratchet: message skips ${gap} keys (limit ${RATCHET_MAX_SKIP})`);
  }
  const chainKey = chain.chainKey;
  invariant(chainKey !== null, 'current receiving chain without a chain key');
  const { keys, chainKey: at } = deriveSkipped(chainKey, gap);
  const { messageKey: mk, chainKey: nextCk } = chainStep(at);
  if (at !== chainKey) wipe(at);
  let plaintext: Uint8Array;
  try {
    plaintext = openBody(s, mk, message);
  } catch (e) {
    wipe(nextCk, ...keys);
    throw e;
  } finally {
    wipe(mk);
  }
  // Commit.
  storeSkipped(s, chain, chain.next, keys, now);
  wipe(chainKey);
  chain.chainKey = nextCk;
  chain.next = header.n + 1;
  enforceLimits(s);
  pruneExpired(s, now);
  return plaintext;
}

/** A message under NHKr: the receiving half of DHRatchetHE (spec §4), then the new chain's message key. */
function fromNext(s: State, header: Header, message: ParsedMessage, now: number): Uint8Array {
  const own = s.ownKey;
  invariant(own !== null, 'receiving ratchet step without our ratchet key');
  const remote = remoteKey(header.dh);
  const prev = s.current;
  let prevGap = 0;
  if (prev !== null) {
    if (header.pn < prev.next) throw headerMismatch();
    prevGap = header.pn - prev.next;
  } else if (header.pn !== 0) {
    throw headerMismatch();
  }
  if (prevGap > RATCHET_MAX_SKIP || header.n > RATCHET_MAX_SKIP) {
    throw new ProtocolError(
      ErrorCodes.TOO_MANY_SKIPPED,
      `ratchet: message skips ${Math.max(prevGap, header.n)} keys of one chain (limit ${RATCHET_MAX_SKIP})`,
    );
  }
  // Tentative derivations, in locals only.
  let prevKeys: MessageKey[] = [];
  if (prev !== null && prevGap > 0) {
    invariant(prev.chainKey !== null, 'current receiving chain without a chain key');
    const d = deriveSkipped(prev.chainKey, prevGap);
    prevKeys = d.keys;
    wipe(d.chainKey);
  }
  const shared = x25519(ownKeyPair(own), remote);
  const step = kdfRoot(s.rootKey, shared);
  wipe(shared);
  const { keys, chainKey: at } = deriveSkipped(step.chainKey, header.n);
  const { messageKey: mk, chainKey: nextCk } = chainStep(at);
  wipe(at, step.chainKey);
  let plaintext: Uint8Array;
  try {
    plaintext = openBody(s, mk, message);
  } catch (e) {
    wipe(nextCk, step.rootKey, step.nextHeaderKey, ...keys, ...prevKeys);
    throw e;
  } finally {
    wipe(mk);
  }
  // Commit: the previous receiving chain becomes an old one, NHKr's chain becomes current.
  if (prev !== null) {
    storeSkipped(s, prev, prev.next, prevKeys, now);
    prev.next = header.pn;
    if (prev.chainKey !== null) wipe(prev.chainKey);
    prev.chainKey = null;
    s.old.push(prev);
  }
  const current: ReceivingChain = {
    headerKey: s.nextRecvHeaderKey,
    chainKey: nextCk,
    next: header.n + 1,
    floor: 0,
    skipped: new Map(),
  };
  storeSkipped(s, current, 0, keys, now);
  s.current = current;
  s.nextRecvHeaderKey = step.nextHeaderKey;
  wipe(s.rootKey);
  s.rootKey = step.rootKey;
  if (s.remoteKey !== null && s.remoteKey !== remote) forgetRemoteKey(s.remoteKey);
  s.remoteKey = remote;
  // Sending side: PN = Ns, Ns = 0; CKs and HKs are done with, DHs is deleted, the new one comes later.
  s.pn = s.ns;
  s.ns = 0;
  if (s.sendChainKey !== null) wipe(s.sendChainKey);
  if (s.sendHeaderKey !== null) wipe(s.sendHeaderKey);
  s.sendChainKey = null;
  s.sendHeaderKey = null;
  dropOwnKey(s);
  s.sendStatus = SEND_PENDING;
  enforceLimits(s);
  pruneExpired(s, now);
  return plaintext;
}

/**
 * RatchetDecryptHE: the plaintext of one message, or a typed error with the state untouched:
 * DecodeError (malformed bytes), CryptoError DECRYPT_FAILED (no key opens header or body),
 * ProtocolError DUPLICATE_MESSAGE, MESSAGE_EXPIRED, TOO_MANY_SKIPPED or MALFORMED_MESSAGE.
 * `now` (ms since epoch) dates new skipped keys and expires old ones.
 */
export function ratchetDecrypt(state: RatchetState, wire: Uint8Array, now: number): Uint8Array {
  const s = internal(state);
  assertInteger(now, 'now', 0, Number.MAX_SAFE_INTEGER);
  const message = parseRatchetMessage(wire);
  const nextPossible = s.sendStatus !== SEND_PENDING;
  // After we have sent on a fresh chain, the peer's next message most likely starts a new one.
  const nextFirst = nextPossible && (s.current === null || (s.sendStatus === SEND_ACTIVE && s.ns > 0));
  let header: Header | null;
  if (nextFirst && (header = openHeader(s.nextRecvHeaderKey, message)) !== null) {
    return fromNext(s, header, message, now);
  }
  const current = s.current;
  if (current !== null && (header = openHeader(current.headerKey, message)) !== null) {
    return fromCurrent(s, current, header, message, now);
  }
  if (nextPossible && !nextFirst && (header = openHeader(s.nextRecvHeaderKey, message)) !== null) {
    return fromNext(s, header, message, now);
  }
  for (let i = s.old.length - 1; i >= 0; i--) {
    const chain = s.old[i] as ReceivingChain;
    if ((header = openHeader(chain.headerKey, message)) !== null) {
      if (header.n >= chain.next) throw headerMismatch();
      return fromSkipped(s, chain, header.n, message, now);
    }
  }
  throw new CryptoError(ErrorCodes.DECRYPT_FAILED, 'ratchet: no header key opens this message');
}

/** Deletes skipped keys past the age limit without a message arriving; returns how many. */
export function ratchetPruneExpired(state: RatchetState, now: number): number {
  const s = internal(state);
  assertInteger(now, 'now', 0, Number.MAX_SAFE_INTEGER);
  return pruneExpired(s, now);
}
