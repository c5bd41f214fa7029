/**
 * ML-KEM-768 (FIPS 203) on node:crypto (OpenSSL 3.5): key generation from a 64-byte seed (d || z),
 * encapsulation, decapsulation. OpenSSL performs the FIPS 203 §7.2 encapsulation-key modulus check
 * on import, so a malformed public key is rejected here with INVALID_KEY.
 *
 * Deterministic path: with a non-system Rng (tests, recorded vectors) encapsulation takes its 32-byte
 * message from the Rng and runs in @noble/post-quantum, which computes the same FIPS 203 function on
 * public inputs; decapsulation (which touches the long-term private key) always runs in OpenSSL.
 */
import { createPrivateKey, createPublicKey, decapsulate, encapsulate, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { assertBytes } from '../lib/assert.ts';
import type { Rng } from '../lib/deps.ts';
import { CryptoError, ErrorCodes } from '../lib/errors.ts';
import { secretBytes, type SecretBytes } from './secret.ts';

export const MLKEM768_PUBLIC_KEY_LENGTH = 1184;
export const MLKEM768_CIPHERTEXT_LENGTH = 1088;
export const MLKEM768_SEED_LENGTH = 64;
export const MLKEM_SHARED_SECRET_LENGTH = 32;

declare const pubBrand: unique symbol;
export type MlKem768PublicKey = Uint8Array & { readonly [pubBrand]: true };

export interface MlKem768KeyPair {
  readonly publicKey: MlKem768PublicKey;
  readonly seed: SecretBytes;
  readonly handle: KeyObject;
}

const handles = new WeakMap<Uint8Array, KeyObject>();

function importPublic(bytes: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(bytes), format: 'raw-public', asymmetricKeyType: 'ml-kem-768' });
  } catch (cause) {
    throw new CryptoError(ErrorCodes.INVALID_KEY, 'ML-KEM-768 public key: rejected by the modulus check', { cause });
  }
}

/** Validates (FIPS 203 §7.2) and brands a received encapsulation key. */
export function mlKem768PublicKey(bytes: Uint8Array): MlKem768PublicKey {
  assertBytes(bytes, 'ML-KEM-768 public key', MLKEM768_PUBLIC_KEY_LENGTH);
  const handle = importPublic(bytes);
  const key = Uint8Array.from(bytes) as MlKem768PublicKey;
  handles.set(key, handle);
  return key;
}

function fromHandle(handle: KeyObject): MlKem768KeyPair {
  const seed = new Uint8Array(handle.export({ format: 'raw-seed' }));
  const publicKey = new Uint8Array(createPublicKey(handle).export({ format: 'raw-public' })) as MlKem768PublicKey;
  return { publicKey, seed: secretBytes(seed), handle };
}

export function mlKem768FromSeed(seed: Uint8Array): MlKem768KeyPair {
  assertBytes(seed, 'ML-KEM-768 seed', MLKEM768_SEED_LENGTH);
  const copy = Buffer.from(seed);
  const handle = createPrivateKey({ key: copy, format: 'raw-seed', asymmetricKeyType: 'ml-kem-768' });
  copy.fill(0);
  return fromHandle(handle);
}

export function generateMlKem768(rng: Rng): MlKem768KeyPair {
  if (rng.system) return fromHandle(generateKeyPairSync('ml-kem-768').privateKey);
  return mlKem768FromSeed(rng.bytes(MLKEM768_SEED_LENGTH));
}

export interface Encapsulation {
  readonly ciphertext: Uint8Array;
  readonly sharedSecret: SecretBytes;
}

export function mlKem768Encapsulate(publicKey: MlKem768PublicKey, rng: Rng): Encapsulation {
  if (!rng.system) {
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, rng.bytes(32));
    return { ciphertext: cipherText, sharedSecret: secretBytes(sharedSecret) };
  }
  let handle = handles.get(publicKey);
  if (!handle) {
    handle = importPublic(publicKey);
    handles.set(publicKey, handle);
  }
  const { ciphertext, sharedKey } = encapsulate(handle);
  return { ciphertext: new Uint8Array(ciphertext), sharedSecret: secretBytes(new Uint8Array(sharedKey)) };
}

/** FIPS 203 decapsulation; implicit rejection means a wrong ciphertext yields a random-looking secret. */
export function mlKem768Decapsulate(key: MlKem768KeyPair, ciphertext: Uint8Array): SecretBytes {
  assertBytes(ciphertext, 'ML-KEM-768 ciphertext', MLKEM768_CIPHERTEXT_LENGTH);
  const shared = decapsulate(key.handle, Buffer.from(ciphertext));
  return secretBytes(new Uint8Array(shared));
}
