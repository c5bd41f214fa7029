/**
 * What the PQXDH handshake hands to the Double Ratchet (Signal Double Ratchet spec §4 "Double Ratchet
 * with header encryption", initialisation: SK, shared_hka, shared_nhkb) plus the associated data that
 * binds both identities into every message, and a transcript hash for verification (SAS).
 * This is the only contract between protocol/handshake/ and protocol/ratchet/.
 */
import type { SecretBytes } from '../../crypto/secret.ts';

export interface HandshakeSecrets {
  /** SK: the ratchet's first root key (32 bytes). */
  readonly rootKey: SecretBytes;
  /** shared_hka: the initiator's first sending header key = the responder's first next-receiving header key. */
  readonly initiatorHeaderKey: SecretBytes;
  /** shared_nhkb: the responder's first next-sending header key = the initiator's first next-receiving header key. */
  readonly responderNextHeaderKey: SecretBytes;
  /** AD = encode(IK_initiator) | encode(IK_responder): bound into every message's AEAD. */
  readonly associatedData: Uint8Array;
  /** SHA-256 over the full handshake transcript; input to safety checks such as the SAS. */
  readonly transcriptHash: Uint8Array;
}
