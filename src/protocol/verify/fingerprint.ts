/**
 * Numeric fingerprints ("safety numbers"), byte-compatible with libsignal's NumericFingerprintGenerator
 * (rust/protocol/src/fingerprint.rs, versions 1 and 2; docs/protocol.md "Verification: safety numbers and SAS").
 *
 *   per party   H_0 = SHA-512(0x0000 | key | id | key);  H_i = SHA-512(H_{i-1} | key)  for 0 < i < iterations
 *   displayable the first 30 bytes of H as 6 chunks of 5 big-endian bytes, each mod 100000 as 5 digits;
 *               both parties' 30 digits concatenated in ascending order → the same 60 digits on both sides
 *   scannable   protobuf CombinedFingerprints { 1: version, 2: { 1: H_local[0..32] }, 3: { 1: H_remote[0..32] } }
 *
 * Generic over what a "key" and an "id" are: safety-number.ts decides how a Compeer identity is fed in.
 * This module knows nothing of identities, sessions, QR rendering or the UI.
 */
import { assertBytes, assertInteger } from '../../lib/assert.ts';
import { concatBytes, equalBytes } from '../../lib/bytes.ts';
import { DecodeError, ErrorCodes, ProtocolError } from '../../lib/errors.ts';
import { sha512 } from '../../crypto/hash.ts';

/** libsignal's hash-input version, fixed at 0x0000 for both fingerprint versions 1 and 2. */
const HASH_VERSION = Uint8Array.of(0x00, 0x00);
/** libsignal accepts 2..1,000,000 iterations; apps use 5200. */
export const FINGERPRINT_MIN_ITERATIONS = 2;
export const FINGERPRINT_MAX_ITERATIONS = 1_000_000;
/** Our bound on key and id sizes (libsignal's are a 33-byte key and a short id). */
export const FINGERPRINT_MAX_INPUT = 1024;
/** Per-party digits: 6 chunks of 5 digits. */
export const FINGERPRINT_PARTY_DIGITS = 30;
/** Bytes of each party's hash carried in the scannable form. */
export const SCANNABLE_HASH_BYTES = 32;
/** Canonical encoding: 2 (version) + 2 × (2 + 2 + 32). */
export const SCANNABLE_LENGTH = 2 + 2 * (4 + SCANNABLE_HASH_BYTES);

export interface FingerprintParty {
  /** The identity key bytes as the scheme defines them (libsignal: 0x05 | Curve25519 key). */
  readonly key: Uint8Array;
  /** The stable identifier (libsignal tests: the UTF-8 phone number; now a service ID). */
  readonly id: Uint8Array;
}

export interface NumericFingerprint {
  /** 60 decimal digits, identical on both sides. */
  readonly displayable: string;
  /** Protobuf bytes to put in a QR code; the peer checks them with compareScannable. */
  readonly scannable: Uint8Array;
}

/** The iterated SHA-512 of one party (64 bytes). */
export function fingerprintHash(party: FingerprintParty, iterations: number): Uint8Array {
  assertInteger(iterations, 'fingerprint iterations', FINGERPRINT_MIN_ITERATIONS, FINGERPRINT_MAX_ITERATIONS);
  assertBytes(party.key, 'fingerprint key');
  assertBytes(party.id, 'fingerprint id');
  if (party.key.length === 0 || party.key.length > FINGERPRINT_MAX_INPUT) {
    throw new DecodeError(ErrorCodes.INVALID_LENGTH, `fingerprint key: expected 1..${FINGERPRINT_MAX_INPUT} bytes, got ${party.key.length}`);
  }
  if (party.id.length > FINGERPRINT_MAX_INPUT) {
    throw new DecodeError(ErrorCodes.INVALID_LENGTH, `fingerprint id: at most ${FINGERPRINT_MAX_INPUT} bytes, got ${party.id.length}`);
  }
  let h = sha512(concatBytes(HASH_VERSION, party.key, party.id, party.key));
  // One reusable buffer: H_{i-1} | key.
  const buf = new Uint8Array(h.length + party.key.length);
  buf.set(party.key, h.length);
  for (let i = 1; i < iterations; i++) {
    buf.set(h, 0);
    h = sha512(buf);
  }
  return h;
}

/** 30 digits from the first 30 bytes: 6 chunks of 5 bytes (< 2^40, exact in a double), each mod 100000. */
export function displayDigits(hash: Uint8Array): string {
  if (hash.length < 30) {
    throw new DecodeError(ErrorCodes.INVALID_LENGTH, `fingerprint hash: expected at least 30 bytes, got ${hash.length}`);
  }
  let out = '';
  for (let chunk = 0; chunk < 6; chunk++) {
    let x = 0;
    for (let j = 0; j < 5; j++) x = x * 256 + (hash[chunk * 5 + j] as number);
    out += String(x % 100_000).padStart(5, '0');
  }
  return out;
}

/** Ascending order of the two halves makes the number order-independent (libsignal DisplayableFingerprint). */
export function combineDisplay(localDigits: string, remoteDigits: string): string {
  return localDigits < remoteDigits ? localDigits + remoteDigits : remoteDigits + localDigits;
}

/** Canonical protobuf CombinedFingerprints; version must fit one varint byte. */
export function encodeScannable(version: number, localHash: Uint8Array, remoteHash: Uint8Array): Uint8Array {
  assertInteger(version, 'scannable fingerprint version', 0, 127);
  const logical = (tag: number, h: Uint8Array): Uint8Array => {
    if (h.length < SCANNABLE_HASH_BYTES) {
      throw new DecodeError(ErrorCodes.INVALID_LENGTH, `fingerprint hash: expected at least ${SCANNABLE_HASH_BYTES} bytes, got ${h.length}`);
    }
    // field tag (length-delimited) | len 34 | LogicalFingerprint.content tag | len 32 | content
    return concatBytes(Uint8Array.of(tag, 2 + SCANNABLE_HASH_BYTES, 0x0a, SCANNABLE_HASH_BYTES), h.subarray(0, SCANNABLE_HASH_BYTES));
  };
  return concatBytes(Uint8Array.of(0x08, version), logical(0x12, localHash), logical(0x1a, remoteHash));
}

export interface ScannableFingerprint {
  readonly version: number;
  readonly local: Uint8Array;
  readonly remote: Uint8Array;
}

/**
 * Strict decoder: only the canonical encoding that libsignal (and we) produce is accepted — fixed length,
 * fields in order, no unknown fields. Anything else is a DecodeError, never a "no match".
 */
export function decodeScannable(bytes: Uint8Array): ScannableFingerprint {
  assertBytes(bytes, 'scannable fingerprint');
  if (bytes.length !== SCANNABLE_LENGTH) {
    throw new DecodeError(ErrorCodes.INVALID_LENGTH, `scannable fingerprint: expected ${SCANNABLE_LENGTH} bytes, got ${bytes.length}`);
  }
  const version = bytes[1] as number;
  const layoutOk =
    bytes[0] === 0x08 &&
    version < 0x80 &&
    bytes[2] === 0x12 && bytes[3] === 2 + SCANNABLE_HASH_BYTES && bytes[4] === 0x0a && bytes[5] === SCANNABLE_HASH_BYTES &&
    bytes[38] === 0x1a && bytes[39] === 2 + SCANNABLE_HASH_BYTES && bytes[40] === 0x0a && bytes[41] === SCANNABLE_HASH_BYTES;
  if (!layoutOk) throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, 'scannable fingerprint: not the canonical encoding');
  return { version, local: bytes.slice(6, 38), remote: bytes.slice(42, 74) };
}

/**
 * libsignal ScannableFingerprint::compare: the peer's "local" must equal our "remote" and vice versa
 * (both compared in constant time, no early exit). A different version is a ProtocolError, as in libsignal.
 */
export function compareScannable(ours: Uint8Array, theirs: Uint8Array): boolean {
  const a = decodeScannable(ours);
  const b = decodeScannable(theirs);
  if (a.version !== b.version) {
    throw new ProtocolError(ErrorCodes.UNSUPPORTED_VERSION, `scannable fingerprint: version ${b.version}, expected ${a.version}`);
  }
  const same1 = equalBytes(b.local, a.remote);
  const same2 = equalBytes(b.remote, a.local);
  return same1 && same2;
}

/** The whole computation for two parties, as libsignal's Fingerprint::new. */
export function numericFingerprint(
  version: number,
  iterations: number,
  local: FingerprintParty,
  remote: FingerprintParty,
): NumericFingerprint {
  const lh = fingerprintHash(local, iterations);
  const rh = fingerprintHash(remote, iterations);
  return {
    displayable: combineDisplay(displayDigits(lh), displayDigits(rh)),
    scannable: encodeScannable(version, lh, rh),
  };
}
