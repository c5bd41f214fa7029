/**
 * Converts between the protocol's IdentityKeyPair and the store's opaque StoredIdentity, checking on
 * load that the stored public identity and the (unsealed) secret belong together.
 */
import { ErrorCodes, StateError } from '../lib/errors.ts';
import {
  decodeIdentitySecret,
  decodePublicIdentity,
  encodeIdentitySecret,
  encodePublicIdentity,
  sameIdentity,
  type IdentityKeyPair,
  type PublicIdentity,
} from '../protocol/identity.ts';
import type { IdentityRepository, StoredIdentity } from './identity.ts';

export function storedIdentityOf(id: IdentityKeyPair, name: string | null, createdAt: number): StoredIdentity {
  return { name, publicKey: encodePublicIdentity(id.public), secret: encodeIdentitySecret(id), createdAt };
}

/** The public identity only: needs no storage key. Undefined when the store has no identity. */
export function loadPublicIdentity(repo: IdentityRepository): { pub: PublicIdentity; name: string | null; createdAt: number } | undefined {
  const stored = repo.getPublic();
  if (stored === undefined) return undefined;
  return { pub: decodePublicIdentity(stored.publicKey), name: stored.name, createdAt: stored.createdAt };
}

/** The full key pair (unseals the secret). Undefined when the store has no identity. */
export function loadIdentityKeyPair(repo: IdentityRepository): IdentityKeyPair | undefined {
  const stored = repo.get();
  if (stored === undefined) return undefined;
  const id = decodeIdentitySecret(stored.secret);
  if (!sameIdentity(id.public, decodePublicIdentity(stored.publicKey))) {
    throw new StateError(ErrorCodes.STATE_CORRUPT, 'stored identity: secret and public key do not match');
  }
  return id;
}
