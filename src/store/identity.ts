/**
 * The local user's identity as the store keeps it: opaque encodings from src/protocol/identity.ts.
 * This module knows nothing of key types; it keeps bytes and keeps the secret part secret.
 *
 * Implementations: identity-sqlite.ts (sealed at rest) and the in-memory reference below.
 * test/unit/store/identity.compliance.test.ts runs against both.
 */
import { CompeerError, ErrorCodes } from '../lib/errors.ts';

/** The public part: readable without the storage key. */
export interface IdentityRecord {
  /** A display name kept locally; never sent anywhere by the store. */
  readonly name: string | null;
  /** The encoded public identity. */
  readonly publicKey: Uint8Array;
  /** Milliseconds since the Unix epoch. */
  readonly createdAt: number;
}

export interface StoredIdentity extends IdentityRecord {
  /** The encoded identity secret (private keys), in the clear in memory only. */
  readonly secret: Uint8Array;
}

export interface IdentityRepository {
  /** The public part, or undefined when none was created; needs no storage key. */
  getPublic(): IdentityRecord | undefined;
  /** The identity, or undefined when none was created. Returned bytes are the caller's to wipe. */
  get(): StoredIdentity | undefined;
  /** Creates the identity; throws ALREADY_EXISTS when there is one (never overwrites). */
  create(identity: StoredIdentity): void;
  /** Deletes the identity; returns whether there was one. */
  remove(): boolean;
}

export function alreadyExists(): CompeerError {
  return new CompeerError(ErrorCodes.ALREADY_EXISTS, 'an identity already exists in this store');
}

function copy(id: StoredIdentity): StoredIdentity {
  return { name: id.name, publicKey: id.publicKey.slice(), secret: id.secret.slice(), createdAt: id.createdAt };
}

/** Reference implementation: the behaviour the sqlite one must match, minus persistence. */
export function memoryIdentityRepository(): IdentityRepository {
  let current: StoredIdentity | undefined;
  return {
    getPublic: () =>
      current === undefined ? undefined : { name: current.name, publicKey: current.publicKey.slice(), createdAt: current.createdAt },
    get: () => (current === undefined ? undefined : copy(current)),
    create(identity) {
      if (current !== undefined) throw alreadyExists();
      current = copy(identity);
    },
    remove() {
      const had = current !== undefined;
      if (current !== undefined) current.secret.fill(0);
      current = undefined;
      return had;
    },
  };
}
