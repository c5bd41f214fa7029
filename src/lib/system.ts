/**
 * The real randomness and clock. Imported only by composition roots (node/, cli/, bench/, sim/, tests);
 * the layer test forbids lib/, crypto/, protocol/, routing/ and store/ code from importing this file.
 */
import { randomBytes } from 'node:crypto';
import type { Clock, Rng } from './deps.ts';

export const systemRng: Rng = {
  system: true,
  bytes: (length) => new Uint8Array(randomBytes(length)),
};

export const systemClock: Clock = () => Date.now();
