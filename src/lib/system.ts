/**
 * The real randomness and clock. Imported only by composition roots (node/, cli/, bench/, sim/, tests);
 * the layer test forbids lib/, crypto/, protocol/, routing/ and store/ code from importing this file.
 *
 * Small draws (≤ SMALL_DRAW bytes: nonces, message ids, private keys) come out of a POOL-byte buffer
 * filled from OpenSSL's CSPRNG (`randomFillSync`) and wiped as it is handed out: each OpenSSL call costs
 * ~2.4 µs whatever its size (measured 27 Nov), and a message takes several draws (its id, the envelope's
 * ephemeral key, the ratchet's nonce and key pair). What the buffer holds is only output not yet handed
 * out, as OpenSSL's own DRBG state would be; Node does not fork, so no two processes share it.
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import type { Clock, Rng } from './deps.ts';

const SMALL_DRAW = 32;
const POOL = 1024;
const pool = new Uint8Array(POOL);
let at = POOL;

export const systemRng: Rng = {
  system: true,
  bytes(length) {
    if (length > SMALL_DRAW) return new Uint8Array(randomBytes(length));
    if (at + length > POOL) {
      randomFillSync(pool);
      at = 0;
    }
    const out = pool.slice(at, at + length);
    pool.fill(0, at, at + length);
    at += length;
    return out;
  },
};

export const systemClock: Clock = () => Date.now();
