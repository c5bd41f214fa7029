/**
 * The ratchet tests' handshake stand-in: random HandshakeSecrets and a responder ratchet key (its
 * "signed prekey") from a deterministic Rng seeded by `seed`, and the two initialised states.
 * PQXDH itself is tested in handshake*.test.ts; here the ratchet gets inputs of the right shape.
 */
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng, type Rng } from '../../src/lib/deps.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { secretBytes } from '../../src/crypto/secret.ts';
import { generateX25519, type X25519KeyPair } from '../../src/crypto/x25519.ts';
import type { HandshakeSecrets } from '../../src/protocol/handshake/secrets.ts';
import { initRatchetInitiator, initRatchetResponder, type RatchetState } from '../../src/protocol/ratchet/index.ts';

export interface RatchetPair {
  rng: Rng;
  secrets: HandshakeSecrets;
  bobKey: X25519KeyPair;
  alice: RatchetState;
  bob: RatchetState;
}

export function ratchetPair(seed: string): RatchetPair {
  const rng = deterministicRng(sha256(utf8(seed)), sha256);
  const secrets: HandshakeSecrets = {
    rootKey: secretBytes(rng.bytes(32)),
    initiatorHeaderKey: secretBytes(rng.bytes(32)),
    responderNextHeaderKey: secretBytes(rng.bytes(32)),
    associatedData: rng.bytes(258),
    transcriptHash: rng.bytes(32),
  };
  const bobKey = generateX25519(rng);
  return {
    rng,
    secrets,
    bobKey,
    alice: initRatchetInitiator(secrets, bobKey.publicKey, rng),
    bob: initRatchetResponder(secrets, bobKey),
  };
}
