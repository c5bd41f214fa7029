/**
 * Sealed-sender envelope: round trip, no sender (or recipient) key in clear, only the recipient opens,
 * every single-byte tamper rejected with a typed error, the sender cannot be spoofed, strict sizes, and
 * padding that hides lengths within a bucket.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { systemRng } from '../../src/lib/system.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { concatBytes, toHex, utf8 } from '../../src/lib/bytes.ts';
import { CompeerError, CryptoError, DecodeError, LimitError } from '../../src/lib/errors.ts';
import { aeadSeal } from '../../src/crypto/aead.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { hkdfSha256 } from '../../src/crypto/hkdf.ts';
import { generateX25519, x25519 } from '../../src/crypto/x25519.ts';
import { encodePublicIdentity, generateIdentity, sameIdentity, userIdOf, type PublicIdentity } from '../../src/protocol/identity.ts';
import {
  SEALED_MAX_LENGTH,
  SEALED_MIN_LENGTH,
  SEALED_OVERHEAD,
  openEnvelope,
  sealEnvelope,
} from '../../src/protocol/sealed/envelope.ts';
import { SEALED_MAX_CONTENT, isBucketSize, pad, paddedLength, unpad } from '../../src/protocol/sealed/padding.ts';
import { cachedIdentityDecoder } from '../../src/protocol/identity-cache.ts';
import { SEALED_PAD_MAX, SEALED_PAD_MIN, SEALED_VERSION } from '../../src/protocol/wire/constants.ts';

const alice = generateIdentity(systemRng);
const bob = generateIdentity(systemRng);
const mallory = generateIdentity(systemRng);

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay).indexOf(Buffer.from(needle));
}

const rejects = (fn: () => unknown, cls: typeof CompeerError, code?: string) =>
  assert.throws(fn, (e: unknown) => e instanceof cls && (code === undefined || e.code === code));

describe('sealed envelope round trip', () => {
  for (const n of [0, 1, 255, 256, 1000, 4096, SEALED_MAX_CONTENT]) {
    test(`${n} bytes`, () => {
      const content = systemRng.bytes(n);
      const env = sealEnvelope(alice, bob.public, content, systemRng);
      assert.equal(env.length, SEALED_OVERHEAD + paddedLength(n));
      assert.equal(env[0], SEALED_VERSION);
      const opened = openEnvelope(bob, env);
      assert.ok(sameIdentity(opened.sender, alice.public));
      assert.equal(userIdOf(opened.sender), userIdOf(alice.public));
      assert.deepEqual(opened.content, content);
    });
  }

  test('two envelopes of the same content differ (fresh ephemeral key)', () => {
    const c = utf8('hello');
    assert.notDeepEqual(sealEnvelope(alice, bob.public, c, systemRng), sealEnvelope(alice, bob.public, c, systemRng));
  });

  test('recorded: deterministic randomness gives the same bytes', () => {
    const a = generateIdentity(deterministicRng(utf8('compeer/vectors/sealed/alice'), sha256));
    const b = generateIdentity(deterministicRng(utf8('compeer/vectors/sealed/bob'), sha256));
    const env = sealEnvelope(a, b.public, utf8('sealed sender vector'), deterministicRng(utf8('compeer/vectors/sealed/eph'), sha256));
    assert.equal(env.length, SEALED_OVERHEAD + SEALED_PAD_MIN);
    assert.equal(toHex(sha256(env)), 'a3bb592583f51dddf50dd286086eb375931e95596cd3d6ce02fb8cfdfaf8b60f');
    assert.deepEqual(openEnvelope(b, env).content, utf8('sealed sender vector'));
  });
});

describe('sealed envelope hides identities', () => {
  test('neither sender key, binding, encoding nor user ID appears anywhere; nor the recipient keys', () => {
    for (const n of [0, 300]) {
      const env = sealEnvelope(alice, bob.public, new Uint8Array(n), systemRng);
      const secrets: [string, Uint8Array][] = [
        ['sender signing key', alice.public.signingKey],
        ['sender DH key', alice.public.dhKey],
        ['sender binding', alice.public.binding],
        ['sender encoding', encodePublicIdentity(alice.public)],
        ['recipient signing key', bob.public.signingKey],
        ['recipient DH key', bob.public.dhKey],
      ];
      for (const [what, key] of secrets) {
        assert.equal(indexOf(env, key), -1, what);
        // no 8-byte window of it either
        for (let i = 0; i + 8 <= key.length; i++) assert.equal(indexOf(env, key.subarray(i, i + 8)), -1, `${what}[${i}..]`);
      }
    }
  });

  test('a different recipient cannot open it (and learns nothing of the sender)', () => {
    const env = sealEnvelope(alice, bob.public, utf8('for bob'), systemRng);
    rejects(() => openEnvelope(mallory, env), CryptoError, 'DECRYPT_FAILED');
    rejects(() => openEnvelope(alice, env), CryptoError, 'DECRYPT_FAILED');
  });
});

describe('sealed envelope integrity', () => {
  test('every single-byte tamper is rejected with a typed error', () => {
    const env = sealEnvelope(alice, bob.public, utf8('tamper me'), systemRng);
    const decode = cachedIdentityDecoder(); // the valid sender is verified once, not 900 times
    assert.deepEqual(openEnvelope(bob, env, decode).content, utf8('tamper me'));
    for (let i = 0; i < env.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const bad = Uint8Array.from(env);
        bad[i] = (bad[i] as number) ^ mask;
        assert.throws(() => openEnvelope(bob, bad, decode), CompeerError, `byte ${i} ^ ${mask}`);
      }
    }
  });

  test('sizes: oversized, truncated, extended and non-bucket lengths are rejected before any crypto', () => {
    const env = sealEnvelope(alice, bob.public, utf8('x'), systemRng);
    rejects(() => openEnvelope(bob, new Uint8Array(SEALED_MAX_LENGTH + 1)), LimitError, 'LIMIT_EXCEEDED');
    rejects(() => openEnvelope(bob, new Uint8Array(10_000_000)), LimitError, 'LIMIT_EXCEEDED');
    for (const cut of [0, 1, 33, SEALED_OVERHEAD, SEALED_MIN_LENGTH - 1]) {
      rejects(() => openEnvelope(bob, env.subarray(0, cut)), DecodeError, 'INVALID_LENGTH');
    }
    rejects(() => openEnvelope(bob, concatBytes(env, new Uint8Array(1))), DecodeError, 'INVALID_LENGTH');
    rejects(() => openEnvelope(bob, concatBytes(env, new Uint8Array(100))), DecodeError, 'INVALID_LENGTH');
    // Grown to the next bucket: the right size, but authentication fails.
    rejects(() => openEnvelope(bob, concatBytes(env, new Uint8Array(SEALED_PAD_MIN))), CryptoError, 'DECRYPT_FAILED');
    const v2 = Uint8Array.from(env);
    v2[0] = 0x02;
    rejects(() => openEnvelope(bob, v2), DecodeError, 'UNSUPPORTED_VERSION');
    rejects(() => sealEnvelope(alice, bob.public, new Uint8Array(SEALED_MAX_CONTENT + 1), systemRng), LimitError, 'LIMIT_EXCEEDED');
  });
});

/**
 * An attacker's toolkit following docs/protocol.md "Sealed sender" with an ephemeral key she controls: she can
 * build any sender block, but the content key needs DH(IK_sender, IK_recipient).
 */
function forge(attacker: typeof mallory, claimed: PublicIdentity, recipient: PublicIdentity, content: Uint8Array): Uint8Array {
  const eph = generateX25519(systemRng);
  const header = concatBytes(Uint8Array.of(SEALED_VERSION), eph.publicKey);
  const ad1 = concatBytes(header, recipient.signingKey, recipient.dhKey);
  const okm1 = hkdfSha256(x25519(eph, recipient.dhKey), undefined, concatBytes(utf8('compeer/sealed/v1/ephemeral'), ad1), 76);
  const c1 = aeadSeal(okm1.subarray(32, 64), okm1.subarray(64, 76), encodePublicIdentity(claimed), ad1);
  const ad2 = concatBytes(ad1, claimed.signingKey, claimed.dhKey, c1);
  // Her best guess at the static DH: her own key with the recipient's.
  const okm2 = hkdfSha256(x25519(attacker.dh, recipient.dhKey), okm1.subarray(0, 32), concatBytes(utf8('compeer/sealed/v1/static'), ad2), 44);
  const c2 = aeadSeal(okm2.subarray(0, 32), okm2.subarray(32, 44), pad(content), ad2);
  return concatBytes(header, c1, c2);
}

describe('sealed envelope sender authentication', () => {
  test('the toolkit is faithful: claiming her own identity opens as Mallory', () => {
    const env = forge(mallory, mallory.public, bob.public, utf8('hi'));
    const opened = openEnvelope(bob, env);
    assert.ok(sameIdentity(opened.sender, mallory.public));
  });

  test('Mallory cannot produce an envelope that opens as from Alice', () => {
    const env = forge(mallory, alice.public, bob.public, utf8('I am Alice'));
    rejects(() => openEnvelope(bob, env), CryptoError, 'DECRYPT_FAILED');
  });

  test('replacing the sender block of a real envelope fails (both directions)', () => {
    const fromAlice = sealEnvelope(alice, bob.public, utf8('real'), systemRng);
    const fromMallory = sealEnvelope(mallory, bob.public, utf8('fake'), systemRng);
    const split = 1 + 32 + 145;
    // Mallory's header and sender block + Alice's content block: would claim Mallory sent Alice's text.
    rejects(() => openEnvelope(bob, concatBytes(fromMallory.subarray(0, split), fromAlice.subarray(split))), CryptoError, 'DECRYPT_FAILED');
    // Alice's header and sender block + Mallory's content block: would claim Alice sent Mallory's text.
    rejects(() => openEnvelope(bob, concatBytes(fromAlice.subarray(0, split), fromMallory.subarray(split))), CryptoError, 'DECRYPT_FAILED');
  });
});

describe('padding', () => {
  test('lengths within a bucket are indistinguishable; buckets double', () => {
    const lengths = new Set([0, 1, 100, 255].map((n) => sealEnvelope(alice, bob.public, new Uint8Array(n), systemRng).length));
    assert.deepEqual([...lengths], [SEALED_OVERHEAD + 256]);
    assert.equal(paddedLength(256), 512);
    assert.equal(paddedLength(511), 512);
    assert.equal(paddedLength(512), 1024);
    assert.equal(paddedLength(SEALED_MAX_CONTENT), SEALED_PAD_MAX);
    rejects(() => paddedLength(SEALED_MAX_CONTENT + 1), LimitError, 'LIMIT_EXCEEDED');
  });

  test('unpad is strict', () => {
    const p = pad(utf8('abc'));
    assert.deepEqual(unpad(p), utf8('abc'));
    rejects(() => unpad(p.subarray(0, 255)), DecodeError, 'INVALID_LENGTH');
    rejects(() => unpad(new Uint8Array(256)), DecodeError, 'MALFORMED_MESSAGE'); // no marker
    const junk = Uint8Array.from(p);
    junk[200] = 1; // non-zero after the marker
    rejects(() => unpad(junk), DecodeError, 'MALFORMED_MESSAGE');
    const over = new Uint8Array(512);
    over.set(p.subarray(0, 4)); // 3 bytes + marker in a 512 bucket: over-padded
    rejects(() => unpad(over), DecodeError, 'MALFORMED_MESSAGE');
  });

  test('unpad answers as the whole-buffer scan it replaced: results and refusals, any alignment', () => {
    // The reference: the forward scan of every byte that unpad used before the word-wise scan from the end.
    const reference = (padded: Uint8Array): Uint8Array | string => {
      if (!isBucketSize(padded.length)) return 'INVALID_LENGTH';
      let last = -1;
      for (let i = 0; i < padded.length; i++) if (padded[i] !== 0) last = i;
      if (last < 0 || padded[last] !== 0x80 || paddedLength(last) !== padded.length) return 'MALFORMED_MESSAGE';
      return padded.slice(0, last);
    };
    const actual = (padded: Uint8Array): Uint8Array | string => {
      try {
        return unpad(padded);
      } catch (e) {
        assert.ok(e instanceof DecodeError);
        return e.code;
      }
    };
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const cases: Uint8Array[] = [];
    for (const size of [256, 512, 4096, SEALED_PAD_MAX]) {
      for (const len of [0, 1, 3, 4, 5, size / 2 - 2, size / 2 - 1, size / 2, size - 5, size - 4, size - 2, size - 1]) {
        if (len < 0 || len > size - 1) continue;
        const content = new Uint8Array(len);
        for (let i = 0; i < len; i++) content[i] = next(4) === 0 ? 0 : next(256); // zeros and 0x80s inside too
        const good = new Uint8Array(size);
        good.set(content);
        good[len] = 0x80;
        cases.push(good);
        // A stray byte at each offset of the words after the marker, and in the last word.
        for (const at of [len + 1, len + 2, len + 3, len + 4, len + 5, size - 4, size - 3, size - 2, size - 1]) {
          if (at <= len || at >= size) continue;
          const junk = Uint8Array.from(good);
          junk[at] = 1 + next(255);
          cases.push(junk);
        }
        const noMarker = Uint8Array.from(good);
        noMarker[len] = 0x40;
        cases.push(noMarker);
      }
      cases.push(new Uint8Array(size));
    }
    cases.push(new Uint8Array(255), new Uint8Array(300), new Uint8Array(SEALED_PAD_MAX * 2));
    for (const c of cases) {
      for (const offset of [0, 1, 2, 3, 4]) {
        // The same bytes at each byte offset into a larger buffer (the word-wise scan needs alignment).
        const host = new Uint8Array(c.length + 8).fill(0xff);
        host.set(c, offset);
        const view = host.subarray(offset, offset + c.length);
        const want = reference(view);
        assert.deepEqual(actual(view), want, `${c.length} bytes at offset ${offset}`);
      }
    }
  });
});

describe('sender cache', () => {
  test('memoizes successful decodes by exact bytes, bounded, never caches failures', () => {
    const decode = cachedIdentityDecoder(2);
    const ea = encodePublicIdentity(alice.public);
    const first = decode(ea);
    assert.equal(decode(Uint8Array.from(ea)), first, 'same object for the same bytes');
    const bad = Uint8Array.from(ea);
    bad[100] = (bad[100] as number) ^ 1; // binding signature broken
    assert.throws(() => decode(bad), CryptoError);
    assert.throws(() => decode(bad), CryptoError, 'still rejected: failures are not cached');
    decode(encodePublicIdentity(bob.public));
    decode(encodePublicIdentity(mallory.public)); // evicts alice (limit 2)
    assert.notEqual(decode(ea), first);
  });

  test('opening with the cache gives the same result', () => {
    const decode = cachedIdentityDecoder();
    for (let i = 0; i < 3; i++) {
      const env = sealEnvelope(alice, bob.public, utf8(`m${i}`), systemRng);
      const opened = openEnvelope(bob, env, decode);
      assert.ok(sameIdentity(opened.sender, alice.public));
      assert.deepEqual(opened.content, utf8(`m${i}`));
    }
  });
});
