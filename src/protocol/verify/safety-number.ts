/**
 * Compeer's safety number: libsignal's numeric fingerprint (fingerprint.ts) over Compeer identities
 * (docs/protocol.md "Verification: safety numbers and SAS").
 *
 *   key = Ed25519 signing key (32) | X25519 DH key (32)     — the two keys a user ID is derived from
 *   id  = the 20 raw bytes of the user ID (not its base32 text)
 *   version 2, 5200 iterations; 60 digits shown as 12 groups of 5; a 74-byte scannable form for QR codes.
 *
 * Both sides compute the same 60 digits whatever the order of the arguments. A contact's key change
 * changes the number. This module knows nothing of sessions, storage or how the number is shown.
 */
import { concatBytes, fromBase32 } from '../../lib/bytes.ts';
import { userIdOf, type PublicIdentity } from '../identity.ts';
import { SAFETY_NUMBER_ITERATIONS, SAFETY_NUMBER_VERSION } from '../wire/constants.ts';
import { compareScannable, numericFingerprint, type FingerprintParty } from './fingerprint.ts';

declare const safetyDigitsBrand: unique symbol;
/** 60 decimal digits, no separators. */
export type SafetyNumberDigits = string & { readonly [safetyDigitsBrand]: true };

export interface SafetyNumber {
  readonly digits: SafetyNumberDigits;
  /** Bytes for a QR code: this side's view (local first); the peer checks it with compareScannedSafetyNumber. */
  readonly scannable: Uint8Array;
}

/** The fingerprint input of one Compeer identity. */
export function safetyNumberParty(pub: PublicIdentity): FingerprintParty {
  return { key: concatBytes(pub.signingKey, pub.dhKey), id: fromBase32(userIdOf(pub)) };
}

export function safetyNumber(local: PublicIdentity, remote: PublicIdentity): SafetyNumber {
  const fp = numericFingerprint(
    SAFETY_NUMBER_VERSION,
    SAFETY_NUMBER_ITERATIONS,
    safetyNumberParty(local),
    safetyNumberParty(remote),
  );
  return { digits: fp.displayable as SafetyNumberDigits, scannable: fp.scannable };
}

/** "12345 67890 …": 12 groups of 5 digits, as Signal shows them. */
export function formatSafetyNumber(digits: SafetyNumberDigits): string {
  return digits.match(/\d{5}/g)?.join(' ') ?? '';
}

/**
 * True when the peer's scanned code shows the same two identities (theirs as local, ours as remote).
 * Malformed bytes throw DecodeError; another version throws ProtocolError.
 */
export function compareScannedSafetyNumber(ours: SafetyNumber, scanned: Uint8Array): boolean {
  return compareScannable(ours.scannable, scanned);
}
