/**
 * The two things pure code must never reach for itself: randomness and time.
 * Protocol, crypto and routing code take these as parameters; only composition roots
 * (src/node/, the CLI, bench/, sim/, tests) choose the real or a deterministic implementation.
 */

/**
 * A source of uniformly random bytes. `system: true` marks the operating system's CSPRNG: crypto
 * wrappers may then let OpenSSL draw its own randomness (native key generation is ~2x faster than
 * importing a private key from bytes). With `system: false` every random choice goes through `bytes`,
 * so recorded vectors are reproducible.
 */
export interface Rng {
  readonly system: boolean;
  bytes(length: number): Uint8Array;
}

/** Milliseconds since the Unix epoch. */
export type Clock = () => number;

/**
 * Deterministic generator for tests and recorded vectors (a hash in counter mode over a seed).
 * Never used by the product at run time.
 */
export function deterministicRng(seed: Uint8Array, hash: (data: Uint8Array) => Uint8Array): Rng {
  let counter = 0;
  return {
    system: false,
    bytes(length: number): Uint8Array {
      const out = new Uint8Array(length);
      let off = 0;
      while (off < length) {
        const input = new Uint8Array(seed.length + 8);
        input.set(seed, 0);
        new DataView(input.buffer).setBigUint64(seed.length, BigInt(counter++), false);
        const block = hash(input);
        const n = Math.min(block.length, length - off);
        out.set(block.subarray(0, n), off);
        off += n;
      }
      return out;
    },
  };
}
