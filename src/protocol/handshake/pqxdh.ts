/**
 * PQXDH (Signal's PQXDH spec, revision 3) over X25519, SHA-256 and ML-KEM-768: the initiator ("Alice",
 * §3.3) and the responder ("Bob", §3.4). Output: the HandshakeSecrets contract (secrets.ts) plus the
 * responder's signed prekey, which is its first ratchet key pair (as in Signal).
 *
 * Initiator: 1. generate EK_A  2. DH1 = DH(IK_A, SPK_B), DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A, SPK_B),
 *            [DH4 = DH(EK_A, OPK_B)]  3. (CT, SS) = ENCAPS(PQPK_B)  4. KDF (pqxdh-kdf.ts)  5. wipe EK_A.
 * Responder: 1. replay check  2. look up SPK, [OPK], PQPK by id  3. the same DHs mirrored, SS = DECAPS
 *            4. KDF  5. `commit()` — only after the first ratchet message authenticated — deletes the
 *            one-time keys and records the replay tag.
 *
 * Why two phases: the initial message is not authenticated by itself (spec §4.1); a forged one that names
 * a real one-time prekey must not burn that key (libsignal too deletes it only after decryption).
 * EK_A's private key exists only inside initiatePqxdh: it is never returned and its bytes are wiped.
 * This module knows nothing of the ratchet, of encodings on the wire, or of where stores keep keys.
 */
import { wipe } from '../../lib/bytes.ts';
import type { Rng } from '../../lib/deps.ts';
import { ErrorCodes, ProtocolError } from '../../lib/errors.ts';
import { generateX25519, x25519, type X25519PublicKey } from '../../crypto/x25519.ts';
import { mlKem768Decapsulate, mlKem768Encapsulate } from '../../crypto/mlkem768.ts';
import type { IdentityKeyPair, PublicIdentity } from '../identity.ts';
import type { VerifiedPrekeyBundle } from './bundle.ts';
import type { InitialMessage } from './initial-message.ts';
import type { SignedPrekeyPair } from './prekeys.ts';
import type { PrekeyStore } from './prekey-store.ts';
import type { ReplayCache } from './replay-cache.ts';
import { derivePqxdhSecrets, replayTag } from './pqxdh-kdf.ts';
import type { HandshakeSecrets } from './secrets.ts';

export interface PqxdhInitiation {
  readonly secrets: HandshakeSecrets;
  /** To prepend (encoded) to the first ratchet messages until the responder answers. */
  readonly initialMessage: InitialMessage;
  /** SPK_B: the responder's first ratchet public key. */
  readonly remoteRatchetKey: X25519PublicKey;
  readonly responder: PublicIdentity;
}

export interface PqxdhResponse {
  readonly secrets: HandshakeSecrets;
  readonly initiator: PublicIdentity;
  /** The SPK pair the initiator used: the responder's first ratchet key pair. */
  readonly signedPrekey: SignedPrekeyPair;
  /**
   * Deletes the used one-time prekeys (X25519 and KEM) and records the replay tag. Call it once the
   * first ratchet message decrypted under these secrets, in the same store transaction that saves the
   * session. Idempotent.
   */
  commit(): void;
}

/** Alice's side (spec §3.3). The bundle's signatures were checked when it was decoded or made. */
export function initiatePqxdh(own: IdentityKeyPair, bundle: VerifiedPrekeyBundle, rng: Rng): PqxdhInitiation {
  const spk = bundle.signedPrekey;
  const opk = bundle.oneTimePrekey;
  const kem = bundle.kemPrekey;
  const ek = generateX25519(rng);
  try {
    const dhs = [x25519(own.dh, spk.publicKey), x25519(ek, bundle.identity.dhKey), x25519(ek, spk.publicKey)];
    if (opk) dhs.push(x25519(ek, opk.publicKey));
    const { ciphertext, sharedSecret } = mlKem768Encapsulate(kem.publicKey, rng);
    const initialMessage: InitialMessage = {
      initiator: own.public,
      ephemeralKey: ek.publicKey,
      signedPrekeyId: spk.id,
      oneTimePrekeyId: opk?.id,
      kemPrekeyId: kem.id,
      kemCiphertext: ciphertext,
    };
    const secrets = derivePqxdhSecrets(
      {
        initiator: own.public,
        responder: bundle.identity,
        signedPrekeyId: spk.id,
        signedPrekey: spk.publicKey,
        oneTimePrekey: opk,
        kemPrekeyId: kem.id,
        kemPrekey: kem.publicKey,
        ephemeralKey: ek.publicKey,
        kemCiphertext: ciphertext,
      },
      dhs,
      sharedSecret,
    );
    return { secrets, initialMessage, remoteRatchetKey: spk.publicKey, responder: bundle.identity };
  } finally {
    // The OpenSSL handle cannot be zeroed from JS; it becomes unreachable when this function returns.
    wipe(ek.privateKey);
  }
}

function unknownPrekey(what: string, id: number): ProtocolError {
  return new ProtocolError(ErrorCodes.UNKNOWN_PREKEY, `PQXDH initial message: unknown or already used ${what} ${id}`);
}

/**
 * Bob's side (spec §3.4). Throws ProtocolError REPLAYED_MESSAGE for an initial message seen before
 * (checked first), UNKNOWN_PREKEY when a named prekey does not exist (never made, rotated out, or a
 * one-time key already used). Changes nothing in `store` or `replayCache` until `commit()`.
 */
export function respondPqxdh(
  own: IdentityKeyPair,
  store: PrekeyStore,
  message: InitialMessage,
  replayCache: ReplayCache,
  now: number,
): PqxdhResponse {
  const { signedPrekeyId, oneTimePrekeyId, kemPrekeyId, ephemeralKey, kemCiphertext } = message;
  const tag = replayTag(ephemeralKey, signedPrekeyId, oneTimePrekeyId, kemPrekeyId, kemCiphertext);
  if (replayCache.has(signedPrekeyId, tag)) {
    throw new ProtocolError(ErrorCodes.REPLAYED_MESSAGE, 'PQXDH initial message: replayed');
  }
  const spk = store.getSignedPrekey(signedPrekeyId);
  if (!spk) throw unknownPrekey('signed prekey', signedPrekeyId);
  const opk = oneTimePrekeyId === undefined ? undefined : store.getOneTimePrekey(oneTimePrekeyId);
  if (oneTimePrekeyId !== undefined && !opk) throw unknownPrekey('one-time prekey', oneTimePrekeyId);
  const kem = store.getKemPrekey(kemPrekeyId);
  if (!kem) throw unknownPrekey('KEM prekey', kemPrekeyId);

  const dhs = [x25519(spk.keyPair, message.initiator.dhKey), x25519(own.dh, ephemeralKey), x25519(spk.keyPair, ephemeralKey)];
  if (opk) dhs.push(x25519(opk.keyPair, ephemeralKey));
  const sharedSecret = mlKem768Decapsulate(kem.keyPair, kemCiphertext);
  const secrets = derivePqxdhSecrets(
    {
      initiator: message.initiator,
      responder: own.public,
      signedPrekeyId,
      signedPrekey: spk.public.publicKey,
      oneTimePrekey: opk?.public,
      kemPrekeyId,
      kemPrekey: kem.public.publicKey,
      ephemeralKey,
      kemCiphertext,
    },
    dhs,
    sharedSecret,
  );

  let committed = false;
  return {
    secrets,
    initiator: message.initiator,
    signedPrekey: spk,
    commit(): void {
      if (committed) return;
      committed = true;
      if (oneTimePrekeyId !== undefined) store.removeOneTimePrekey(oneTimePrekeyId);
      if (kem.public.kind === 'one-time') store.removeOneTimeKemPrekey(kemPrekeyId);
      replayCache.add(signedPrekeyId, tag, now);
    },
  };
}
