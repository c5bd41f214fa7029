/**
 * Double Ratchet vectors:
 *   - libsignal's chain-key vector (ratchet-libsignal-chain-key.json): our KDF_CK equals libsignal's;
 *   - our recorded conversation (ratchet-compeer.json, made by ratchet-generate.ts with fixed
 *     randomness): regenerating gives the same bytes, and replaying it from the JSON alone (decoded
 *     states, recorded random draws) reproduces every wire message, plaintext and state encoding;
 *   - a straight-line derivation of the first message of each side from docs/protocol.md, on
 *     independent implementations (@noble/curves X25519, @noble/ciphers ChaCha20-Poly1305, @noble/hashes
 *     HKDF/HMAC), equals the recorded wire bytes — including the responder's deferred DH step.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { concatBytes, fromHex, toHex, utf8 } from '../../src/lib/bytes.ts';
import type { Rng } from '../../src/lib/deps.ts';
import { chainMessageKey, chainNextKey, type ChainKey } from '../../src/protocol/ratchet/kdf.ts';
import {
  decodeRatchetState,
  encodeRatchetState,
  ratchetDecrypt,
  ratchetEncrypt,
  type RatchetState,
} from '../../src/protocol/ratchet/index.ts';
import { computeRatchetVectors, VECTORS_FILE, type RatchetVectors } from './ratchet-generate.ts';

interface LibsignalChainKey {
  chainKey: string;
  cipherKey: string;
  macKey: string;
  nextChainKey: string;
}

const libsignal = JSON.parse(
  readFileSync(new URL('./ratchet-libsignal-chain-key.json', import.meta.url), 'utf8'),
) as LibsignalChainKey;
const v = JSON.parse(readFileSync(VECTORS_FILE, 'utf8')) as RatchetVectors;

describe('ratchet vectors: libsignal chain key', () => {
  test('next chain key = HMAC-SHA256(ck, 0x02)', () => {
    assert.equal(toHex(chainNextKey(fromHex(libsignal.chainKey) as ChainKey)), libsignal.nextChainKey);
  });

  test("message key = HMAC-SHA256(ck, 0x01), checked through libsignal's WhisperMessageKeys expansion", () => {
    const mk = chainMessageKey(fromHex(libsignal.chainKey) as ChainKey);
    const okm = hkdf(sha256, mk, undefined, utf8('WhisperMessageKeys'), 80);
    assert.equal(toHex(okm.subarray(0, 32)), libsignal.cipherKey);
    assert.equal(toHex(okm.subarray(32, 64)), libsignal.macKey);
  });
});

/** Returns the recorded draws in order, and fails on any draw the recording does not have. */
function replayRng(draws: string[]): Rng {
  const queue = [...draws];
  return {
    system: false,
    bytes(n: number): Uint8Array {
      const next = queue.shift();
      assert.ok(next !== undefined && next.length === 2 * n, `unexpected random draw of ${n} bytes`);
      return fromHex(next);
    },
  };
}

describe('ratchet vectors: recorded conversation', () => {
  test('regenerating with the same randomness gives identical bytes', () => {
    assert.deepEqual(computeRatchetVectors(), v);
  });

  test('replaying from the recorded states and draws reproduces every message and state', () => {
    const parties: Record<'alice' | 'bob', RatchetState> = {
      alice: decodeRatchetState(fromHex(v.initialAliceState)),
      bob: decodeRatchetState(fromHex(v.initialBobState)),
    };
    for (const s of v.steps) {
      if (s.op === 'encrypt') {
        const wire = ratchetEncrypt(parties[s.party], utf8(s.plaintext), replayRng(s.draws));
        assert.equal(toHex(wire), s.wire, `step ${s.step}: wire bytes`);
      } else {
        const plain = ratchetDecrypt(parties[s.party], fromHex(s.wire), s.now ?? 0);
        assert.equal(new TextDecoder().decode(plain), s.plaintext, `step ${s.step}: plaintext`);
      }
      assert.equal(toHex(encodeRatchetState(parties.alice)), s.aliceState, `step ${s.step}: Alice's state`);
      assert.equal(toHex(encodeRatchetState(parties.bob)), s.bobState, `step ${s.step}: Bob's state`);
      // Reload both, as a store would, so the next step runs on decoded states.
      parties.alice = decodeRatchetState(fromHex(s.aliceState));
      parties.bob = decodeRatchetState(fromHex(s.bobState));
    }
  });
});

// ---- straight-line derivation from docs/protocol.md "Double Ratchet", independent of src/protocol/ratchet/
const ROOT_INFO = utf8('compeer/ratchet/rk/v2');

function kdfRk(rk: Uint8Array, dh: Uint8Array): { rk: Uint8Array; ck: Uint8Array; nhk: Uint8Array } {
  const okm = hkdf(sha256, dh, rk, ROOT_INFO, 96);
  return { rk: okm.slice(0, 32), ck: okm.slice(32, 64), nhk: okm.slice(64, 96) };
}

function specMessage(
  ad: Uint8Array,
  hk: Uint8Array,
  ck: Uint8Array,
  ratchetPub: Uint8Array,
  pn: number,
  n: number,
  plaintext: Uint8Array,
  nonce: Uint8Array,
): Uint8Array {
  const header = new Uint8Array(40);
  header.set(ratchetPub, 0);
  new DataView(header.buffer).setUint32(32, pn, false);
  new DataView(header.buffer).setUint32(36, n, false);
  // Version byte 0x03 (docs/protocol.md "Message format"), also the header's AD; one random nonce for
  // the header (under HK) and the body (under MK).
  const prefix = concatBytes(Uint8Array.of(0x03), nonce, chacha20poly1305(hk, nonce, Uint8Array.of(0x03)).encrypt(header));
  const mk = hmac(sha256, ck, Uint8Array.of(0x01));
  const body = chacha20poly1305(mk, nonce, concatBytes(ad, prefix)).encrypt(plaintext);
  return concatBytes(prefix, body);
}

describe('ratchet vectors: straight-line spec derivation', () => {
  const sk = fromHex(v.secrets.rootKey);
  const hka = fromHex(v.secrets.initiatorHeaderKey);
  const nhkb = fromHex(v.secrets.responderNextHeaderKey);
  const ad = fromHex(v.secrets.associatedData);
  const bobSpk = fromHex(v.responderRatchetPrivate);
  const aliceKey = fromHex(v.initiatorFirstRatchetPrivate);
  const alicePub = nobleX25519.getPublicKey(aliceKey);
  const encryptOf = (message: number): RatchetVectors['steps'][number] => {
    const s = v.steps.find((x) => x.op === 'encrypt' && x.message === message);
    assert.ok(s);
    return s;
  };

  test("the initiator's first message (RatchetInitAliceHE, N = 0, under shared_hka)", () => {
    assert.equal(toHex(nobleX25519.getPublicKey(bobSpk)), v.responderRatchetPublic);
    const a = kdfRk(sk, nobleX25519.getSharedSecret(aliceKey, fromHex(v.responderRatchetPublic)));
    const s = encryptOf(0);
    assert.equal(s.draws.length, 1, 'the nonce only');
    assert.equal(toHex(specMessage(ad, hka, a.ck, alicePub, 0, 0, utf8(s.plaintext), fromHex(s.draws[0] ?? ''))), s.wire);
  });

  test("the responder's first message (its DH step, deferred to the first send, under shared_nhkb)", () => {
    // Receiving: RK, CKr, NHKr = KDF_RK_HE(SK, DH(SPK, A1)); sending: new B1, RK, CKs, NHKs = KDF_RK_HE(RK, DH(B1, A1)).
    const recv = kdfRk(sk, nobleX25519.getSharedSecret(bobSpk, alicePub));
    const s = encryptOf(2);
    assert.equal(s.draws.length, 2, 'the new ratchet key, then the nonce');
    const b1 = fromHex(s.draws[0] ?? '');
    const send = kdfRk(recv.rk, nobleX25519.getSharedSecret(b1, alicePub));
    const wire = specMessage(ad, nhkb, send.ck, nobleX25519.getPublicKey(b1), 0, 0, utf8(s.plaintext), fromHex(s.draws[1] ?? ''));
    assert.equal(toHex(wire), s.wire);
  });
});
