/**
 * The Double Ratchet with header encryption: the public surface of protocol/ratchet/.
 * See docs/protocol.md "Double Ratchet" for the formats, derivations and limits.
 *
 *   initRatchetInitiator / initRatchetResponder   from HandshakeSecrets (init.ts)
 *   ratchetEncrypt / ratchetDecrypt               one message each way (ratchet.ts)
 *   encodeRatchetState / decodeRatchetState       versioned state for the store to seal (codec.ts)
 *   ratchetInfo / ratchetPruneExpired             counters, and expiry without a message
 */
export { initRatchetInitiator, initRatchetResponder } from './init.ts';
export { ratchetDecrypt, ratchetEncrypt, ratchetPruneExpired } from './ratchet.ts';
export { decodeRatchetState, encodeRatchetState } from './codec.ts';
export { ratchetInfo, type RatchetInfo, type RatchetState } from './state.ts';
