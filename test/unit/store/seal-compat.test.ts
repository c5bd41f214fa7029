/**
 * seal.ts output is plain XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) in its layout: values sealed by
 * an independent implementation (@noble/ciphers, which seal.ts used before libsodium) open, and the
 * other way round — so stores written by either open with both.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { concatBytes, utf8 } from '../../../src/lib/bytes.ts';
import { createSealer, sealLabel, SEAL_VERSION } from '../../../src/store/seal.ts';
import { seededRng } from './helpers.ts';

describe('seal compatibility', () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i * 3);
  const ad = sealLabel('messages', 'text', 'row-1');
  const header = Uint8Array.of(SEAL_VERSION);

  it('opens what an independent XChaCha20-Poly1305 sealed, and the other way round', () => {
    const sealer = createSealer(key, seededRng(3));
    for (const size of [0, 1, 63, 64, 1024, 20_000]) {
      const plain = Uint8Array.from({ length: size }, (_, i) => (i * 7) & 0xff);
      const nonce = Uint8Array.from({ length: 24 }, (_, i) => 100 + i);
      const other = concatBytes(header, nonce, xchacha20poly1305(key, nonce, concatBytes(header, ad)).encrypt(plain));
      assert.deepEqual(sealer.open(other, ad), plain);
      const ours = sealer.seal(plain, ad);
      assert.deepEqual(xchacha20poly1305(key, ours.subarray(1, 25), concatBytes(header, ad)).decrypt(ours.subarray(25)), plain);
    }
    assert.throws(() => sealer.open(sealer.seal(utf8('x'), ad), sealLabel('messages', 'text', 'row-2')), { code: 'DECRYPT_FAILED' });
  });
});
