/**
 * Primitives: why each src/crypto/ wrapper uses the implementation it does (docs/crypto-primitives.md).
 * Each case measures our wrapper (ours) against one alternative implementation of the same operation
 * on the same inputs (baseline), so a ratio > 1 means the wrapper's choice is the faster one there.
 *
 *   npm run bench -- primitives [--runs 3 --budget 500] [--case ChaCha]
 *
 * Alternatives: node:crypto (OpenSSL 3.5, native, per-call overhead), @noble/* (pure JS),
 * libsodium-wrappers (WebAssembly). Private-key operations stay in OpenSSL whatever the numbers say
 * (pure JS is not constant time); the noble rows for them are there to show what that costs.
 */
import { createCipheriv, createDecipheriv, createHmac, createPublicKey, diffieHellman, hkdfSync, verify as nodeVerify } from 'node:crypto';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519 as nobleEd25519, x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import sodium from 'libsodium-wrappers';
import { aeadOpen, aeadSeal } from '../../src/crypto/aead.ts';
import { ed25519PublicKey, ed25519Sign, ed25519Verify, generateEd25519 } from '../../src/crypto/ed25519.ts';
import { hmacSha256 } from '../../src/crypto/hash.ts';
import { hkdfSha256 } from '../../src/crypto/hkdf.ts';
import { generateMlKem768, mlKem768Decapsulate, mlKem768Encapsulate, mlKem768PublicKey } from '../../src/crypto/mlkem768.ts';
import { generateX25519, x25519, x25519PublicKey } from '../../src/crypto/x25519.ts';
import { toBase64Url } from '../../src/lib/bytes.ts';
import { systemRng } from '../../src/lib/system.ts';
import { defineSuite, megabytesPerSecond, opsPerSecond, type Case, type Prepared } from '../harness.ts';

await sodium.ready;

const KiB = 1024;
const MiB = 1024 * 1024;
const key = systemRng.bytes(32);
const nonce = systemRng.bytes(12);
const ad = systemRng.bytes(64);

function nodeSealOpen(pt: Uint8Array): void {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  c.setAAD(ad, { plaintextLength: pt.length });
  const ct = Buffer.concat([c.update(pt), c.final()]);
  const tag = c.getAuthTag();
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  d.setAAD(ad, { plaintextLength: ct.length });
  d.setAuthTag(tag);
  Buffer.concat([d.update(ct), d.final()]);
}

function nobleSealOpen(pt: Uint8Array): void {
  const sealed = chacha20poly1305(key, nonce, ad).encrypt(pt);
  chacha20poly1305(key, nonce, ad).decrypt(sealed);
}

function oursSealOpen(pt: Uint8Array): void {
  aeadOpen(key, nonce, aeadSeal(key, nonce, pt, ad), ad);
}

function aeadCase(size: number, label: string, baselineName: string, baseline: (pt: Uint8Array) => void): Case {
  const bytes = size >= MiB;
  return {
    name: `ChaCha20-Poly1305 enc+dec ${label}`,
    unit: bytes ? 'MB/s' : 'ops/s',
    better: 'higher',
    baselineName,
    prepare(): Prepared {
      const pt = systemRng.bytes(size);
      const sample = (op: (p: Uint8Array) => void) => (bytes ? megabytesPerSecond(() => op(pt), size) : opsPerSecond(() => op(pt)));
      return { ours: sample(oursSealOpen), baseline: sample(baseline) };
    },
  };
}

const cases: Case[] = [
  aeadCase(KiB, '1 KiB', 'node:crypto', nodeSealOpen),
  aeadCase(KiB, '1 KiB', '@noble/ciphers', nobleSealOpen),
  aeadCase(MiB, '1 MiB', 'node:crypto', nodeSealOpen),
  aeadCase(MiB, '1 MiB', '@noble/ciphers', nobleSealOpen),
  {
    name: 'HMAC-SHA256 32 B',
    unit: 'ops/s',
    better: 'higher',
    baselineName: 'node:crypto',
    prepare(): Prepared {
      const k = systemRng.bytes(32);
      const m = systemRng.bytes(32);
      return {
        ours: opsPerSecond(() => hmacSha256(k, m), 16),
        baseline: opsPerSecond(() => createHmac('sha256', k).update(m).digest(), 16),
      };
    },
  },
  {
    name: 'HKDF-SHA256 32 B -> 64 B',
    unit: 'ops/s',
    better: 'higher',
    baselineName: 'node:crypto hkdfSync',
    prepare(): Prepared {
      const ikm = systemRng.bytes(32);
      const salt = systemRng.bytes(32);
      const info = systemRng.bytes(16);
      return {
        ours: opsPerSecond(() => hkdfSha256(ikm, salt, info, 64), 8),
        baseline: opsPerSecond(() => hkdfSync('sha256', ikm, salt, info, 64), 8),
      };
    },
  },
  {
    name: 'X25519 DH, same peer key (cached key objects)',
    unit: 'ops/s',
    better: 'higher',
    baselineName: 'node:crypto, peer key imported per call',
    prepare(): Prepared {
      const ours = generateX25519(systemRng);
      const theirs = x25519PublicKey(generateX25519(systemRng).publicKey);
      const jwkX = toBase64Url(theirs);
      return {
        ours: opsPerSecond(() => x25519(ours, theirs)),
        baseline: opsPerSecond(() =>
          diffieHellman({ privateKey: ours.handle, publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: jwkX }, format: 'jwk' }) }),
        ),
      };
    },
  },
  {
    name: 'X25519 DH, new peer key each time (validate + import + DH)',
    unit: 'ops/s',
    better: 'higher',
    baselineName: '@noble/curves (pure JS)',
    prepare(): Prepared {
      const ours = generateX25519(systemRng);
      const peers = Array.from({ length: 64 }, () => generateX25519(systemRng).publicKey);
      let i = 0;
      return {
        // A fresh branded copy each call, so nothing is cached: what one DH ratchet step costs.
        ours: opsPerSecond(() => x25519(ours, x25519PublicKey(peers[i++ & 63] ?? peers[0] ?? new Uint8Array(32)))),
        baseline: opsPerSecond(() => nobleX25519.getSharedSecret(ours.privateKey, peers[i++ & 63] ?? new Uint8Array(32))),
      };
    },
  },
  {
    name: 'Ed25519 sign 100 B',
    unit: 'ops/s',
    better: 'higher',
    baselineName: '@noble/curves (pure JS)',
    prepare(): Prepared {
      const k = generateEd25519(systemRng);
      const m = systemRng.bytes(100);
      return { ours: opsPerSecond(() => ed25519Sign(k, m)), baseline: opsPerSecond(() => nobleEd25519.sign(m, k.seed)) };
    },
  },
  {
    name: 'Ed25519 verify 100 B (key already validated)',
    unit: 'ops/s',
    better: 'higher',
    baselineName: '@noble/curves (pure JS)',
    prepare(): Prepared {
      const k = generateEd25519(systemRng);
      const pub = ed25519PublicKey(k.publicKey);
      // More distinct signatures than ed25519.ts's memo of verified signatures holds, cycled, so every
      // verification is a real one (the memo's hits would measure a lookup, not Ed25519).
      const signed = Array.from({ length: 6000 }, () => {
        const m = systemRng.bytes(100);
        return { m, sig: ed25519Sign(k, m) };
      });
      let i = 0;
      const next = () => signed[i++ % signed.length] as { m: Uint8Array; sig: Uint8Array };
      return {
        ours: opsPerSecond(() => {
          const { m, sig } = next();
          return ed25519Verify(pub, m, sig);
        }),
        baseline: opsPerSecond(() => {
          const { m, sig } = next();
          return nobleEd25519.verify(sig, m, k.publicKey);
        }),
      };
    },
  },
  {
    name: 'Ed25519 import + verify (our prime-order check)',
    unit: 'ops/s',
    better: 'higher',
    baselineName: 'node:crypto import + verify, no check',
    prepare(): Prepared {
      // Distinct keys and signatures, more than the verification memo holds: every call is real work.
      const signed = Array.from({ length: 6000 }, () => {
        const k = generateEd25519(systemRng);
        const m = systemRng.bytes(100);
        return { pub: Uint8Array.from(k.publicKey), jwkX: toBase64Url(k.publicKey), m, sig: ed25519Sign(k, m) };
      });
      let i = 0;
      const next = () => signed[i++ % signed.length] as (typeof signed)[number];
      return {
        ours: opsPerSecond(() => {
          const { pub, m, sig } = next();
          return ed25519Verify(ed25519PublicKey(pub), m, sig);
        }),
        baseline: opsPerSecond(() => {
          const { jwkX, m, sig } = next();
          return nodeVerify(null, m, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwkX }, format: 'jwk' }), sig);
        }),
      };
    },
  },
  {
    name: 'ML-KEM-768 keygen',
    unit: 'ops/s',
    better: 'higher',
    baselineName: '@noble/post-quantum (pure JS)',
    prepare(): Prepared {
      return { ours: opsPerSecond(() => generateMlKem768(systemRng)), baseline: opsPerSecond(() => ml_kem768.keygen()) };
    },
  },
  {
    name: 'ML-KEM-768 encaps (validated key)',
    unit: 'ops/s',
    better: 'higher',
    baselineName: '@noble/post-quantum (pure JS)',
    prepare(): Prepared {
      const k = generateMlKem768(systemRng);
      const pub = mlKem768PublicKey(k.publicKey);
      return { ours: opsPerSecond(() => mlKem768Encapsulate(pub, systemRng)), baseline: opsPerSecond(() => ml_kem768.encapsulate(k.publicKey)) };
    },
  },
  {
    name: 'ML-KEM-768 decaps',
    unit: 'ops/s',
    better: 'higher',
    baselineName: '@noble/post-quantum (pure JS)',
    prepare(): Prepared {
      const k = generateMlKem768(systemRng);
      const { ciphertext } = mlKem768Encapsulate(mlKem768PublicKey(k.publicKey), systemRng);
      const dk = ml_kem768.keygen(k.seed).secretKey;
      return { ours: opsPerSecond(() => mlKem768Decapsulate(k, ciphertext)), baseline: opsPerSecond(() => ml_kem768.decapsulate(ciphertext, dk)) };
    },
  },
];

export default defineSuite({
  description: 'each crypto wrapper vs an alternative implementation (AEAD, HMAC, HKDF, X25519, Ed25519, ML-KEM)',
  cases,
});
