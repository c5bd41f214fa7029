/**
 * Sealing of secrets at rest: XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) under the 32-byte storage key.
 *
 * Sealed layout: version (1 byte) || nonce (24 bytes, random) || ciphertext || tag (16 bytes).
 * The associated data is the version byte plus a label naming table, column and row, so a sealed value
 * copied into another row or column fails to open. A 24-byte random nonce makes collisions negligible
 * for any number of writes under one key, so no counter has to be persisted.
 *
 * This module knows nothing about SQL or about what it seals; repositories choose the labels.
 * Implementation: libsodium's crypto_aead_xchacha20poly1305_ietf (measured here 3-4x faster than the
 * pure-JS one for 1-16 KiB, the sizes of message texts and session states; same output).
 */
import sodium from 'libsodium-wrappers';
import { assertBytes } from '../lib/assert.ts';
import { concatBytes, utf8 } from '../lib/bytes.ts';
import type { Rng } from '../lib/deps.ts';
import { CryptoError, DecodeError, ErrorCodes } from '../lib/errors.ts';

await sodium.ready;

export const SEAL_VERSION = 1;
export const STORAGE_KEY_LENGTH = 32;
const NONCE_LENGTH = 24;
const TAG_LENGTH = 16;
export const SEAL_OVERHEAD = 1 + NONCE_LENGTH + TAG_LENGTH;

export interface Sealer {
  seal(plaintext: Uint8Array, ad: Uint8Array): Uint8Array;
  /** Throws CryptoError(DECRYPT_FAILED) on a wrong key, wrong label or tampered bytes. */
  open(sealed: Uint8Array, ad: Uint8Array): Uint8Array;
}

/** The associated data for a value stored at table.column in row `row`, plus optional bound bytes. */
export function sealLabel(table: string, column: string, row: string | number, ...bound: Uint8Array[]): Uint8Array {
  return concatBytes(utf8(`compeer/seal/v${SEAL_VERSION}/${table}.${column}/${row}`), ...bound);
}

export function createSealer(storageKey: Uint8Array, rng: Rng): Sealer {
  assertBytes(storageKey, 'storage key', STORAGE_KEY_LENGTH);
  const key = storageKey.slice(); // our own copy: the caller may wipe theirs
  const header = new Uint8Array([SEAL_VERSION]);
  return {
    seal(plaintext, ad) {
      const nonce = rng.bytes(NONCE_LENGTH);
      assertBytes(nonce, 'nonce', NONCE_LENGTH);
      const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, concatBytes(header, ad), null, nonce, key);
      return concatBytes(header, nonce, ct);
    },
    open(sealed, ad) {
      if (sealed.length < SEAL_OVERHEAD) {
        throw new DecodeError(ErrorCodes.INVALID_LENGTH, `sealed value: at least ${SEAL_OVERHEAD} bytes, got ${sealed.length}`);
      }
      if (sealed[0] !== SEAL_VERSION) {
        throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `sealed value: unsupported version ${sealed[0]}`);
      }
      const nonce = sealed.subarray(1, 1 + NONCE_LENGTH);
      try {
        return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed.subarray(1 + NONCE_LENGTH), concatBytes(header, ad), nonce, key);
      } catch {
        // One error, no detail: the caller learns nothing about why (no oracle).
        throw new CryptoError(ErrorCodes.DECRYPT_FAILED, 'sealed value failed to open');
      }
    },
  };
}
