/**
 * The three key derivations of the Double Ratchet with header encryption (Signal Double Ratchet spec
 * §4, with the spec's recommended algorithms: HKDF for KDF_RK, HMAC for KDF_CK):
 *
 *   KDF_RK_HE(rk, dh_out) = HKDF-SHA256(salt = rk, ikm = dh_out, info = "compeer/ratchet/rk/v2", 96)
 *                          → root key (32) | chain key (32) | next header key (32)
 *   KDF_CK(ck)            = HMAC-SHA256(ck, 0x01) → message key, HMAC-SHA256(ck, 0x02) → next chain key
 *                           (the same constants as libsignal, so its chain-key vectors apply)
 *   message key           = the body's ChaCha20-Poly1305 key itself; its nonce is the message's random
 *                           nonce (ratchet.ts; docs/protocol.md "Key derivation" says why it is random)
 *
 * The root info is 21 bytes so that HKDF-Expand's T(2) and T(3) inputs (32 + 21 + 1 = 54 bytes) fit
 * one SHA-256 block with its padding (≤ 55): 12 compressions per DH step instead of 14.
 *
 * One branded type per key role, so a chain key cannot be passed where a header key is expected
 * (vodozemac's lesson). Per-message keys are not wrapped with secretBytes() (1.6 µs each, measured):
 * they never leave protocol/ratchet/, the state that holds them redacts itself as a whole, and they are
 * wiped after use. This module knows nothing of headers, nonces, counters, state or wire formats.
 */
import { utf8 } from '../../lib/bytes.ts';
import { hmacSha256, hmacSha256Each } from '../../crypto/hash.ts';
import { hkdfSha256Keys } from '../../crypto/hkdf.ts';

declare const rootKeyBrand: unique symbol;
declare const chainKeyBrand: unique symbol;
declare const headerKeyBrand: unique symbol;
declare const messageKeyBrand: unique symbol;

/** RK: the root of the DH ratchet. */
export type RootKey = Uint8Array & { readonly [rootKeyBrand]: true };
/** CKs / CKr: a sending or receiving chain key of the symmetric-key ratchet. */
export type ChainKey = Uint8Array & { readonly [chainKeyBrand]: true };
/** HKs / HKr / NHKs / NHKr: a header-encryption key. */
export type HeaderKey = Uint8Array & { readonly [headerKeyBrand]: true };
/** MK: the one-time key of one message (before its expansion to cipher key and nonce). */
export type MessageKey = Uint8Array & { readonly [messageKeyBrand]: true };

export const RATCHET_KEY_LENGTH = 32;

const ROOT_INFO = utf8('compeer/ratchet/rk/v2');
const MESSAGE_KEY_SEED = Uint8Array.of(0x01);
const CHAIN_KEY_SEED = Uint8Array.of(0x02);
const SEEDS = [MESSAGE_KEY_SEED, CHAIN_KEY_SEED];

export interface RootStep {
  readonly rootKey: RootKey;
  readonly chainKey: ChainKey;
  readonly nextHeaderKey: HeaderKey;
}

/** KDF_RK_HE (spec §4): a DH ratchet step's root key, new chain key and next header key. */
export function kdfRoot(rootKey: RootKey, dhOutput: Uint8Array): RootStep {
  // Three separate 32-byte arrays (each key is wiped on its own schedule and must not pin the others),
  // straight out of libsodium's heap: no 96-byte intermediate (an external allocation) to copy and wipe.
  const [rk, ck, nhk] = hkdfSha256Keys(dhOutput, rootKey, ROOT_INFO, 3) as [RootKey, ChainKey, HeaderKey];
  return { rootKey: rk, chainKey: ck, nextHeaderKey: nhk };
}

/** KDF_CK's message-key half: HMAC-SHA256(ck, 0x01). */
export function chainMessageKey(chainKey: ChainKey): MessageKey {
  return hmacSha256(chainKey, MESSAGE_KEY_SEED) as MessageKey;
}

/** KDF_CK's chain-key half: HMAC-SHA256(ck, 0x02). */
export function chainNextKey(chainKey: ChainKey): ChainKey {
  return hmacSha256(chainKey, CHAIN_KEY_SEED) as ChainKey;
}

export interface ChainStep {
  readonly messageKey: MessageKey;
  readonly chainKey: ChainKey;
}

/** KDF_CK whole: both halves above from one HMAC key setup (same bytes, half the key hashing). */
export function chainStep(chainKey: ChainKey): ChainStep {
  const [messageKey, next] = hmacSha256Each(chainKey, SEEDS) as [MessageKey, ChainKey];
  return { messageKey, chainKey: next };
}
