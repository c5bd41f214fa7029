/**
 * X25519 wrapper: round trips, the import policy's typed errors, reproducible deterministic keys,
 * and that secrets never print. Published vectors are in test/vectors/ (RFC 7748, Wycheproof).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { sha256 } from '../../src/crypto/hash.ts';
import { generateX25519, x25519, x25519FromPrivate, x25519PublicKey, x25519Raw, X25519_KEY_LENGTH } from '../../src/crypto/x25519.ts';
import { toHex, utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { systemRng } from '../../src/lib/system.ts';
import { CryptoError, DecodeError } from '../../src/lib/errors.ts';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof Error);
    return (e as { code?: string }).code ?? e.message;
  }
  return 'ok';
}

const rngFor = (label: string) => deterministicRng(utf8(`compeer/test/x25519/${label}`), sha256);

describe('X25519 wrapper', () => {
  test('both sides agree (system randomness)', () => {
    const a = generateX25519(systemRng);
    const b = generateX25519(systemRng);
    const ab = x25519(a, x25519PublicKey(b.publicKey));
    const ba = x25519(b, x25519PublicKey(a.publicKey));
    assert.equal(ab.length, 32);
    assert.deepEqual(new Uint8Array(ab), new Uint8Array(ba));
  });

  test('deterministicRng key generation is reproducible, and differs per seed', () => {
    const k1 = generateX25519(rngFor('a'));
    const k2 = generateX25519(rngFor('a'));
    const k3 = generateX25519(rngFor('b'));
    assert.deepEqual(k1.publicKey, k2.publicKey);
    assert.deepEqual(new Uint8Array(k1.privateKey), new Uint8Array(k2.privateKey));
    assert.notDeepEqual(k1.publicKey, k3.publicKey);
    // The private key is exactly the Rng's 32 bytes (clamping happens inside X25519, RFC 7748 §5).
    assert.deepEqual(new Uint8Array(k1.privateKey), rngFor('a').bytes(32));
  });

  test('x25519FromPrivate round-trips the private key and agrees with generate', () => {
    const k = generateX25519(systemRng);
    const again = x25519FromPrivate(k.privateKey);
    assert.deepEqual(again.publicKey, k.publicKey);
    assert.deepEqual(new Uint8Array(again.privateKey), new Uint8Array(k.privateKey));
  });

  test('the policy path agrees with the raw RFC function', () => {
    const a = generateX25519(rngFor('raw-a'));
    const b = generateX25519(rngFor('raw-b'));
    assert.equal(toHex(x25519(a, x25519PublicKey(b.publicKey))), toHex(x25519Raw(a.privateKey, b.publicKey)));
  });

  test('wrong lengths are INVALID_LENGTH (DecodeError); non-bytes are INVALID_ARGUMENT', () => {
    for (const n of [0, 31, 33, 64]) {
      assert.equal(codeOf(() => x25519PublicKey(new Uint8Array(n).fill(9))), 'INVALID_LENGTH', `public ${n}`);
      assert.equal(codeOf(() => x25519FromPrivate(new Uint8Array(n).fill(9))), 'INVALID_LENGTH', `private ${n}`);
      assert.equal(codeOf(() => x25519Raw(new Uint8Array(32), new Uint8Array(n))), 'INVALID_LENGTH', `raw u ${n}`);
    }
    assert.throws(() => x25519PublicKey(new Uint8Array(31)), DecodeError);
    assert.equal(codeOf(() => x25519PublicKey([1, 2, 3] as unknown as Uint8Array)), 'INVALID_ARGUMENT');
  });

  test('non-canonical encodings are INVALID_KEY, small-order points are WEAK_KEY (CryptoError)', () => {
    const u = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
    const highBit = generateX25519(systemRng).publicKey.slice();
    highBit[31] = (highBit[31] as number) | 0x80;
    assert.equal(codeOf(() => x25519PublicKey(highBit)), 'INVALID_KEY');
    // p + 2 (= 2 mod p, a fine point if reduced; refused because it is not the canonical encoding).
    assert.equal(codeOf(() => x25519PublicKey(u('ef' + 'ff'.repeat(30) + '7f'))), 'INVALID_KEY');
    assert.equal(codeOf(() => x25519PublicKey(u('00'.repeat(32)))), 'WEAK_KEY');
    assert.equal(codeOf(() => x25519PublicKey(u('01' + '00'.repeat(31)))), 'WEAK_KEY');
    assert.equal(codeOf(() => x25519PublicKey(u('ec' + 'ff'.repeat(30) + '7f'))), 'WEAK_KEY');
    assert.throws(() => x25519PublicKey(u('00'.repeat(32))), CryptoError);
    // The largest canonical value, p - 1, is small order (on the blocklist); p - 2 is not, and is accepted.
    assert.equal(codeOf(() => x25519PublicKey(u('eb' + 'ff'.repeat(30) + '7f'))), 'ok');
  });

  test('an all-zero DH output is WEAK_KEY, also on the raw path', () => {
    const k = generateX25519(systemRng);
    assert.equal(codeOf(() => x25519Raw(k.privateKey, new Uint8Array(32))), 'WEAK_KEY');
    assert.equal(codeOf(() => x25519Raw(k.privateKey, Uint8Array.from([1, ...new Array<number>(31).fill(0)]))), 'WEAK_KEY');
  });

  test('branding copies: changing the source array later does not change the key', () => {
    const src = generateX25519(systemRng).publicKey.slice();
    const pub = x25519PublicKey(src);
    src.fill(0);
    assert.notDeepEqual(pub, src);
  });

  test('the private key and the DH output never print', () => {
    const a = generateX25519(systemRng);
    const shared = x25519(a, x25519PublicKey(generateX25519(systemRng).publicKey));
    assert.equal(inspect(a.privateKey), `[secret ${X25519_KEY_LENGTH} bytes]`);
    assert.equal(JSON.stringify(shared), '"[secret 32 bytes]"');
    assert.ok(!inspect(a, { depth: 5 }).includes(toHex(a.privateKey)));
    assert.ok(!JSON.stringify({ privateKey: a.privateKey }).includes(toHex(a.privateKey).slice(0, 8)));
  });
});
