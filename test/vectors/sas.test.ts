/**
 * SAS recorded vector (test/vectors/sas-compeer.json): fixed identities, transcript hash and nonces through
 * the full three-message exchange; every message and the rendered SAS must be unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../src/lib/bytes.ts';
import type { Rng } from '../../src/lib/deps.ts';
import { decodePublicIdentity } from '../../src/protocol/identity.ts';
import { SasVerification, sasCommitment } from '../../src/protocol/verify/sas.ts';

interface SasVector {
  initiatorIdentity: string;
  responderIdentity: string;
  transcriptHash: string;
  nonceA: string;
  nonceB: string;
  commitment: string;
  commitMessage: string;
  nonceMessage: string;
  revealMessage: string;
  sasBytes: string;
  emoji: string[];
  decimal: number[];
}

const v = JSON.parse(readFileSync(new URL('./sas-compeer.json', import.meta.url), 'utf8')) as SasVector;
const onceRng = (hex: string): Rng => {
  let used = false;
  return {
    system: false,
    bytes(n) {
      assert.equal(used, false, 'one draw only');
      used = true;
      const b = fromHex(hex);
      assert.equal(b.length, n);
      return b;
    },
  };
};

test('SAS recorded vector', () => {
  const a = decodePublicIdentity(fromHex(v.initiatorIdentity));
  const b = decodePublicIdentity(fromHex(v.responderIdentity));
  const th = fromHex(v.transcriptHash);
  assert.equal(toHex(sasCommitment(fromHex(v.nonceA), th, a)), v.commitment);

  const A = SasVerification.initiate({ self: a, peer: b, transcriptHash: th }, onceRng(v.nonceA));
  const B = SasVerification.respond({ self: b, peer: a, transcriptHash: th }, onceRng(v.nonceB));
  assert.equal(toHex(A.message), v.commitMessage);
  const nonce = B.receive(A.message);
  assert.ok(nonce);
  assert.equal(toHex(nonce), v.nonceMessage);
  const reveal = A.verification.receive(nonce);
  assert.ok(reveal);
  assert.equal(toHex(reveal), v.revealMessage);
  B.receive(reveal);

  for (const side of [A.verification, B]) {
    const r = side.result;
    assert.ok(r);
    assert.equal(toHex(r.bytes), v.sasBytes);
    assert.deepEqual(r.emoji.map((e) => `${e.emoji} ${e.name}`), v.emoji);
    assert.deepEqual([...r.decimal], v.decimal);
  }
});
