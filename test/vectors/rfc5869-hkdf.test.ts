/**
 * RFC 5869 Appendix A test cases 1–3 (the SHA-256 ones), typed in from the RFC text
 * (https://www.rfc-editor.org/rfc/rfc5869#appendix-A). PRK is checked through hmacSha256, since
 * HKDF-Extract is HMAC-Hash(salt, IKM) (§2.2), and OKM through hkdfSha256 and, from the RFC's PRK,
 * through hkdfSha256Expand (§2.3 alone).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../../src/lib/bytes.ts';
import { hkdfSha256, hkdfSha256Expand } from '../../src/crypto/hkdf.ts';
import { hmacSha256 } from '../../src/crypto/hash.ts';
import { hex } from './_data.ts';

function range(from: number, to: number): string {
  let s = '';
  for (let i = from; i <= to; i++) s += i.toString(16).padStart(2, '0');
  return s;
}

const cases = [
  {
    name: 'A.1 basic test case',
    ikm: '0b'.repeat(22),
    salt: range(0x00, 0x0c),
    info: range(0xf0, 0xf9),
    length: 42,
    prk: '077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5',
    okm: '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
  },
  {
    name: 'A.2 longer inputs and outputs',
    ikm: range(0x00, 0x4f),
    salt: range(0x60, 0xaf),
    info: range(0xb0, 0xff),
    length: 82,
    prk: '06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244',
    okm:
      'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09' +
      'da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87',
  },
  {
    name: 'A.3 zero-length salt and info',
    ikm: '0b'.repeat(22),
    salt: '',
    info: '',
    length: 42,
    prk: '19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04',
    okm: '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
  },
];

describe('RFC 5869 Appendix A (HKDF-SHA256)', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(toHex(hmacSha256(hex(c.salt), hex(c.ikm))), c.prk);
      assert.equal(toHex(hkdfSha256(hex(c.ikm), hex(c.salt), hex(c.info), c.length)), c.okm);
      assert.equal(toHex(hkdfSha256Expand(hex(c.prk), hex(c.info), c.length)), c.okm);
    });
  }

  test('A.3: an absent salt equals the empty salt and HashLen zero bytes (§2.2)', () => {
    const c = cases[2];
    assert.ok(c);
    assert.equal(toHex(hkdfSha256(hex(c.ikm), undefined, new Uint8Array(0), c.length)), c.okm);
    assert.equal(toHex(hkdfSha256(hex(c.ikm), new Uint8Array(32), new Uint8Array(0), c.length)), c.okm);
  });
});
