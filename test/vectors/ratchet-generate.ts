/**
 * Generates test/vectors/ratchet-compeer.json, our recorded Double Ratchet vectors (fixed randomness): a
 * short conversation with out-of-order delivery, a skipped key used across a DH step and an empty
 * message, recording every random draw, every wire message and both encoded states after every step.
 *
 *   node_modules/.bin/node test/vectors/ratchet-generate.ts     (rewrites the JSON; review the diff)
 *
 * Randomness: one deterministicRng(SHA-256("compeer/ratchet-vectors/v1"), SHA-256), drawn in this
 * order: the stand-in handshake secrets (root key, initiator header key, responder next header key,
 * 258 bytes of associated data, transcript hash), the responder's ratchet private key, the initiator's
 * first ratchet private key (at init), then per encryption a new ratchet private key when a DH step is
 * due and the message's 12-byte nonce. Every draw is recorded with the step that made it.
 */
import { writeFileSync } from 'node:fs';
import { toHex, utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng, type Rng } from '../../src/lib/deps.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { secretBytes } from '../../src/crypto/secret.ts';
import { generateX25519 } from '../../src/crypto/x25519.ts';
import type { HandshakeSecrets } from '../../src/protocol/handshake/secrets.ts';
import {
  encodeRatchetState,
  initRatchetInitiator,
  initRatchetResponder,
  ratchetDecrypt,
  ratchetEncrypt,
  type RatchetState,
} from '../../src/protocol/ratchet/index.ts';

export const SEED_LABEL = 'compeer/ratchet-vectors/v1';
export const START_TIME = 1_750_000_000_000;

/** The conversation: who encrypts what, and which message (by index of encryption) is delivered when. */
type ScriptStep = { readonly send: 'alice' | 'bob'; readonly text: string } | { readonly deliver: number };
export const SCRIPT: readonly ScriptStep[] = [
  { send: 'alice', text: 'a0: hello' }, // m0
  { send: 'alice', text: 'a1: are you there?' }, // m1
  { deliver: 1 }, // out of order: key of m0 stored as skipped
  { deliver: 0 },
  { send: 'bob', text: 'b0: yes' }, // m2: Bob's first ratchet key
  { deliver: 2 },
  { send: 'alice', text: 'a2: lost for a while' }, // m3: Alice's second ratchet key
  { send: 'alice', text: 'a3' }, // m4
  { deliver: 4 }, // Bob: DH step, skips m3 in the new chain
  { send: 'bob', text: 'b1: got a3' }, // m5: Bob's second ratchet key
  { deliver: 5 },
  { deliver: 3 }, // late, from a chain Bob has finished receiving
  { send: 'alice', text: '' }, // m6: empty plaintext
  { deliver: 6 },
];

export interface RatchetVectorStep {
  step: number;
  op: 'encrypt' | 'decrypt';
  party: 'alice' | 'bob';
  message: number;
  plaintext: string;
  /** Random draws made by this step (hex): the new ratchet private key when a DH step is due, then the nonce (encrypt only). */
  draws: string[];
  /** Decrypt only: the `now` passed. */
  now?: number;
  wire: string;
  aliceState: string;
  bobState: string;
}

export interface RatchetVectors {
  description: string;
  seed: string;
  secrets: { rootKey: string; initiatorHeaderKey: string; responderNextHeaderKey: string; associatedData: string; transcriptHash: string };
  responderRatchetPrivate: string;
  responderRatchetPublic: string;
  initiatorFirstRatchetPrivate: string;
  initialAliceState: string;
  initialBobState: string;
  steps: RatchetVectorStep[];
}

/** Wraps an Rng and records every draw. */
function recording(rng: Rng): Rng & { take(): string[] } {
  let log: string[] = [];
  return {
    system: false,
    bytes(n: number): Uint8Array {
      const b = rng.bytes(n);
      log.push(toHex(b));
      return b;
    },
    take(): string[] {
      const out = log;
      log = [];
      return out;
    },
  };
}

export function computeRatchetVectors(): RatchetVectors {
  const seed = sha256(utf8(SEED_LABEL));
  const rng = recording(deterministicRng(seed, sha256));
  const secrets: HandshakeSecrets = {
    rootKey: secretBytes(rng.bytes(32)),
    initiatorHeaderKey: secretBytes(rng.bytes(32)),
    responderNextHeaderKey: secretBytes(rng.bytes(32)),
    associatedData: rng.bytes(258),
    transcriptHash: rng.bytes(32),
  };
  const bobKey = generateX25519(rng);
  rng.take();
  const alice = initRatchetInitiator(secrets, bobKey.publicKey, rng);
  const [aliceFirst] = rng.take();
  const bob = initRatchetResponder(secrets, bobKey);
  const initialAliceState = toHex(encodeRatchetState(alice));
  const initialBobState = toHex(encodeRatchetState(bob));
  const parties: Record<'alice' | 'bob', RatchetState> = { alice, bob };
  const wires: { to: 'alice' | 'bob'; wire: Uint8Array; text: string }[] = [];
  const steps: RatchetVectorStep[] = [];
  let now = START_TIME;
  SCRIPT.forEach((s, i) => {
    let step: Omit<RatchetVectorStep, 'aliceState' | 'bobState'>;
    if ('send' in s) {
      const wire = ratchetEncrypt(parties[s.send], utf8(s.text), rng);
      wires.push({ to: s.send === 'alice' ? 'bob' : 'alice', wire, text: s.text });
      step = { step: i, op: 'encrypt', party: s.send, message: wires.length - 1, plaintext: s.text, draws: rng.take(), wire: toHex(wire) };
    } else {
      const m = wires[s.deliver];
      if (m === undefined) throw new Error(`script delivers unknown message ${s.deliver}`);
      now += 60_000;
      const plain = new TextDecoder().decode(ratchetDecrypt(parties[m.to], m.wire, now));
      if (plain !== m.text) throw new Error(`step ${i}: decrypted text differs`);
      step = { step: i, op: 'decrypt', party: m.to, message: s.deliver, plaintext: plain, draws: rng.take(), now, wire: toHex(m.wire) };
    }
    steps.push({ ...step, aliceState: toHex(encodeRatchetState(parties.alice)), bobState: toHex(encodeRatchetState(parties.bob)) });
  });
  return {
    description: 'Compeer Double Ratchet recorded vectors; generated by test/vectors/ratchet-generate.ts, formats in docs/protocol.md "Double Ratchet"',
    seed: toHex(seed),
    secrets: {
      rootKey: toHex(secrets.rootKey),
      initiatorHeaderKey: toHex(secrets.initiatorHeaderKey),
      responderNextHeaderKey: toHex(secrets.responderNextHeaderKey),
      associatedData: toHex(secrets.associatedData),
      transcriptHash: toHex(secrets.transcriptHash),
    },
    responderRatchetPrivate: toHex(bobKey.privateKey),
    responderRatchetPublic: toHex(bobKey.publicKey),
    initiatorFirstRatchetPrivate: aliceFirst ?? '',
    initialAliceState,
    initialBobState,
    steps,
  };
}

export const VECTORS_FILE = new URL('./ratchet-compeer.json', import.meta.url);

if (import.meta.main) {
  writeFileSync(VECTORS_FILE, JSON.stringify(computeRatchetVectors(), null, 2) + '\n');
  console.log(`wrote ${VECTORS_FILE.pathname}`);
}
