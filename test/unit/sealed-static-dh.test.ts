import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemRng } from '../../src/lib/system.ts';
import { generateX25519, x25519 } from '../../src/crypto/x25519.ts';
import { staticDh } from '../../src/protocol/sealed/static-dh.ts';

test('static DH memo: equals X25519, per own key and peer, and hands out copies the caller may wipe', () => {
  const a = generateX25519(systemRng);
  const b = generateX25519(systemRng);
  const c = generateX25519(systemRng);
  const first = staticDh(a, b.publicKey);
  assert.deepEqual(first, new Uint8Array(x25519(a, b.publicKey)));
  first.fill(0); // a caller wiping its copy does not touch the memo
  assert.deepEqual(staticDh(a, b.publicKey), new Uint8Array(x25519(b, a.publicKey)));
  assert.deepEqual(staticDh(a, c.publicKey), new Uint8Array(x25519(a, c.publicKey)));
  assert.notDeepEqual(staticDh(a, c.publicKey), staticDh(a, b.publicKey));
  assert.deepEqual(staticDh(c, a.publicKey), staticDh(a, c.publicKey));
});
