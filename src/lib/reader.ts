/**
 * The fixed-layout binary codecs' one reader and big-endian writers (bundles, initial messages,
 * invites, app messages, batches): every read is bounds-checked and names its field, so an error says
 * where the input broke ("invite: truncated at secret"); `end()` rejects trailing bytes.
 * This module knows nothing of what it reads.
 */
import { DecodeError, ErrorCodes } from './errors.ts';

export function u16(n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 0xff, n & 0xff);
}

export function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0, false);
  return out;
}

/** Unsigned 64-bit big-endian; callers pass safe integers (timestamps in ms). */
export function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), false);
  return out;
}

export class StrictReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  /** What is being read, for error messages. */
  protected readonly what: string;
  #off = 0;

  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.what = what;
  }

  #need(n: number, field: string): void {
    if (this.#off + n > this.#bytes.length) {
      throw new DecodeError(ErrorCodes.INVALID_LENGTH, `${this.what}: truncated at ${field}`);
    }
  }

  get offset(): number {
    return this.#off;
  }

  get remaining(): number {
    return this.#bytes.length - this.#off;
  }

  u8(field: string): number {
    this.#need(1, field);
    return this.#view.getUint8(this.#off++);
  }

  u16(field: string): number {
    this.#need(2, field);
    const v = this.#view.getUint16(this.#off, false);
    this.#off += 2;
    return v;
  }

  u32(field: string): number {
    this.#need(4, field);
    const v = this.#view.getUint32(this.#off, false);
    this.#off += 4;
    return v;
  }

  u64(field: string): number {
    this.#need(8, field);
    const v = this.#view.getBigUint64(this.#off, false);
    this.#off += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new DecodeError(ErrorCodes.MALFORMED_MESSAGE, `${this.what}: ${field} out of range`);
    }
    return Number(v);
  }

  /** A copy of the next `n` bytes (callers keep it; the input buffer may be reused). */
  bytes(n: number, field: string): Uint8Array {
    this.#need(n, field);
    const out = this.#bytes.slice(this.#off, this.#off + n);
    this.#off += n;
    return out;
  }

  end(): void {
    if (this.#off !== this.#bytes.length) {
      throw new DecodeError(ErrorCodes.INVALID_LENGTH, `${this.what}: ${this.#bytes.length - this.#off} trailing bytes`);
    }
  }
}
