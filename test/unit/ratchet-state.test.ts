/**
 * Ratchet state encoding: round trips at every kind of state (responder before its first message,
 * initiator, pending step, skipped keys, old chains), a decoded state continues the conversation with
 * the same bytes as the original, and strict rejection of truncated, extended, garbage and
 * inconsistent encodings with typed errors.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { equalBytes, utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng, type Rng } from '../../src/lib/deps.ts';
import { CompeerError, DecodeError } from '../../src/lib/errors.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { secretBytes } from '../../src/crypto/secret.ts';
import { generateX25519 } from '../../src/crypto/x25519.ts';
import type { HandshakeSecrets } from '../../src/protocol/handshake/secrets.ts';
import {
  decodeRatchetState,
  encodeRatchetState,
  initRatchetInitiator,
  initRatchetResponder,
  ratchetDecrypt,
  ratchetEncrypt,
  ratchetInfo,
  type RatchetState,
} from '../../src/protocol/ratchet/index.ts';

const NOW = 1_750_000_000_000;
const AD_LENGTH = 258;
/** Offset of the first optional field (DHs public) after the fixed part of the layout. */
const FIXED = 5 + AD_LENGTH + 3 * 32 + 8;

function rngFor(label: string): Rng {
  return deterministicRng(sha256(utf8(`ratchet-state/${label}`)), sha256);
}

function makePair(label: string): { rng: Rng; alice: RatchetState; bob: RatchetState } {
  const rng = rngFor(label);
  const secrets: HandshakeSecrets = {
    rootKey: secretBytes(rng.bytes(32)),
    initiatorHeaderKey: secretBytes(rng.bytes(32)),
    responderNextHeaderKey: secretBytes(rng.bytes(32)),
    associatedData: rng.bytes(AD_LENGTH),
    transcriptHash: rng.bytes(32),
  };
  const bobKey = generateX25519(rng);
  return { rng, alice: initRatchetInitiator(secrets, bobKey.publicKey, rng), bob: initRatchetResponder(secrets, bobKey) };
}

function roundTrip(s: RatchetState): RatchetState {
  const bytes = encodeRatchetState(s);
  const back = decodeRatchetState(bytes);
  assert.ok(equalBytes(encodeRatchetState(back), bytes), 'encode(decode(x)) != x');
  return back;
}

function corrupt(bytes: Uint8Array, code: 'STATE_CORRUPT' | 'UNSUPPORTED_VERSION' = 'STATE_CORRUPT'): void {
  assert.throws(
    () => decodeRatchetState(bytes),
    (e: unknown) => e instanceof DecodeError && e.code === code,
  );
}

/** A state with everything: skipped keys in the current and in old chains, a pending step. */
function richState(): { rng: Rng; alice: RatchetState; bob: RatchetState } {
  const p = makePair('rich');
  const a = [0, 1, 2, 3].map((i) => ratchetEncrypt(p.alice, utf8(`a${i}`), p.rng));
  ratchetDecrypt(p.bob, a[3] as Uint8Array, NOW);
  ratchetDecrypt(p.alice, ratchetEncrypt(p.bob, utf8('b0'), p.rng), NOW + 1);
  const a4 = ratchetEncrypt(p.alice, utf8('a4'), p.rng);
  ratchetEncrypt(p.alice, utf8('a5-lost'), p.rng);
  ratchetDecrypt(p.bob, ratchetEncrypt(p.alice, utf8('a6'), p.rng), NOW + 2);
  void a4;
  return p;
}

describe('ratchet state: round trips', () => {
  test('every kind of state survives encode/decode', () => {
    const p = makePair('kinds');
    roundTrip(p.bob); // responder before any message: status none, its signed prekey as DHs
    roundTrip(p.alice); // initiator: active sending chain, no receiving chain
    ratchetDecrypt(p.bob, ratchetEncrypt(p.alice, utf8('x'), p.rng), NOW);
    assert.equal(ratchetInfo(p.bob).ratchetPending, true);
    roundTrip(p.bob); // pending: no DHs
    const r = richState();
    assert.ok(ratchetInfo(r.bob).skippedKeys > 0 && ratchetInfo(r.bob).oldChains > 0);
    roundTrip(r.bob);
    roundTrip(r.alice);
  });

  test('a decoded state continues exactly like the original (same wire bytes, same plaintexts)', () => {
    // Two identical worlds from the same seed; in the second every state is reloaded after every step.
    const run = (reload: boolean): string[] => {
      const p = makePair('continue');
      let { alice, bob } = p;
      const out: string[] = [];
      const step = (): void => {
        if (reload) {
          alice = decodeRatchetState(encodeRatchetState(alice));
          bob = decodeRatchetState(encodeRatchetState(bob));
        }
      };
      const pending: Uint8Array[] = [];
      for (let i = 0; i < 6; i++) {
        pending.push(ratchetEncrypt(alice, utf8(`a${i}`), p.rng));
        step();
        if (i % 2 === 1) {
          for (const w of pending.splice(0).reverse()) {
            out.push(Buffer.from(w).toString('hex'), new TextDecoder().decode(ratchetDecrypt(bob, w, NOW + i)));
            step();
          }
          const b = ratchetEncrypt(bob, utf8(`b${i}`), p.rng);
          step();
          out.push(Buffer.from(b).toString('hex'), new TextDecoder().decode(ratchetDecrypt(alice, b, NOW + i)));
          step();
        }
      }
      out.push(Buffer.from(encodeRatchetState(alice)).toString('hex'), Buffer.from(encodeRatchetState(bob)).toString('hex'));
      return out;
    };
    assert.deepEqual(run(true), run(false));
  });

  test('the decoded private ratchet key is checked against its public key on first use', () => {
    const p = makePair('bad-private');
    ratchetDecrypt(p.bob, ratchetEncrypt(p.alice, utf8('a0'), p.rng), NOW);
    ratchetDecrypt(p.alice, ratchetEncrypt(p.bob, utf8('b0'), p.rng), NOW);
    const w = ratchetEncrypt(p.alice, utf8('a1'), p.rng); // a new chain: Bob needs his DHs private key
    const bytes = encodeRatchetState(p.bob);
    const bad = Uint8Array.from(bytes);
    bad[FIXED + 32 + 5] = (bad[FIXED + 32 + 5] as number) ^ 0x40; // DHs private key
    const broken = decodeRatchetState(bad);
    assert.throws(
      () => ratchetDecrypt(broken, w, NOW),
      (e: unknown) => e instanceof DecodeError && e.code === 'STATE_CORRUPT',
    );
    assert.ok(equalBytes(encodeRatchetState(broken), bad), 'state changed by a failed decryption');
    assert.equal(new TextDecoder().decode(ratchetDecrypt(decodeRatchetState(bytes), w, NOW)), 'a1');
  });
});

describe('ratchet state: strict decoding', () => {
  test('every truncation and any trailing byte is STATE_CORRUPT', () => {
    const r = richState();
    for (const s of [r.alice, r.bob]) {
      const bytes = encodeRatchetState(s);
      for (let len = 1; len < bytes.length; len++) corrupt(bytes.subarray(0, len));
      corrupt(Uint8Array.of(...bytes, 0));
    }
    corrupt(new Uint8Array(0));
  });

  test('unknown version, status, flags', () => {
    const bytes = encodeRatchetState(makePair('enum').alice);
    const edit = (at: number, v: number): Uint8Array => {
      const b = Uint8Array.from(bytes);
      b[at] = v;
      return b;
    };
    corrupt(edit(0, 0x02), 'UNSUPPORTED_VERSION');
    corrupt(edit(0, 0x00), 'UNSUPPORTED_VERSION');
    corrupt(edit(1, 3));
    corrupt(edit(2, 0x04 | (bytes[2] as number)));
  });

  test('inconsistent fields', () => {
    const p = makePair('inconsistent');
    const bobInit = encodeRatchetState(p.bob);
    // A responder that never received cannot carry a remote key or counters.
    const withRemoteFlag = Uint8Array.from(bobInit);
    withRemoteFlag[2] = 0x01;
    corrupt(Uint8Array.of(...withRemoteFlag.subarray(0, -1), ...new Uint8Array(32).fill(9), 0));
    const withNs = Uint8Array.from(bobInit);
    withNs[FIXED - 5] = 1;
    corrupt(withNs);
    // An initiator (active) without a remote key.
    const alice = encodeRatchetState(p.alice);
    const noRemote = Uint8Array.from([...alice.subarray(0, alice.length - 33), 0]);
    noRemote[2] = 0;
    corrupt(noRemote);
    // An over-long associated data field.
    const longAd = Uint8Array.from(alice);
    longAd[3] = 0x04;
    longAd[4] = 0x01;
    corrupt(longAd);
  });

  test('an invalid remote ratchet key (small order) is STATE_CORRUPT', () => {
    const alice = encodeRatchetState(makePair('remote').alice);
    const b = Uint8Array.from(alice);
    b.fill(0, b.length - 33, b.length - 1); // DHr is the last field before the old-chain count
    corrupt(b);
  });

  test('skipped keys out of order or outside [floor, next) are STATE_CORRUPT', () => {
    const p = makePair('entries');
    const w = [0, 1, 2, 3].map((i) => ratchetEncrypt(p.alice, utf8(`m${i}`), p.rng));
    ratchetDecrypt(p.bob, w[3] as Uint8Array, NOW); // skipped 0, 1, 2 in the current chain
    const bytes = encodeRatchetState(p.bob);
    const entries = bytes.length - 1 - 3 * 44; // the three entries end just before the old-chain count (0)
    const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
    assert.equal(dv(bytes).getUint32(entries, false), 0);
    const swapped = Uint8Array.from(bytes);
    dv(swapped).setUint32(entries, 1, false);
    corrupt(swapped);
    const beyond = Uint8Array.from(bytes);
    dv(beyond).setUint32(entries + 2 * 44, 4, false); // Nr is 4
    corrupt(beyond);
    const badTime = Uint8Array.from(bytes);
    dv(badTime).setUint32(entries + 4, 0x0020_0000, false);
    corrupt(badTime);
  });

  test('random bytes never decode into a state and never throw anything but DecodeError', () => {
    const rng = rngFor('garbage');
    for (let i = 0; i < 500; i++) {
      const b = rng.bytes(1 + (i % 600));
      b[0] = 0x01;
      assert.throws(() => decodeRatchetState(b), (e: unknown) => e instanceof DecodeError);
    }
    assert.throws(() => decodeRatchetState('x' as unknown as Uint8Array), (e: unknown) => e instanceof CompeerError);
  });
});
