/**
 * Starting a Double Ratchet from the handshake's secrets (Signal Double Ratchet spec §4,
 * RatchetInitAliceHE / RatchetInitBobHE):
 *
 *   initiator: DHs = new key pair, DHr = responder's ratchet key (its signed prekey),
 *              RK, CKs, NHKs = KDF_RK_HE(SK, DH(DHs, DHr)), HKs = shared_hka, NHKr = shared_nhkb
 *   responder: DHs = its signed prekey pair, RK = SK, NHKs = shared_nhkb, NHKr = shared_hka;
 *              it cannot send until the initiator's first message has arrived.
 *
 * The secrets are copied: the handshake may wipe its own copy. The responder's key pair is kept by
 * reference (it is the signed prekey, shared with other sessions) and never wiped by the ratchet.
 * This module knows nothing of PQXDH itself: HandshakeSecrets is the whole contract.
 */
import { assertBytes, assertMaxLength } from '../../lib/assert.ts';
import { wipe } from '../../lib/bytes.ts';
import type { Rng } from '../../lib/deps.ts';
import { generateX25519, x25519, type X25519KeyPair, type X25519PublicKey } from '../../crypto/x25519.ts';
import type { HandshakeSecrets } from '../handshake/secrets.ts';
import { RATCHET_MAX_AD_LENGTH } from '../wire/constants.ts';
import { kdfRoot, RATCHET_KEY_LENGTH, type HeaderKey, type RootKey } from './kdf.ts';
import { opaque, ownKeyFrom, SEND_ACTIVE, SEND_NONE, State, type RatchetState } from './state.ts';

interface CopiedSecrets {
  readonly rootKey: RootKey;
  readonly initiatorHeaderKey: HeaderKey;
  readonly responderNextHeaderKey: HeaderKey;
  readonly ad: Uint8Array;
}

function copySecrets(secrets: HandshakeSecrets): CopiedSecrets {
  assertBytes(secrets.rootKey, 'handshake root key', RATCHET_KEY_LENGTH);
  assertBytes(secrets.initiatorHeaderKey, 'handshake initiator header key', RATCHET_KEY_LENGTH);
  assertBytes(secrets.responderNextHeaderKey, 'handshake responder next header key', RATCHET_KEY_LENGTH);
  assertBytes(secrets.associatedData, 'handshake associated data');
  assertMaxLength(secrets.associatedData, RATCHET_MAX_AD_LENGTH, 'handshake associated data');
  return {
    rootKey: Uint8Array.from(secrets.rootKey) as RootKey,
    initiatorHeaderKey: Uint8Array.from(secrets.initiatorHeaderKey) as HeaderKey,
    responderNextHeaderKey: Uint8Array.from(secrets.responderNextHeaderKey) as HeaderKey,
    ad: Uint8Array.from(secrets.associatedData),
  };
}

/** RatchetInitAliceHE: the initiator, who knows the responder's ratchet public key (its signed prekey). */
export function initRatchetInitiator(
  secrets: HandshakeSecrets,
  remoteRatchetKey: X25519PublicKey,
  rng: Rng,
): RatchetState {
  assertBytes(remoteRatchetKey, 'responder ratchet key', 32);
  const c = copySecrets(secrets);
  const own = generateX25519(rng);
  const shared = x25519(own, remoteRatchetKey);
  const step = kdfRoot(c.rootKey, shared);
  wipe(shared, c.rootKey);
  return opaque(
    new State({
      ad: c.ad,
      rootKey: step.rootKey,
      sendStatus: SEND_ACTIVE,
      ownKey: ownKeyFrom(own, true),
      sendChainKey: step.chainKey,
      sendHeaderKey: c.initiatorHeaderKey,
      nextSendHeaderKey: step.nextHeaderKey,
      ns: 0,
      pn: 0,
      // The same object the caller validated: its cached OpenSSL handle is reused for the next DH.
      remoteKey: remoteRatchetKey,
      nextRecvHeaderKey: c.responderNextHeaderKey,
      current: null,
      old: [],
    }),
  );
}

/** RatchetInitBobHE: the responder, with its own ratchet key pair (the signed prekey the initiator used). */
export function initRatchetResponder(secrets: HandshakeSecrets, ownRatchetKey: X25519KeyPair): RatchetState {
  assertBytes(ownRatchetKey.publicKey, 'responder ratchet public key', 32);
  const c = copySecrets(secrets);
  return opaque(
    new State({
      ad: c.ad,
      rootKey: c.rootKey,
      sendStatus: SEND_NONE,
      ownKey: ownKeyFrom(ownRatchetKey, false),
      sendChainKey: null,
      sendHeaderKey: null,
      nextSendHeaderKey: c.responderNextHeaderKey,
      ns: 0,
      pn: 0,
      remoteKey: null,
      nextRecvHeaderKey: c.initiatorHeaderKey,
      current: null,
      old: [],
    }),
  );
}
