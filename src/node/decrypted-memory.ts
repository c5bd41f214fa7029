/**
 * Session messages remembered after they decrypted (digest → the ids they carried), so that the same
 * bytes arriving again are acked rather than refused: the sender re-sends the same bytes when it could
 * not tell whether they arrived (a path whose hop timed out, a request whose answer was lost), and the
 * ratchet has deleted their key. Bounded in count and age; after a restart the sender's fresh
 * encryption repairs the lost ack instead (docs/delivery.md "Outbox").
 */
import { toHex } from '../lib/bytes.ts';
import { sha256 } from '../crypto/hash.ts';

const SEEN_MAX = 1_024;
const SEEN_MAX_AGE_MS = 3600_000;

export interface DecryptedMemory {
  /** The key of `content` (a session message's bytes) from `contact`. */
  key(contact: string, content: Uint8Array): string;
  remember(key: string, ids: Uint8Array[], now: number): void;
  /** The ids the same bytes carried when they decrypted, if remembered and not too old. */
  recall(key: string, now: number): Uint8Array[] | undefined;
}

export function createDecryptedMemory(): DecryptedMemory {
  const seen = new Map<string, { readonly ids: Uint8Array[]; readonly at: number }>();
  return {
    key: (contact, content) => `${contact} ${toHex(sha256(content))}`,
    remember(key, ids, now) {
      seen.delete(key);
      seen.set(key, { ids, at: now });
      for (const [k, v] of seen) {
        if (seen.size <= SEEN_MAX && now - v.at <= SEEN_MAX_AGE_MS) break;
        seen.delete(k); // oldest first (insertion order)
      }
    },
    recall(key, now) {
      const e = seen.get(key);
      return e !== undefined && now - e.at <= SEEN_MAX_AGE_MS ? e.ids : undefined;
    },
  };
}
