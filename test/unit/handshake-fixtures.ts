/**
 * Shared fixtures for the handshake and prekey tests: deterministic parties with a filled prekey pool,
 * and a helper that re-signs hand-made bundle bytes (to show a check other than the signature rejects).
 */
import assert from 'node:assert/strict';
import { concatBytes, utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng, type Rng } from '../../src/lib/deps.ts';
import type { CompeerError, ErrorCode } from '../../src/lib/errors.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { ed25519Sign } from '../../src/crypto/ed25519.ts';
import { generateIdentity, type IdentityKeyPair } from '../../src/protocol/identity.ts';
import {
  generateKemPrekey,
  generateOneTimeKemPrekeys,
  generateOneTimePrekeys,
  generateSignedPrekey,
} from '../../src/protocol/handshake/prekeys.ts';
import { InMemoryPrekeyPool } from '../../src/protocol/handshake/prekey-store.ts';

export const NOW = 1_750_000_000_000;

export function rngFor(label: string): Rng {
  return deterministicRng(sha256(utf8(label)), sha256);
}

export interface Party {
  readonly identity: IdentityKeyPair;
  readonly pool: InMemoryPrekeyPool;
}

/** SPK id 1; OPKs 100..100+opks-1; one-time KEM prekeys 200..; a last-resort KEM prekey id 900. */
export function makeParty(label: string, opks = 2, kems = 1): Party {
  const rng = rngFor(label);
  const identity = generateIdentity(rng);
  const pool = new InMemoryPrekeyPool();
  pool.addSignedPrekey(generateSignedPrekey(identity, 1, rng, NOW));
  pool.addOneTimePrekeys(generateOneTimePrekeys(100, opks, rng));
  pool.addKemPrekeys(generateOneTimeKemPrekeys(identity, 200, kems, rng, NOW));
  pool.addKemPrekeys([generateKemPrekey(identity, 'last-resort', 900, rng, NOW)]);
  return { identity, pool };
}

/** Recomputes the bundle signature (Ed25519 over label | body) so only the check under test can fail. */
export function resignBundle(identity: IdentityKeyPair, bytes: Uint8Array): Uint8Array {
  const body = bytes.subarray(0, bytes.length - 64);
  const sig = ed25519Sign(identity.signing, concatBytes(utf8('compeer/prekey-bundle/v1'), body));
  return concatBytes(body, sig);
}

export function assertCode(fn: () => unknown, cls: new (...a: never[]) => CompeerError, code: ErrorCode, msg?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `${msg ?? ''}: expected ${cls.name}, got ${String(e)}`);
    assert.equal((e as CompeerError).code, code, msg);
    return true;
  });
}
