/**
 * secretBytes: the bytes stay usable as a Uint8Array, but no printing path shows them
 * (util.inspect / console.log, JSON.stringify, String(), template strings, nested in objects).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { format, inspect } from 'node:util';
import { secretBytes } from '../../src/crypto/secret.ts';
import { toHex } from '../../src/lib/bytes.ts';

const HEX = '0123456789abcdeffedcba9876543210';

function fresh() {
  return secretBytes(Uint8Array.from(Buffer.from(HEX, 'hex')));
}

function assertHidden(printed: string): void {
  assert.ok(!printed.includes(HEX), printed);
  // Neither the hex nor the decimal listing that inspect would give a plain Uint8Array.
  assert.ok(!printed.includes('1, 35, 69'), printed);
  assert.ok(!/\b(254|220|186)\b/.test(printed), printed);
}

describe('secretBytes', () => {
  test('content and type are unchanged (branded in place, no copy)', () => {
    const raw = Uint8Array.from(Buffer.from(HEX, 'hex'));
    const s = secretBytes(raw);
    assert.equal(s, raw);
    assert.ok(s instanceof Uint8Array);
    assert.equal(toHex(s), HEX);
    assert.equal(s.length, 16);
  });

  test('util.inspect and console-style formatting show only the length', () => {
    assert.equal(inspect(fresh()), '[secret 16 bytes]');
    assertHidden(inspect({ nested: { key: fresh() } }, { depth: 10 }));
    assertHidden(format('%o %O %s', fresh(), fresh(), fresh()));
    assertHidden(inspect([fresh()]));
  });

  test('JSON.stringify shows only the length, also nested', () => {
    assert.equal(JSON.stringify(fresh()), '"[secret 16 bytes]"');
    assertHidden(JSON.stringify({ a: [fresh()], b: { c: fresh() } }));
  });

  test('String() and template strings show only the length', () => {
    const s = fresh();
    assert.equal(String(s), '[secret 16 bytes]');
    assert.equal(`${s}`, '[secret 16 bytes]');
    assert.equal('' + s, '[secret 16 bytes]');
  });

  test('adds no enumerable properties (spreads, Object.keys and equality are unaffected)', () => {
    const s = fresh();
    assert.deepEqual(Object.keys(s), Object.keys(Uint8Array.from(s)));
    assert.deepEqual(new Uint8Array(s), Uint8Array.from(Buffer.from(HEX, 'hex')));
  });

  test('a Buffer can be branded too (its own toString/toJSON are shadowed)', () => {
    const b = secretBytes(Buffer.from(HEX, 'hex'));
    assert.equal(String(b), '[secret 16 bytes]');
    assert.equal(JSON.stringify(b), '"[secret 16 bytes]"');
    assert.equal(inspect(b), '[secret 16 bytes]');
  });
});
