/**
 * systemRng (src/lib/system.ts): small draws come out of a pooled buffer of OpenSSL output, large ones
 * straight from OpenSSL. Every draw has its length, none is handed out twice or as wiped (zero) bytes,
 * across refills of the pool, and a draw is the caller's own copy (changing it changes no later draw).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toHex } from '../../src/lib/bytes.ts';
import { systemRng } from '../../src/lib/system.ts';

describe('systemRng', () => {
  it('small and large draws across several refills: right lengths, all distinct, never wiped bytes', () => {
    const seen = new Set<string>();
    const lengths = [12, 16, 32, 1, 33, 64, 31, 24];
    for (let i = 0; i < 2_000; i++) {
      const n = lengths[i % lengths.length] as number;
      const b = systemRng.bytes(n);
      assert.equal(b.length, n);
      assert.ok(b instanceof Uint8Array);
      if (n >= 12) {
        assert.ok(!b.every((x) => x === 0), `draw ${i} of ${n} bytes is all zeros`);
        const hex = toHex(b);
        assert.ok(!seen.has(hex), `draw ${i} repeated`);
        seen.add(hex);
      }
    }
  });

  it('a draw is a copy: zeroing it changes nothing drawn later', () => {
    const a = systemRng.bytes(16);
    a.fill(0);
    const b = systemRng.bytes(16);
    assert.ok(!b.every((x) => x === 0));
    assert.equal(a.buffer === b.buffer, false, 'not a view into a shared buffer');
  });
});
