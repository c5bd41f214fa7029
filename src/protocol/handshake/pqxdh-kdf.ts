/**
 * PQXDH key derivation, shared by both sides (PQXDH spec rev. 3 §2.2 "KDF", §3.3), with the transcript
 * binding the USENIX Security '24 analysis (Bhargavan et al., "Formal verification of the PQXDH
 * post-quantum key agreement protocol") proposes against KEM re-encapsulation and key confusion:
 *
 *   transcript = "compeer/pqxdh-transcript/v1" | encode(IK_A) | encode(IK_B)
 *                | spkId | EncodeEC(SPK_B) | flags [| opkId | EncodeEC(OPK_B)]
 *                | kemId | EncodeKEM(PQPK_B) | EncodeEC(EK_A) | CT
 *   transcriptHash = SHA-256(transcript)
 *   IKM  = 0xFF×32 | DH1 | DH2 | DH3 [| DH4] | SS
 *   OKM  = HKDF-SHA256(IKM, salt = 0×32, info = "compeer/pqxdh/v1/x25519-sha256-mlkem768" | transcriptHash, 96)
 *   rootKey = OKM[0..32], initiatorHeaderKey = OKM[32..64], responderNextHeaderKey = OKM[64..96]
 *   AD   = encode(IK_A) | encode(IK_B)
 *
 * (encode(IK) = the 129-byte PublicIdentity encoding; ids are u32 big-endian; flags bit 0 = OPK used.)
 * This module knows nothing of where the DH outputs come from, or of prekey storage.
 */
import { concatBytes, utf8, wipe } from '../../lib/bytes.ts';
import { invariant } from '../../lib/assert.ts';
import { sha256 } from '../../crypto/hash.ts';
import { hkdfSha256 } from '../../crypto/hkdf.ts';
import { secretBytes } from '../../crypto/secret.ts';
import type { X25519PublicKey } from '../../crypto/x25519.ts';
import type { MlKem768PublicKey } from '../../crypto/mlkem768.ts';
import { encodePublicIdentity, type PublicIdentity } from '../identity.ts';
import { PQXDH_SECRETS_LENGTH } from '../wire/constants.ts';
import { encodeMlKem768Key, encodeX25519Key, u32 } from './_codec.ts';
import type { PrekeyId } from './prekeys.ts';
import type { HandshakeSecrets } from './secrets.ts';

const TRANSCRIPT_LABEL = utf8('compeer/pqxdh-transcript/v1');
const KDF_INFO = utf8('compeer/pqxdh/v1/x25519-sha256-mlkem768');
const REPLAY_LABEL = utf8('compeer/pqxdh-replay/v1');
// PQXDH spec §2.2: F = 32 0xFF bytes for X25519, so the KDF input never starts like an XEdDSA input.
const F = new Uint8Array(32).fill(0xff);
const SALT = new Uint8Array(32);

/** Everything public that both sides know after the initial message, in one place. */
export interface Transcript {
  readonly initiator: PublicIdentity;
  readonly responder: PublicIdentity;
  readonly signedPrekeyId: PrekeyId;
  readonly signedPrekey: X25519PublicKey;
  readonly oneTimePrekey: { readonly id: PrekeyId; readonly publicKey: X25519PublicKey } | undefined;
  readonly kemPrekeyId: PrekeyId;
  readonly kemPrekey: MlKem768PublicKey;
  readonly ephemeralKey: X25519PublicKey;
  readonly kemCiphertext: Uint8Array;
}

export function transcriptBytes(t: Transcript): Uint8Array {
  const opk = t.oneTimePrekey;
  return concatBytes(
    TRANSCRIPT_LABEL,
    encodePublicIdentity(t.initiator),
    encodePublicIdentity(t.responder),
    u32(t.signedPrekeyId),
    encodeX25519Key(t.signedPrekey),
    Uint8Array.of(opk ? 1 : 0),
    ...(opk ? [u32(opk.id), encodeX25519Key(opk.publicKey)] : []),
    u32(t.kemPrekeyId),
    encodeMlKem768Key(t.kemPrekey),
    encodeX25519Key(t.ephemeralKey),
    t.kemCiphertext,
  );
}

/**
 * Derives the HandshakeSecrets from the DH outputs (DH1..DH3, optional DH4, in spec order) and the KEM
 * shared secret. Wipes the inputs it is given and every intermediate buffer it made.
 */
export function derivePqxdhSecrets(t: Transcript, dhs: readonly Uint8Array[], kemSharedSecret: Uint8Array): HandshakeSecrets {
  invariant(dhs.length === (t.oneTimePrekey ? 4 : 3), 'DH count matches the one-time prekey');
  const transcriptHash = sha256(transcriptBytes(t));
  const ikm = concatBytes(F, ...dhs, kemSharedSecret);
  const okm = hkdfSha256(ikm, SALT, concatBytes(KDF_INFO, transcriptHash), PQXDH_SECRETS_LENGTH);
  const secrets: HandshakeSecrets = {
    rootKey: secretBytes(okm.slice(0, 32)),
    initiatorHeaderKey: secretBytes(okm.slice(32, 64)),
    responderNextHeaderKey: secretBytes(okm.slice(64, 96)),
    associatedData: concatBytes(encodePublicIdentity(t.initiator), encodePublicIdentity(t.responder)),
    transcriptHash,
  };
  wipe(ikm, okm, kemSharedSecret, ...dhs);
  return secrets;
}

/** The replay-cache tag of an initial message: SHA-256 over (EK_A, prekey ids, CT). */
export function replayTag(
  ephemeralKey: X25519PublicKey,
  signedPrekeyId: PrekeyId,
  oneTimePrekeyId: PrekeyId | undefined,
  kemPrekeyId: PrekeyId,
  kemCiphertext: Uint8Array,
): Uint8Array {
  return sha256(
    concatBytes(
      REPLAY_LABEL,
      encodeX25519Key(ephemeralKey),
      u32(signedPrekeyId),
      Uint8Array.of(oneTimePrekeyId === undefined ? 0 : 1),
      u32(oneTimePrekeyId ?? 0),
      u32(kemPrekeyId),
      kemCiphertext,
    ),
  );
}
