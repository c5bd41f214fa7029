/**
 * Mailbox day keys and fetch proofs (src/protocol/mailbox/keys.ts): the derivation matches an
 * independent computation with @noble/hashes and @noble/curves, addresses of other days and secrets
 * differ, and a proof verifies only for its own address, holder, challenge and operation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, toHex, utf8 } from '../../src/lib/bytes.ts';
import { CryptoError } from '../../src/lib/errors.ts';
import {
  addressOf,
  deriveMailbox,
  MAILBOX_PROOF_LENGTH,
  mailboxDay,
  signMailboxProof,
  verifyMailboxProof,
} from '../../src/protocol/mailbox/keys.ts';

const secret = Uint8Array.from({ length: 32 }, (_, i) => i);
const other = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
const holder = '12D3KooWHolderHolderHolderHolderHolderHolderHolder';
const challenge = new Uint8Array(32).fill(0xc1);
const DAY = 86_400_000;

describe('mailbox keys', () => {
  it('numbers UTC days from the epoch', () => {
    assert.equal(mailboxDay(0), 0);
    assert.equal(mailboxDay(DAY - 1), 0);
    assert.equal(mailboxDay(DAY), 1);
    assert.equal(mailboxDay(1_700_000_000_000), 19_675);
    assert.throws(() => mailboxDay(-1), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => mailboxDay(1.5), { code: 'INVALID_ARGUMENT' });
  });

  it('derives seed, key and address as specified (independent computation)', () => {
    const day = 19_675;
    const info = concatBytes(utf8('compeer/mailbox/v1/day'), Uint8Array.of(0, 0, 0x4c, 0xdb));
    const seed = hkdf(sha256, secret, undefined, info, 32);
    const pub = ed25519.getPublicKey(seed);
    const m = deriveMailbox(secret, day);
    assert.equal(toHex(m.keyPair.publicKey), toHex(pub));
    assert.equal(toHex(m.address), toHex(sha256(concatBytes(utf8('compeer/mailbox/v1/address'), pub))));
    assert.equal(toHex(addressOf(pub)), toHex(m.address));
    assert.equal(m.day, day);
  });

  it('is deterministic; other days and other secrets give other addresses', () => {
    const seen = new Set<string>();
    for (const s of [secret, other]) {
      for (let d = 20_000; d < 20_005; d++) {
        assert.equal(toHex(deriveMailbox(s, d).address), toHex(deriveMailbox(s, d).address));
        seen.add(toHex(deriveMailbox(s, d).address));
      }
    }
    assert.equal(seen.size, 10);
    assert.throws(() => deriveMailbox(secret.subarray(1), 1), { code: 'INVALID_LENGTH' });
    assert.throws(() => deriveMailbox(secret, -1), { code: 'INVALID_ARGUMENT' });
  });

  it('a proof verifies for its address, holder, challenge and operation', () => {
    const m = deriveMailbox(secret, 20_000);
    for (const op of ['fetch', 'delete'] as const) {
      const proof = signMailboxProof(m, holder, challenge, op);
      assert.equal(proof.length, MAILBOX_PROOF_LENGTH);
      verifyMailboxProof(m.address, holder, challenge, op, proof);
    }
  });

  it('refuses a proof for anything else, with a CryptoError', () => {
    const m = deriveMailbox(secret, 20_000);
    const proof = signMailboxProof(m, holder, challenge, 'fetch');
    const refused = (fn: () => void, code = 'BAD_SIGNATURE') => assert.throws(fn, (e) => e instanceof CryptoError && e.code === code);
    refused(() => verifyMailboxProof(deriveMailbox(secret, 20_001).address, holder, challenge, 'fetch', proof));
    refused(() => verifyMailboxProof(deriveMailbox(other, 20_000).address, holder, challenge, 'fetch', proof));
    refused(() => verifyMailboxProof(m.address, holder + 'x', challenge, 'fetch', proof));
    refused(() => verifyMailboxProof(m.address, holder, new Uint8Array(32).fill(0xc2), 'fetch', proof));
    refused(() => verifyMailboxProof(m.address, holder, challenge, 'delete', proof));
    refused(() => verifyMailboxProof(m.address, holder, challenge, 'fetch', proof.subarray(1)));
    for (const i of [0, 31, 32, 63, 64, 95]) {
      const bent = proof.slice();
      bent[i] = (bent[i] as number) ^ 1;
      assert.throws(() => verifyMailboxProof(m.address, holder, challenge, 'fetch', bent), CryptoError, `bit flip at ${i}`);
    }
    // A key of one's own signing over this address: the key must hash to the address.
    const forged = { ...deriveMailbox(other, 20_000), address: m.address };
    refused(() => verifyMailboxProof(m.address, holder, challenge, 'fetch', signMailboxProof(forged, holder, challenge, 'fetch')));
    // Another day's key with its own valid signature does not open this day's address.
    const otherDay = deriveMailbox(secret, 20_001);
    refused(() => verifyMailboxProof(m.address, holder, challenge, 'fetch', signMailboxProof(otherDay, holder, challenge, 'fetch')));
  });

  it('refuses a small-order key even when its address matches', () => {
    const identity = Uint8Array.of(1, ...new Uint8Array(31)); // the neutral point (order 1)
    const proof = concatBytes(identity, Uint8Array.of(1, ...new Uint8Array(63)));
    assert.throws(() => verifyMailboxProof(addressOf(identity), holder, challenge, 'fetch', proof), { code: 'WEAK_KEY' });
  });

  it('refuses a holder peer ID that is empty or too long', () => {
    const m = deriveMailbox(secret, 20_000);
    assert.throws(() => signMailboxProof(m, '', challenge, 'fetch'), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => signMailboxProof(m, 'x'.repeat(129), challenge, 'fetch'), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => signMailboxProof(m, holder, challenge.subarray(1), 'fetch'), { code: 'INVALID_LENGTH' });
  });
});
