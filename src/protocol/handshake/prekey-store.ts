/**
 * Where the private halves of prekeys live, as two small interfaces (libsignal's lesson: storage is a
 * set of narrow interfaces plus an in-memory reference implementation):
 *
 *   PrekeyStore  what the PQXDH responder needs: look prekeys up by id, delete used one-time ones.
 *   PrekeyPool   what publishing needs: add keys, hand out keys for bundles, count what is left.
 *
 * `InMemoryPrekeyPool` implements both for tests and the `--ephemeral` mode; the sqlite one comes with
 * the store (it must pass the same tests). `prekeysToGenerate` says how many one-time keys to make when
 * the supply is low; `signedPrekeyNeedsRotation` when to make a new SPK.
 * This module knows nothing of the handshake's key derivation or of bundle encodings.
 */
import { assertInteger, invariant } from '../../lib/assert.ts';
import { ErrorCodes, StateError } from '../../lib/errors.ts';
import {
  ONE_TIME_PREKEY_LOW_WATERMARK,
  ONE_TIME_PREKEY_TARGET,
  SIGNED_PREKEY_ROTATION_MS,
} from '../wire/constants.ts';
import type { KemPrekeyPair, OneTimePrekey, OneTimePrekeyPair, KemPrekey, PrekeyId, SignedPrekey, SignedPrekeyPair } from './prekeys.ts';

/** The responder's view (PQXDH spec §3.4: Bob looks up the keys Alice used, then deletes one-time ones). */
export interface PrekeyStore {
  getSignedPrekey(id: PrekeyId): SignedPrekeyPair | undefined;
  getOneTimePrekey(id: PrekeyId): OneTimePrekeyPair | undefined;
  /** One-time or last-resort; the pair says which. */
  getKemPrekey(id: PrekeyId): KemPrekeyPair | undefined;
  /** Deletes a used one-time X25519 prekey; an absent id is a no-op. */
  removeOneTimePrekey(id: PrekeyId): void;
  /** Deletes a used one-time KEM prekey; a last-resort key is never deleted by this call. */
  removeOneTimeKemPrekey(id: PrekeyId): void;
}

/** The publisher's view: keep the supply up and pick keys for the next bundle. */
export interface PrekeyPool extends PrekeyStore {
  addSignedPrekey(pair: SignedPrekeyPair): void;
  /** The newest signed prekey (by createdAt, then id), or undefined before the first one. */
  currentSignedPrekey(): SignedPrekey | undefined;
  /** Deletes an old signed prekey (after its grace period; see docs). Also drop its replay entries. */
  removeSignedPrekey(id: PrekeyId): void;
  addOneTimePrekeys(pairs: readonly OneTimePrekeyPair[]): void;
  addKemPrekeys(pairs: readonly KemPrekeyPair[]): void;
  /**
   * Hands out a one-time prekey for a bundle and marks it so it is not handed out again (two initiators
   * using the same OPK means the second fails with UNKNOWN_PREKEY). Undefined when none is left.
   */
  reserveOneTimePrekey(): OneTimePrekey | undefined;
  /** A one-time KEM prekey (reserved like above) if any is left, else the newest last-resort one. */
  reserveKemPrekey(): KemPrekey | undefined;
  /** One-time keys still available for bundles (not used, not reserved). */
  availableOneTimePrekeys(): number;
  availableOneTimeKemPrekeys(): number;
}

/**
 * How many one-time keys to generate: none while at least `low` are available, else enough to reach
 * `target` (Signal's clients: refill below 10 up to 100; our numbers in wire/constants.ts).
 */
export function prekeysToGenerate(available: number, low = ONE_TIME_PREKEY_LOW_WATERMARK, target = ONE_TIME_PREKEY_TARGET): number {
  assertInteger(available, 'available prekeys', 0, Number.MAX_SAFE_INTEGER);
  assertInteger(low, 'low watermark', 0, target);
  return available >= low ? 0 : target - available;
}

export function signedPrekeyNeedsRotation(current: SignedPrekey | undefined, now: number, rotationMs = SIGNED_PREKEY_ROTATION_MS): boolean {
  return current === undefined || now - current.createdAt >= rotationMs;
}

function addUnique<T>(map: Map<PrekeyId, T>, id: PrekeyId, value: T, what: string): void {
  if (map.has(id)) throw new StateError(ErrorCodes.ALREADY_EXISTS, `${what} ${id} already exists`);
  map.set(id, value);
}

/** In-memory reference implementation of PrekeyStore and PrekeyPool. */
export class InMemoryPrekeyPool implements PrekeyPool {
  readonly #signed = new Map<PrekeyId, SignedPrekeyPair>();
  readonly #oneTime = new Map<PrekeyId, OneTimePrekeyPair>();
  readonly #kem = new Map<PrekeyId, KemPrekeyPair>();
  readonly #reserved = new Set<PrekeyId>();
  readonly #reservedKem = new Set<PrekeyId>();

  getSignedPrekey(id: PrekeyId): SignedPrekeyPair | undefined {
    return this.#signed.get(id);
  }

  getOneTimePrekey(id: PrekeyId): OneTimePrekeyPair | undefined {
    return this.#oneTime.get(id);
  }

  getKemPrekey(id: PrekeyId): KemPrekeyPair | undefined {
    return this.#kem.get(id);
  }

  removeOneTimePrekey(id: PrekeyId): void {
    this.#oneTime.delete(id);
    this.#reserved.delete(id);
  }

  removeOneTimeKemPrekey(id: PrekeyId): void {
    if (this.#kem.get(id)?.public.kind !== 'one-time') return;
    this.#kem.delete(id);
    this.#reservedKem.delete(id);
  }

  addSignedPrekey(pair: SignedPrekeyPair): void {
    addUnique(this.#signed, pair.public.id, pair, 'signed prekey');
  }

  currentSignedPrekey(): SignedPrekey | undefined {
    let best: SignedPrekey | undefined;
    for (const { public: p } of this.#signed.values()) {
      if (!best || p.createdAt > best.createdAt || (p.createdAt === best.createdAt && p.id > best.id)) best = p;
    }
    return best;
  }

  removeSignedPrekey(id: PrekeyId): void {
    this.#signed.delete(id);
  }

  addOneTimePrekeys(pairs: readonly OneTimePrekeyPair[]): void {
    for (const p of pairs) addUnique(this.#oneTime, p.public.id, p, 'one-time prekey');
  }

  addKemPrekeys(pairs: readonly KemPrekeyPair[]): void {
    for (const p of pairs) addUnique(this.#kem, p.public.id, p, 'KEM prekey');
  }

  reserveOneTimePrekey(): OneTimePrekey | undefined {
    for (const [id, pair] of this.#oneTime) {
      if (this.#reserved.has(id)) continue;
      this.#reserved.add(id);
      return pair.public;
    }
    return undefined;
  }

  reserveKemPrekey(): KemPrekey | undefined {
    let lastResort: KemPrekey | undefined;
    for (const [id, { public: p }] of this.#kem) {
      if (p.kind === 'last-resort') {
        if (!lastResort || p.createdAt > lastResort.createdAt || (p.createdAt === lastResort.createdAt && p.id > lastResort.id)) lastResort = p;
        continue;
      }
      if (this.#reservedKem.has(id)) continue;
      this.#reservedKem.add(id);
      return p;
    }
    return lastResort;
  }

  availableOneTimePrekeys(): number {
    const n = this.#oneTime.size - this.#reserved.size;
    invariant(n >= 0, 'reserved one-time prekeys are a subset');
    return n;
  }

  availableOneTimeKemPrekeys(): number {
    let n = 0;
    for (const [id, { public: p }] of this.#kem) if (p.kind === 'one-time' && !this.#reservedKem.has(id)) n++;
    return n;
  }
}
