/**
 * Protocol constants in one place. "Spec" values are fixed by the protocol (changing one breaks the
 * wire); "limit" values are implementation choices that bound resource use and may be tuned.
 * Each module that owns a constant documents it in docs/protocol.md.
 */

// ---- spec: identity and keys (see protocol/identity.ts for the identity encodings)
export const KEY_TYPE_X25519 = 0x05; // same type byte as Signal's Curve25519 keys
export const KEY_TYPE_MLKEM768 = 0x08;
