/**
 * Folder-private helpers for the handshake's fixed-layout binary formats (bundle, initial message,
 * prekey signatures): the shared strict reader (lib/reader.ts) extended with the type-byte
 * key encodings of docs/protocol.md §"Identity, prekeys and PQXDH".
 *
 *   EncodeEC(k)  = 0x05 | X25519 public key (32)       = 33 bytes
 *   EncodeKEM(k) = 0x08 | ML-KEM-768 public key (1184) = 1185 bytes
 *
 * The distinct type bytes (and lengths) keep a DH key from ever being read as a KEM key or the other
 * way round (PQXDH spec rev. 3 §4.4 / USENIX Sec '24 analysis, "key confusion"). Decoding a key here
 * checks the type byte and length and then runs the crypto/ validator (canonical, not small order,
 * FIPS 203 modulus check). This module knows nothing of what the keys are for.
 */
import { DecodeError, ErrorCodes } from '../../lib/errors.ts';
import { concatBytes } from '../../lib/bytes.ts';
import { StrictReader } from '../../lib/reader.ts';
import { x25519PublicKey, X25519_KEY_LENGTH, type X25519PublicKey } from '../../crypto/x25519.ts';
import { mlKem768PublicKey, MLKEM768_PUBLIC_KEY_LENGTH, type MlKem768PublicKey } from '../../crypto/mlkem768.ts';
import { KEY_TYPE_MLKEM768, KEY_TYPE_X25519 } from '../wire/constants.ts';

export const ENCODED_X25519_LENGTH = 1 + X25519_KEY_LENGTH;
export const ENCODED_MLKEM768_LENGTH = 1 + MLKEM768_PUBLIC_KEY_LENGTH;
export const U32_MAX = 0xffff_ffff;

export function encodeX25519Key(key: X25519PublicKey): Uint8Array {
  return concatBytes(Uint8Array.of(KEY_TYPE_X25519), key);
}

export function encodeMlKem768Key(key: MlKem768PublicKey): Uint8Array {
  return concatBytes(Uint8Array.of(KEY_TYPE_MLKEM768), key);
}

export { u32, u64 } from '../../lib/reader.ts';

/** The shared strict reader, plus the type-byte key encodings. */
export class Reader extends StrictReader {
  x25519Key(field: string): X25519PublicKey {
    const type = this.u8(field);
    if (type !== KEY_TYPE_X25519) {
      throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `${this.what}: ${field}: expected key type 0x05 (X25519), got 0x${hex2(type)}`);
    }
    return x25519PublicKey(this.bytes(X25519_KEY_LENGTH, field));
  }

  mlKem768Key(field: string): MlKem768PublicKey {
    const type = this.u8(field);
    if (type !== KEY_TYPE_MLKEM768) {
      throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `${this.what}: ${field}: expected key type 0x08 (ML-KEM-768), got 0x${hex2(type)}`);
    }
    return mlKem768PublicKey(this.bytes(MLKEM768_PUBLIC_KEY_LENGTH, field));
  }

}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
