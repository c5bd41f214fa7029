/**
 * Replay cache for PQXDH initial messages (PQXDH spec rev. 3 §4.2 "Replay attacks": without a one-time
 * prekey an initial message can be replayed; Signal's later answer is to record the base key used with
 * a last-resort KEM key). An entry is a tag = SHA-256 over (EK_A, prekey ids, KEM ciphertext), filed
 * under the signed prekey the message used, and kept for that signed prekey's lifetime: once the SPK is
 * deleted every message naming it fails with UNKNOWN_PREKEY anyway, so its entries can go too.
 *
 * Entries are only recorded after the first ratchet message authenticated (see pqxdh.ts, `commit`), so
 * forged initial messages cannot fill the cache; its size is bounded by real sessions per SPK lifetime.
 * This module knows nothing of what the tag is computed from.
 */
import { toHex } from '../../lib/bytes.ts';
import type { PrekeyId } from './prekeys.ts';

export interface ReplayCache {
  has(signedPrekeyId: PrekeyId, tag: Uint8Array): boolean;
  add(signedPrekeyId: PrekeyId, tag: Uint8Array, now: number): void;
  /** Called when a signed prekey is deleted: its entries can no longer matter. */
  forgetSignedPrekey(signedPrekeyId: PrekeyId): void;
}

export class InMemoryReplayCache implements ReplayCache {
  readonly #bySpk = new Map<PrekeyId, Map<string, number>>();

  has(signedPrekeyId: PrekeyId, tag: Uint8Array): boolean {
    return this.#bySpk.get(signedPrekeyId)?.has(toHex(tag)) ?? false;
  }

  add(signedPrekeyId: PrekeyId, tag: Uint8Array, now: number): void {
    let entries = this.#bySpk.get(signedPrekeyId);
    if (!entries) {
      entries = new Map();
      this.#bySpk.set(signedPrekeyId, entries);
    }
    entries.set(toHex(tag), now);
  }

  forgetSignedPrekey(signedPrekeyId: PrekeyId): void {
    this.#bySpk.delete(signedPrekeyId);
  }

  /** Number of stored tags (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const m of this.#bySpk.values()) n += m.size;
    return n;
  }
}
