/**
 * Byte helpers: concatenation, constant-time comparison, encodings, zeroization.
 * Pure; no I/O.
 */
import { timingSafeEqual } from 'node:crypto';
import { DecodeError, ErrorCodes } from './errors.ts';

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Constant-time equality for equal lengths; different lengths compare unequal (length is public). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

export function isAllZero(a: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i] as number;
  return acc === 0;
}

export function wipe(...arrays: Uint8Array[]): void {
  for (const a of arrays) a.fill(0);
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

// ignoreBOM: a leading U+FEFF is kept, not stripped — decode(encode(s)) is s (a text or name starting
// with it changed in transit, and a hello named just U+FEFF decoded to an empty name the encoder refuses).
const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
export function fromUtf8(b: Uint8Array): string {
  try {
    return fatalDecoder.decode(b);
  } catch (cause) {
    throw new DecodeError(ErrorCodes.INVALID_ENCODING, 'invalid UTF-8', { cause });
  }
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new DecodeError(ErrorCodes.INVALID_ENCODING, `invalid hex (length ${s.length})`);
  }
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function toBase64Url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

export function fromBase64Url(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) {
    throw new DecodeError(ErrorCodes.INVALID_ENCODING, 'invalid base64url');
  }
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

// RFC 4648 §6 base32, lowercase, no padding: user IDs are typed and read aloud.
const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
export function toBase32(b: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function fromBase32(s: string): Uint8Array {
  const lower = s.toLowerCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of lower) {
    const idx = B32.indexOf(ch);
    if (idx < 0) throw new DecodeError(ErrorCodes.INVALID_ENCODING, 'invalid base32 character');
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

/** Big-endian unsigned 32-bit write/read, used by fixed-size binary formats. */
export function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0, false);
  return out;
}

export function readU32be(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, false);
}
