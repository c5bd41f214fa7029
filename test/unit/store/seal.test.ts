import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { utf8 } from '../../../src/lib/bytes.ts';
import { createSealer, SEAL_OVERHEAD, sealLabel } from '../../../src/store/seal.ts';
import { seededRng } from './helpers.ts';

const key = new Uint8Array(32).fill(9);
const ad = sealLabel('identity', 'secret', 1);

describe('seal', () => {
  it('round-trips and adds exactly the overhead', () => {
    const s = createSealer(key, seededRng());
    const pt = utf8('hello, store');
    const sealed = s.seal(pt, ad);
    assert.equal(sealed.length, pt.length + SEAL_OVERHEAD);
    assert.equal(sealed[0], 1);
    assert.deepEqual(s.open(sealed, ad), pt);
  });

  it('is XChaCha20-Poly1305 with the version byte and label as associated data', () => {
    const sealed = createSealer(key, seededRng()).seal(utf8('x'), ad);
    const nonce = sealed.subarray(1, 25);
    const ref = xchacha20poly1305(key, nonce, Uint8Array.of(1, ...ad)).decrypt(sealed.subarray(25));
    assert.deepEqual(ref, utf8('x'));
  });

  it('uses a fresh nonce per seal', () => {
    const s = createSealer(key, seededRng());
    const a = s.seal(utf8('same'), ad);
    const b = s.seal(utf8('same'), ad);
    assert.notDeepEqual(a.subarray(1, 25), b.subarray(1, 25));
  });

  it('fails with DECRYPT_FAILED under another label, another key, or any flipped bit', () => {
    const s = createSealer(key, seededRng());
    const sealed = s.seal(utf8('secret'), ad);
    assert.throws(() => s.open(sealed, sealLabel('identity', 'secret', 2)), { code: 'DECRYPT_FAILED' });
    assert.throws(() => s.open(sealed, sealLabel('identity', 'name', 1)), { code: 'DECRYPT_FAILED' });
    assert.throws(() => createSealer(new Uint8Array(32), seededRng()).open(sealed, ad), { code: 'DECRYPT_FAILED' });
    for (let i = 1; i < sealed.length; i++) {
      const bad = sealed.slice();
      bad[i] = (bad[i] as number) ^ 0x01;
      assert.throws(() => s.open(bad, ad), { code: 'DECRYPT_FAILED' }, `bit flip at byte ${i}`);
    }
  });

  it('rejects short input and unknown versions with typed errors', () => {
    const s = createSealer(key, seededRng());
    assert.throws(() => s.open(new Uint8Array(SEAL_OVERHEAD - 1), ad), { code: 'INVALID_LENGTH' });
    const sealed = s.seal(utf8('x'), ad);
    sealed[0] = 2;
    assert.throws(() => s.open(sealed, ad), { code: 'UNSUPPORTED_VERSION' });
  });

  it('requires a 32-byte key and keeps its own copy of it', () => {
    assert.throws(() => createSealer(new Uint8Array(31), seededRng()), { code: 'INVALID_LENGTH' });
    const k = key.slice();
    const s = createSealer(k, seededRng());
    const sealed = s.seal(utf8('x'), ad);
    k.fill(0);
    assert.deepEqual(s.open(sealed, ad), utf8('x'));
  });
});
