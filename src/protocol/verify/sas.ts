/**
 * Interactive SAS verification with a commitment, over an already-established encrypted session
 * (docs/protocol.md "Verification: safety numbers and SAS"). Matrix's lesson: the initiator commits to its
 * nonce before it sees the responder's, so a man in the middle (who runs two sessions with two different
 * transcripts) gets one try per verification at a 2^-42 match, never a chance to grind.
 *
 *   1. initiator → responder  COMMIT  commitment = SHA-256("compeer/sas/v1/commit" | nonceA | transcriptHash | enc(IK_initiator))
 *   2. responder → initiator  NONCE   nonceB
 *   3. initiator → responder  REVEAL  nonceA        (responder checks the commitment)
 *   both: sas = HKDF-SHA256(ikm = nonceA | nonceB, salt = transcriptHash,
 *                           info = "compeer/sas/v1/sas" | enc(IK_lo) | enc(IK_hi), 6 bytes)
 *         where lo/hi order the two public identity encodings bytewise; rendered by sas-render.ts.
 *
 * Messages: version (1) | type (1) | 32 bytes. A verification is single-shot: any error (malformed,
 * out-of-order, bad commitment) ends it in phase 'failed'; start a new one.
 * This module knows nothing of how messages travel (they go inside the session) or of the UI.
 */
import { assertBytes } from '../../lib/assert.ts';
import { concatBytes, equalBytes, utf8 } from '../../lib/bytes.ts';
import type { Rng } from '../../lib/deps.ts';
import { CompeerError, DecodeError, ErrorCodes, ProtocolError } from '../../lib/errors.ts';
import { sha256 } from '../../crypto/hash.ts';
import { hkdfSha256 } from '../../crypto/hkdf.ts';
import { secretBytes, type SecretBytes } from '../../crypto/secret.ts';
import { encodePublicIdentity, type PublicIdentity } from '../identity.ts';
import { SAS_BYTES, SAS_MSG_COMMIT, SAS_MSG_NONCE, SAS_MSG_REVEAL, SAS_NONCE_LENGTH, SAS_VERSION } from '../wire/constants.ts';
import { sasDecimal, sasEmoji, type SasEmoji } from './sas-render.ts';

const COMMIT_LABEL = utf8('compeer/sas/v1/commit');
const SAS_LABEL = utf8('compeer/sas/v1/sas');
export const SAS_TRANSCRIPT_HASH_LENGTH = 32;
export const SAS_MESSAGE_LENGTH = 2 + SAS_NONCE_LENGTH;

export type SasMessageType = typeof SAS_MSG_COMMIT | typeof SAS_MSG_NONCE | typeof SAS_MSG_REVEAL;
export interface SasMessage {
  readonly type: SasMessageType;
  /** commitment (COMMIT), nonceB (NONCE) or nonceA (REVEAL). */
  readonly value: Uint8Array;
}

export interface SasContext {
  readonly self: PublicIdentity;
  readonly peer: PublicIdentity;
  /** HandshakeSecrets.transcriptHash of the session the verification runs over (32 bytes). */
  readonly transcriptHash: Uint8Array;
}

export interface SasResult {
  readonly bytes: Uint8Array;
  readonly emoji: readonly SasEmoji[];
  readonly decimal: readonly [number, number, number];
}

export type SasRole = 'initiator' | 'responder';
export type SasPhase = 'awaiting-commit' | 'awaiting-nonce' | 'awaiting-reveal' | 'done' | 'failed';

// ---- pure derivations

export function sasCommitment(nonceA: Uint8Array, transcriptHash: Uint8Array, initiator: PublicIdentity): Uint8Array {
  assertBytes(nonceA, 'SAS nonce', SAS_NONCE_LENGTH);
  assertBytes(transcriptHash, 'SAS transcript hash', SAS_TRANSCRIPT_HASH_LENGTH);
  return sha256(concatBytes(COMMIT_LABEL, nonceA, transcriptHash, encodePublicIdentity(initiator)));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

export function deriveSasBytes(
  nonceA: Uint8Array,
  nonceB: Uint8Array,
  transcriptHash: Uint8Array,
  x: PublicIdentity,
  y: PublicIdentity,
): Uint8Array {
  assertBytes(nonceA, 'SAS nonce', SAS_NONCE_LENGTH);
  assertBytes(nonceB, 'SAS nonce', SAS_NONCE_LENGTH);
  assertBytes(transcriptHash, 'SAS transcript hash', SAS_TRANSCRIPT_HASH_LENGTH);
  const ex = encodePublicIdentity(x);
  const ey = encodePublicIdentity(y);
  const [lo, hi] = compareBytes(ex, ey) <= 0 ? [ex, ey] : [ey, ex];
  return hkdfSha256(concatBytes(nonceA, nonceB), transcriptHash, concatBytes(SAS_LABEL, lo, hi), SAS_BYTES);
}

export function renderSas(bytes: Uint8Array): SasResult {
  return { bytes: Uint8Array.from(bytes), emoji: sasEmoji(bytes), decimal: sasDecimal(bytes) };
}

// ---- wire

export function encodeSasMessage(msg: SasMessage): Uint8Array {
  assertBytes(msg.value, 'SAS message value', SAS_NONCE_LENGTH);
  return concatBytes(Uint8Array.of(SAS_VERSION, msg.type), msg.value);
}

export function decodeSasMessage(bytes: Uint8Array): SasMessage {
  assertBytes(bytes, 'SAS message');
  if (bytes.length !== SAS_MESSAGE_LENGTH) {
    throw new DecodeError(ErrorCodes.INVALID_LENGTH, `SAS message: expected ${SAS_MESSAGE_LENGTH} bytes, got ${bytes.length}`);
  }
  if (bytes[0] !== SAS_VERSION) {
    throw new DecodeError(ErrorCodes.UNSUPPORTED_VERSION, `SAS message: unsupported version ${bytes[0]}`);
  }
  const type = bytes[1];
  if (type !== SAS_MSG_COMMIT && type !== SAS_MSG_NONCE && type !== SAS_MSG_REVEAL) {
    throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `SAS message: unknown type ${type}`);
  }
  return { type, value: bytes.slice(2) };
}

// ---- state machine

type State =
  | { readonly phase: 'awaiting-nonce'; readonly nonceA: SecretBytes }
  | { readonly phase: 'awaiting-commit' }
  | { readonly phase: 'awaiting-reveal'; readonly commitment: Uint8Array; readonly nonceB: Uint8Array }
  | { readonly phase: 'done'; readonly result: SasResult }
  | { readonly phase: 'failed' };

const EXPECTED: Record<'awaiting-nonce' | 'awaiting-commit' | 'awaiting-reveal', SasMessageType> = {
  'awaiting-nonce': SAS_MSG_NONCE,
  'awaiting-commit': SAS_MSG_COMMIT,
  'awaiting-reveal': SAS_MSG_REVEAL,
};

export class SasVerification {
  readonly role: SasRole;
  readonly #ctx: SasContext;
  readonly #rng: Rng;
  #state: State;

  private constructor(role: SasRole, ctx: SasContext, rng: Rng, state: State) {
    assertBytes(ctx.transcriptHash, 'SAS transcript hash', SAS_TRANSCRIPT_HASH_LENGTH);
    this.role = role;
    this.#ctx = { self: ctx.self, peer: ctx.peer, transcriptHash: Uint8Array.from(ctx.transcriptHash) };
    this.#rng = rng;
    this.#state = state;
  }

  /** Step 1: draws nonceA and returns the COMMIT message to send. */
  static initiate(ctx: SasContext, rng: Rng): { verification: SasVerification; message: Uint8Array } {
    const nonceA = secretBytes(rng.bytes(SAS_NONCE_LENGTH));
    const v = new SasVerification('initiator', ctx, rng, { phase: 'awaiting-nonce', nonceA });
    const commitment = sasCommitment(nonceA, v.#ctx.transcriptHash, ctx.self);
    return { verification: v, message: encodeSasMessage({ type: SAS_MSG_COMMIT, value: commitment }) };
  }

  /** The responder's side, waiting for COMMIT; nonceB is drawn only when the commitment arrives. */
  static respond(ctx: SasContext, rng: Rng): SasVerification {
    return new SasVerification('responder', ctx, rng, { phase: 'awaiting-commit' });
  }

  get phase(): SasPhase {
    return this.#state.phase;
  }

  /** The SAS to show, once the phase is 'done'. */
  get result(): SasResult | undefined {
    return this.#state.phase === 'done' ? this.#state.result : undefined;
  }

  /** Ends the verification (user cancelled, or the SAS did not match). */
  cancel(): void {
    this.#state = { phase: 'failed' };
  }

  /**
   * Handles one message from the peer; returns the message to send back, if any.
   * Throws DecodeError (malformed), ProtocolError UNEXPECTED_MESSAGE (wrong step) or COMMITMENT_MISMATCH;
   * after any throw the phase is 'failed'.
   */
  receive(bytes: Uint8Array): Uint8Array | undefined {
    try {
      return this.#step(bytes);
    } catch (e) {
      this.#state = { phase: 'failed' };
      if (e instanceof CompeerError) throw e;
      throw new CompeerError(ErrorCodes.INTERNAL, 'SAS: unexpected failure', { cause: e });
    }
  }

  #step(bytes: Uint8Array): Uint8Array | undefined {
    const state = this.#state;
    if (state.phase === 'done' || state.phase === 'failed') {
      throw new ProtocolError(ErrorCodes.UNEXPECTED_MESSAGE, `SAS: no message expected in phase ${state.phase}`);
    }
    const msg = decodeSasMessage(bytes);
    if (msg.type !== EXPECTED[state.phase]) {
      throw new ProtocolError(ErrorCodes.UNEXPECTED_MESSAGE, `SAS: message type ${msg.type} unexpected in phase ${state.phase}`);
    }
    const { self, peer, transcriptHash } = this.#ctx;
    switch (state.phase) {
      case 'awaiting-commit': {
        const nonceB = this.#rng.bytes(SAS_NONCE_LENGTH);
        assertBytes(nonceB, 'SAS nonce', SAS_NONCE_LENGTH);
        this.#state = { phase: 'awaiting-reveal', commitment: msg.value, nonceB };
        return encodeSasMessage({ type: SAS_MSG_NONCE, value: nonceB });
      }
      case 'awaiting-nonce': {
        const result = renderSas(deriveSasBytes(state.nonceA, msg.value, transcriptHash, self, peer));
        this.#state = { phase: 'done', result };
        return encodeSasMessage({ type: SAS_MSG_REVEAL, value: state.nonceA });
      }
      case 'awaiting-reveal': {
        // The peer is the initiator: its identity is in the commitment.
        if (!equalBytes(sasCommitment(msg.value, transcriptHash, peer), state.commitment)) {
          throw new ProtocolError(ErrorCodes.COMMITMENT_MISMATCH, 'SAS: revealed nonce does not match the commitment');
        }
        const result = renderSas(deriveSasBytes(msg.value, state.nonceB, transcriptHash, self, peer));
        this.#state = { phase: 'done', result };
        return undefined;
      }
    }
  }
}
