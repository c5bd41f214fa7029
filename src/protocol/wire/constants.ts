/**
 * Protocol constants in one place. "Spec" values are fixed by the protocol (changing one breaks the
 * wire); "limit" values are implementation choices that bound resource use and may be tuned.
 * Each module that owns a constant documents it in docs/protocol.md.
 */

// ---- spec: identity and keys (see protocol/identity.ts for the identity encodings)
export const KEY_TYPE_X25519 = 0x05; // same type byte as Signal's Curve25519 keys
export const KEY_TYPE_MLKEM768 = 0x08;

// ---- verification (protocol/verify/; docs/protocol.md "Verification: safety numbers and SAS")
export const SAFETY_NUMBER_VERSION = 2; // spec: scannable-fingerprint version, as libsignal's current one
export const SAFETY_NUMBER_ITERATIONS = 5200; // spec: iterated SHA-512 rounds, as libsignal's apps
export const SAS_VERSION = 0x01; // spec: first byte of every SAS message
export const SAS_MSG_COMMIT = 0x01; // spec: initiator → responder, commitment to nonceA
export const SAS_MSG_NONCE = 0x02; // spec: responder → initiator, nonceB
export const SAS_MSG_REVEAL = 0x03; // spec: initiator → responder, nonceA
export const SAS_NONCE_LENGTH = 32; // spec
export const SAS_BYTES = 6; // spec: 42 bits for 7 emoji, 39 bits for 3 decimal groups (Matrix)

// ---- sealed sender (protocol/sealed/; docs/protocol.md "Sealed sender")
export const SEALED_VERSION = 0x01; // spec: first byte of a sealed-sender envelope
export const SEALED_PAD_MIN = 256; // spec: smallest padded-content bucket (bytes)
export const SEALED_PAD_MAX = 65536; // limit: largest bucket; content is at most SEALED_PAD_MAX - 1 bytes

// ---- prekeys, bundle, PQXDH (protocol/handshake/; docs/protocol.md "Identity, prekeys and PQXDH")
export const PREKEY_BUNDLE_VERSION = 0x01; // spec: first byte of a prekey bundle
export const PQXDH_INITIAL_MESSAGE_VERSION = 0x01; // spec: first byte of a PQXDH initial message
export const PQXDH_SECRETS_LENGTH = 96; // spec: HKDF output = root key | initiator HK | responder NHK
export const ONE_TIME_PREKEY_LOW_WATERMARK = 20; // limit: replenish one-time (X25519 and KEM) prekeys below this
export const ONE_TIME_PREKEY_TARGET = 100; // limit: ... up to this many (Signal: below 10, up to 100)
export const SIGNED_PREKEY_ROTATION_MS = 7 * 24 * 3600_000; // limit: new SPK and last-resort KEM key weekly
export const SIGNED_PREKEY_GRACE_MS = 30 * 24 * 3600_000; // limit: keep a rotated-out SPK this long (Signal: 30 d)

// ---- Double Ratchet with header encryption (protocol/ratchet/; docs/protocol.md "Double Ratchet")
export const RATCHET_MESSAGE_VERSION = 0x03; // spec: first byte of a ratchet message (3: a random nonce per message for header and body, so a state restored from a backup never repeats a key and nonce)
export const RATCHET_STATE_VERSION = 0x01; // spec (storage): first byte of an encoded ratchet state
export const RATCHET_HEADER_NONCE_LENGTH = 12; // spec: the message nonce, drawn from the Rng per message: the header's nonce under HK and the body's under MK
export const RATCHET_HEADER_LENGTH = 40; // spec: ratchet public key (32) | PN (u32) | N (u32)
export const RATCHET_ENCRYPTED_HEADER_LENGTH = 56; // spec: header + 16-byte tag
export const RATCHET_MESSAGE_OVERHEAD = 85; // spec: version + nonce + encrypted header + body tag
export const RATCHET_MAX_PLAINTEXT = 65536; // limit: body plaintext bytes (sealed-sender content is < 64 KiB)
export const RATCHET_MAX_SKIP = 1000; // limit: forward jump in one chain per message (libsignal: 25,000)
export const RATCHET_MAX_SKIPPED_KEYS = 2000; // limit: stored skipped keys in total (libsignal: 2,000 per chain)
export const RATCHET_MAX_OLD_CHAINS = 5; // limit: finished receiving chains kept (libsignal: 5 receiver chains)
export const RATCHET_SKIPPED_KEY_MAX_AGE_MS = 30 * 24 * 3600_000; // limit: a skipped key is deleted after 30 d
export const RATCHET_MAX_AD_LENGTH = 1024; // limit: associated data from the handshake (two identities: 258)
export const RATCHET_KEY_CACHE_SIZE = 512; // limit: imported ratchet keys cached in memory (each of 2 caches)

// ---- signed peer announcements (protocol/wire/announcement.ts; docs/networking.md "Discovery")
export const ANNOUNCEMENT_VERSION = 0x01; // spec: first byte of a peer announcement
export const ANNOUNCEMENT_MAX_ADDRESSES = 8; // spec: multiaddr strings per announcement
export const ANNOUNCEMENT_MAX_ADDRESS_BYTES = 256; // spec: bytes per multiaddr string
export const ANNOUNCEMENT_MAX_PEER_ID_BYTES = 128; // spec: bytes of the peer ID string (Ed25519: 52)
export const ANNOUNCEMENT_MAX_HOP_TTL = 8; // spec: the largest hop TTL a receiver accepts
export const ANNOUNCEMENT_DEFAULT_HOP_TTL = 3; // limit: hops our own announcements travel
export const ANNOUNCEMENT_MAX_AGE_MS = 30 * 60_000; // limit: older announcements are stale
export const ANNOUNCEMENT_MAX_CLOCK_SKEW_MS = 2 * 60_000; // limit: how far in the future a timestamp may be
export const ANNOUNCEMENT_INTERVAL_MS = 5 * 60_000; // limit: how often a node re-announces itself

// ---- session sets (protocol/session-set.ts)
export const SESSION_SET_VERSION = 0x01; // spec: state encoding version
export const SESSION_SET_MAX_ARCHIVED = 4; // limit: older sessions kept per contact for in-flight messages
