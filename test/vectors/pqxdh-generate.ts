/**
 * Generates test/vectors/pqxdh-compeer.json, our recorded PQXDH vectors (fixed randomness): identities,
 * prekeys, bundle bytes, initial-message bytes, the DH outputs and KEM shared secret, and the derived
 * secrets, for (a) OPK + one-time KEM prekey and (b) no OPK + last-resort KEM prekey.
 *
 *   node_modules/.bin/node test/vectors/pqxdh-generate.ts     (rewrites the JSON; review the diff)
 *
 * Randomness: one deterministicRng(SHA-256("compeer/pqxdh-vectors/v1"), SHA-256), drawn in this order:
 * Alice's identity, Bob's identity, SPK 1, OPK 100, one-time KEM prekey 200, last-resort KEM prekey 900,
 * then case (a)'s EK_A and ML-KEM message, then case (b)'s. The DH values and the derived secrets are
 * recomputed here in straight-line code from docs/protocol.md (`specSecrets`), independently of
 * src/protocol/handshake/pqxdh-kdf.ts, and must match what the module derived.
 */
import { writeFileSync } from 'node:fs';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes, toHex, utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { x25519 } from '../../src/crypto/x25519.ts';
import { mlKem768Decapsulate } from '../../src/crypto/mlkem768.ts';
import { encodeIdentitySecret, encodePublicIdentity, generateIdentity, userIdOf, type IdentityKeyPair } from '../../src/protocol/identity.ts';
import {
  generateKemPrekey,
  generateOneTimePrekeys,
  generateSignedPrekey,
  type KemPrekeyPair,
  type OneTimePrekeyPair,
  type SignedPrekeyPair,
} from '../../src/protocol/handshake/prekeys.ts';
import { createPrekeyBundle, encodePrekeyBundle } from '../../src/protocol/handshake/bundle.ts';
import { encodeInitialMessage, type InitialMessage } from '../../src/protocol/handshake/initial-message.ts';
import { initiatePqxdh } from '../../src/protocol/handshake/pqxdh.ts';

export const SEED_LABEL = 'compeer/pqxdh-vectors/v1';
export const PREKEY_TIME = 1_750_000_000_000;
export const BUNDLE_TIME = 1_750_000_060_000;

export interface PqxdhVectorCase {
  name: string;
  bundle: string;
  initialMessage: string;
  ephemeralPublic: string;
  dh: string[];
  kemSharedSecret: string;
  transcriptHash: string;
  associatedData: string;
  rootKey: string;
  initiatorHeaderKey: string;
  responderNextHeaderKey: string;
}

export interface PqxdhVectors {
  description: string;
  seed: string;
  prekeyTime: number;
  bundleTime: number;
  alice: { secret: string; public: string; userId: string };
  bob: { secret: string; public: string; userId: string };
  signedPrekey: { id: number; createdAt: number; private: string; public: string; signature: string };
  oneTimePrekey: { id: number; private: string; public: string };
  kemPrekeys: { id: number; kind: string; createdAt: number; seed: string; public: string; signature: string }[];
  cases: PqxdhVectorCase[];
}

const u32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);

/** docs/protocol.md §"Identity, prekeys and PQXDH", written out without the module's helpers. */
export function specSecrets(
  alicePublic: Uint8Array,
  bobPublic: Uint8Array,
  m: { spkId: number; spk: Uint8Array; opk?: { id: number; key: Uint8Array }; kemId: number; kem: Uint8Array; ek: Uint8Array; ct: Uint8Array },
  dh: readonly Uint8Array[],
  ss: Uint8Array,
): { transcriptHash: Uint8Array; okm: Uint8Array } {
  const transcript = concatBytes(
    utf8('compeer/pqxdh-transcript/v1'),
    alicePublic,
    bobPublic,
    u32(m.spkId),
    Uint8Array.of(0x05),
    m.spk,
    Uint8Array.of(m.opk ? 1 : 0),
    ...(m.opk ? [u32(m.opk.id), Uint8Array.of(0x05), m.opk.key] : []),
    u32(m.kemId),
    Uint8Array.of(0x08),
    m.kem,
    Uint8Array.of(0x05),
    m.ek,
    m.ct,
  );
  const transcriptHash = nobleSha256(transcript);
  const ikm = concatBytes(new Uint8Array(32).fill(0xff), ...dh, ss);
  const info = concatBytes(utf8('compeer/pqxdh/v1/x25519-sha256-mlkem768'), transcriptHash);
  return { transcriptHash, okm: hkdf(nobleSha256, ikm, new Uint8Array(32), info, 96) };
}

/** Bob's side of the DHs, in spec order: DH(SPK, IK_A), DH(IK_B, EK_A), DH(SPK, EK_A) [, DH(OPK, EK_A)]. */
function responderDhs(bob: IdentityKeyPair, spk: SignedPrekeyPair, opk: OneTimePrekeyPair | undefined, m: InitialMessage): Uint8Array[] {
  const out = [x25519(spk.keyPair, m.initiator.dhKey), x25519(bob.dh, m.ephemeralKey), x25519(spk.keyPair, m.ephemeralKey)];
  if (opk) out.push(x25519(opk.keyPair, m.ephemeralKey));
  return out.map((d) => Uint8Array.from(d));
}

export function computePqxdhVectors(): PqxdhVectors {
  const seed = sha256(utf8(SEED_LABEL));
  const rng = deterministicRng(seed, sha256);
  const alice = generateIdentity(rng);
  const bob = generateIdentity(rng);
  const spk = generateSignedPrekey(bob, 1, rng, PREKEY_TIME);
  const [opk] = generateOneTimePrekeys(100, 1, rng);
  if (!opk) throw new Error('no OPK');
  const kemOt = generateKemPrekey(bob, 'one-time', 200, rng, PREKEY_TIME);
  const kemLr = generateKemPrekey(bob, 'last-resort', 900, rng, PREKEY_TIME);

  const cases: PqxdhVectorCase[] = [];
  for (const [name, withOpk, kem] of [
    ['OPK + one-time KEM prekey', true, kemOt],
    ['no OPK + last-resort KEM prekey', false, kemLr],
  ] as [string, boolean, KemPrekeyPair][]) {
    const bundle = createPrekeyBundle(
      bob,
      { signedPrekey: spk.public, oneTimePrekey: withOpk ? opk.public : undefined, kemPrekey: kem.public },
      BUNDLE_TIME,
    );
    const init = initiatePqxdh(alice, bundle, rng);
    const m = init.initialMessage;
    const dh = responderDhs(bob, spk, withOpk ? opk : undefined, m);
    const ss = Uint8Array.from(mlKem768Decapsulate(kem.keyPair, m.kemCiphertext));
    const spec = specSecrets(
      encodePublicIdentity(alice.public),
      encodePublicIdentity(bob.public),
      {
        spkId: spk.public.id,
        spk: spk.public.publicKey,
        opk: withOpk ? { id: opk.public.id, key: opk.public.publicKey } : undefined,
        kemId: kem.public.id,
        kem: kem.public.publicKey,
        ek: m.ephemeralKey,
        ct: m.kemCiphertext,
      },
      dh,
      ss,
    );
    const s = init.secrets;
    const module = concatBytes(s.rootKey, s.initiatorHeaderKey, s.responderNextHeaderKey);
    if (!equalBytes(spec.okm, module) || !equalBytes(spec.transcriptHash, s.transcriptHash)) {
      throw new Error(`${name}: module secrets differ from the straight-line spec derivation`);
    }
    cases.push({
      name,
      bundle: toHex(encodePrekeyBundle(bundle)),
      initialMessage: toHex(encodeInitialMessage(m)),
      ephemeralPublic: toHex(m.ephemeralKey),
      dh: dh.map(toHex),
      kemSharedSecret: toHex(ss),
      transcriptHash: toHex(s.transcriptHash),
      associatedData: toHex(s.associatedData),
      rootKey: toHex(s.rootKey),
      initiatorHeaderKey: toHex(s.initiatorHeaderKey),
      responderNextHeaderKey: toHex(s.responderNextHeaderKey),
    });
  }

  const party = (id: IdentityKeyPair) => ({
    secret: toHex(encodeIdentitySecret(id)),
    public: toHex(encodePublicIdentity(id.public)),
    userId: userIdOf(id.public),
  });
  const kemEntry = (k: KemPrekeyPair) => ({
    id: k.public.id,
    kind: k.public.kind,
    createdAt: k.public.createdAt,
    seed: toHex(k.keyPair.seed),
    public: toHex(k.public.publicKey),
    signature: toHex(k.public.signature),
  });
  return {
    description: 'Compeer PQXDH recorded vectors; generated by test/vectors/pqxdh-generate.ts, layout in docs/protocol.md',
    seed: toHex(seed),
    prekeyTime: PREKEY_TIME,
    bundleTime: BUNDLE_TIME,
    alice: party(alice),
    bob: party(bob),
    signedPrekey: {
      id: spk.public.id,
      createdAt: spk.public.createdAt,
      private: toHex(spk.keyPair.privateKey),
      public: toHex(spk.public.publicKey),
      signature: toHex(spk.public.signature),
    },
    oneTimePrekey: { id: opk.public.id, private: toHex(opk.keyPair.privateKey), public: toHex(opk.public.publicKey) },
    kemPrekeys: [kemEntry(kemOt), kemEntry(kemLr)],
    cases,
  };
}

export const VECTORS_FILE = new URL('./pqxdh-compeer.json', import.meta.url);

if (import.meta.main) {
  writeFileSync(VECTORS_FILE, JSON.stringify(computePqxdhVectors(), null, 2) + '\n');
  console.log(`wrote ${VECTORS_FILE.pathname}`);
}
