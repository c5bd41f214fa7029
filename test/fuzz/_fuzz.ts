/**
 * Shared by the fuzz tests (test/fuzz/*.test.ts): run counts, arbitrary inputs, mutations of valid
 * encodings, and the one rule every parser is held to — it returns a value or throws a CompeerError
 * subclass (DecodeError, CryptoError, ProtocolError, LimitError, …), never a TypeError, RangeError or
 * plain Error.
 *
 * Mutations are position-agnostic on purpose: a bit flip, a truncation, appended bytes, a copied or
 * removed segment, random bytes over a segment, and big-endian integers (1, 2, 4 or 8 bytes) written
 * anywhere — 0, 1, the width's maximum, or the value already there ±1 — so every length field of every
 * format meets 0, max and max+1 without this file knowing the layouts.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CompeerError } from '../../src/lib/errors.ts';

/** FUZZ_RUNS=10 runs every target ten times as long (default 1). */
const FACTOR = (() => {
  const raw = process.env.FUZZ_RUNS;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`FUZZ_RUNS: expected a positive number, got ${raw}`);
  return n;
})();

export function runs(n: number): number {
  return Math.max(1, Math.round(n * FACTOR));
}

/** fast-check parameters for one target (the seed is printed by fast-check on failure). */
export function params(n: number): fc.Parameters<unknown> {
  return { numRuns: runs(n) };
}

/**
 * The error a call threw, checked: a CompeerError subclass. A bare CompeerError is refused too: bare
 * ones are for a caller's mistake (INVALID_ARGUMENT) or our own (INTERNAL), never for bad input bytes.
 */
export function assertTyped(e: unknown, what: string): CompeerError {
  if (!(e instanceof CompeerError)) {
    const detail = e instanceof Error ? `${e.constructor.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
    assert.fail(`${what}: threw a non-CompeerError ${detail}`);
  }
  if (e.constructor === CompeerError) {
    assert.fail(`${what}: threw a bare CompeerError (${e.code}: ${e.message}), not a subclass`);
  }
  return e;
}

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: CompeerError };

/** Runs `fn`: its value, or the typed error it threw (anything else fails the test). */
export function attempt<T>(what: string, fn: () => T): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    return { ok: false, error: assertTyped(e, what) };
  }
}

export async function attemptAsync<T>(what: string, fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, error: assertTyped(e, what) };
  }
}

/** `fn` must throw a typed error: for authenticated formats, where no mutation may be accepted. */
export function assertRejected(what: string, fn: () => unknown): CompeerError {
  const r = attempt(what, fn);
  if (r.ok) assert.fail(`${what}: a mutated input was accepted`);
  return r.error;
}

/** Random bytes: empty and short inputs often, some up to `max`. */
export function bytesArb(max = 512): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
    { weight: 4, arbitrary: fc.uint8Array({ maxLength: 16 }) },
    { weight: 4, arbitrary: fc.uint8Array({ maxLength: max }) },
  );
}

/** Random bytes that start with `prefix` (a version byte or tag), so the fuzz gets past the first check. */
export function prefixedArb(prefix: Uint8Array, max = 512): fc.Arbitrary<Uint8Array> {
  return bytesArb(max).map((b) => {
    const out = new Uint8Array(prefix.length + b.length);
    out.set(prefix, 0);
    out.set(b, prefix.length);
    return out;
  });
}

export type Mutation =
  | { readonly kind: 'flip'; readonly pos: number; readonly bit: number }
  | { readonly kind: 'truncate'; readonly pos: number }
  | { readonly kind: 'append'; readonly bytes: Uint8Array }
  | { readonly kind: 'remove'; readonly pos: number; readonly len: number }
  | { readonly kind: 'duplicate'; readonly pos: number; readonly len: number; readonly to: number }
  | { readonly kind: 'randomize'; readonly pos: number; readonly bytes: Uint8Array }
  | { readonly kind: 'int'; readonly pos: number; readonly width: 1 | 2 | 4 | 8; readonly value: 'zero' | 'one' | 'max' | 'inc' | 'dec' | number };

const pos = fc.nat({ max: 0x7fffffff });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), pos, bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), pos }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('remove' as const), pos, len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), pos, len: fc.integer({ min: 1, max: 64 }), to: pos }),
  fc.record({ kind: fc.constant('randomize' as const), pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.record({
    kind: fc.constant('int' as const),
    pos,
    width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
    value: fc.oneof(fc.constantFrom('zero' as const, 'one' as const, 'max' as const, 'inc' as const, 'dec' as const), fc.nat()),
  }),
);

/** One to three mutations in a row. */
export const mutationsArb: fc.Arbitrary<Mutation[]> = fc.array(mutationArb, { minLength: 1, maxLength: 3 });

function writeInt(out: Uint8Array, at: number, width: number, value: Mutation & { kind: 'int' }): void {
  const w = Math.min(width, out.length - at);
  if (w <= 0) return;
  let current = 0n;
  for (let i = 0; i < w; i++) current = (current << 8n) | BigInt(out[at + i] as number);
  const max = (1n << BigInt(8 * w)) - 1n;
  const v = value.value;
  let n: bigint;
  if (v === 'zero') n = 0n;
  else if (v === 'one') n = 1n;
  else if (v === 'max') n = max;
  else if (v === 'inc') n = (current + 1n) & max;
  else if (v === 'dec') n = (current - 1n) & max;
  else n = BigInt(v) & max;
  for (let i = w - 1; i >= 0; i--) {
    out[at + i] = Number(n & 0xffn);
    n >>= 8n;
  }
}

/** A mutated copy of `input` (the input is never modified). */
export function mutate(input: Uint8Array, m: Mutation): Uint8Array {
  const len = input.length;
  const at = (p: number): number => (len === 0 ? 0 : p % len);
  switch (m.kind) {
    case 'flip': {
      const out = input.slice();
      if (len > 0) out[at(m.pos)] = (out[at(m.pos)] as number) ^ (1 << m.bit);
      return out;
    }
    case 'truncate':
      return input.slice(0, at(m.pos));
    case 'append': {
      const out = new Uint8Array(len + m.bytes.length);
      out.set(input, 0);
      out.set(m.bytes, len);
      return out;
    }
    case 'remove': {
      const from = at(m.pos);
      const to = Math.min(len, from + m.len);
      const out = new Uint8Array(len - (to - from));
      out.set(input.subarray(0, from), 0);
      out.set(input.subarray(to), from);
      return out;
    }
    case 'duplicate': {
      const from = at(m.pos);
      const seg = input.subarray(from, Math.min(len, from + m.len));
      const into = len === 0 ? 0 : m.to % (len + 1);
      const out = new Uint8Array(len + seg.length);
      out.set(input.subarray(0, into), 0);
      out.set(seg, into);
      out.set(input.subarray(into), into + seg.length);
      return out;
    }
    case 'randomize': {
      const out = input.slice();
      const from = at(m.pos);
      out.set(m.bytes.subarray(0, Math.max(0, len - from)), from);
      return out;
    }
    case 'int': {
      const out = input.slice();
      writeInt(out, at(m.pos), m.width, m);
      return out;
    }
  }
}

export function mutateAll(input: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  return ms.reduce((b, m) => mutate(b, m), input);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

/** Hex, shortened, for assertion messages. */
export function hex(b: Uint8Array, max = 96): string {
  const h = Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
  return h.length > max * 2 ? `${h.slice(0, max * 2)}… (${b.length} bytes)` : h;
}

export interface Codec<T> {
  readonly name: string;
  readonly decode: (b: Uint8Array) => T;
  /** When given: a decoded value re-encodes to exactly the bytes it came from (canonical formats). */
  readonly encode?: ((v: T) => Uint8Array) | undefined;
}

/** Decodes `b`: a typed error, or a value that (canonical formats) re-encodes to `b`. */
export function checkDecode<T>(c: Codec<T>, b: Uint8Array): Outcome<T> {
  const r = attempt(`${c.name} on ${hex(b)}`, () => c.decode(b));
  if (r.ok && c.encode !== undefined) {
    const again = attempt(`${c.name}: re-encoding a decoded value`, () => (c.encode as (v: T) => Uint8Array)(r.value));
    assert.ok(again.ok, `${c.name}: a decoded value does not re-encode: ${again.ok ? '' : again.error.message} (input ${hex(b)})`);
    assert.ok(sameBytes(again.value, b), `${c.name}: accepted a non-canonical encoding ${hex(b)} (re-encodes to ${hex(again.value)})`);
  }
  return r;
}

/** Every prefix shorter than `b` (each truncation length once). */
export function* truncations(b: Uint8Array): Generator<Uint8Array> {
  for (let n = 0; n < b.length; n++) yield b.subarray(0, n);
}

export interface CodecFuzz<T> extends Codec<T> {
  /** Valid encodings made with the real encoders. */
  readonly samples: readonly Uint8Array[];
  /** Every mutation must be refused (signed or AEAD-protected formats). */
  readonly authenticated?: boolean;
  /** Mutations that are allowed to decode although `authenticated` (an unsigned field such as a hop TTL). */
  readonly mayAccept?: (original: Uint8Array, mutated: Uint8Array) => boolean;
  /** Runs for the random and the mutated inputs (before FUZZ_RUNS). */
  readonly randomRuns?: number;
  readonly mutationRuns?: number;
  /** Largest random input. */
  readonly maxRandom?: number;
  /** Checks more than the decode (e.g. that the decoded value passes verification). */
  readonly extra?: (value: T, bytes: Uint8Array) => void;
}

/** The standard tests of one decoder: samples, random bytes, every truncation, mutations. */
export function fuzzCodec<T>(it: (name: string, fn: () => void) => unknown, f: CodecFuzz<T>): void {
  const check = (b: Uint8Array): Outcome<T> => {
    const r = checkDecode(f, b);
    if (r.ok) f.extra?.(r.value, b);
    return r;
  };
  it(`${f.name}: the valid samples decode${f.encode ? ' and re-encode to the same bytes' : ''}`, () => {
    assert.ok(f.samples.length > 0);
    for (const s of f.samples) assert.ok(check(s).ok, `${f.name}: a valid sample fails to decode`);
  });
  it(`${f.name}: random bytes (empty, short, long) decode or fail typed`, () => {
    fc.assert(fc.property(bytesArb(f.maxRandom ?? 512), (b) => void check(b)), params(f.randomRuns ?? 500));
  });
  it(`${f.name}: random bytes behind a valid first byte decode or fail typed`, () => {
    const firsts = [...new Set(f.samples.filter((s) => s.length > 0).map((s) => s[0] as number))];
    fc.assert(
      fc.property(fc.constantFrom(...firsts), bytesArb(f.maxRandom ?? 512), (first, b) => void check(Uint8Array.of(first, ...b))),
      params(f.randomRuns ?? 500),
    );
  });
  it(`${f.name}: every truncation of every sample decodes or fails typed${f.authenticated ? ' — and is always refused' : ''}`, () => {
    for (const s of f.samples) {
      for (const t of truncations(s)) {
        const r = check(t);
        if (f.authenticated === true) assert.ok(!r.ok, `${f.name}: a truncation to ${t.length} of ${s.length} bytes was accepted`);
      }
    }
  });
  it(`${f.name}: mutated samples (flips, truncation, appends, splices, length fields) decode or fail typed${f.authenticated ? ' — and are always refused' : ''}`, () => {
    fc.assert(
      fc.property(fc.nat({ max: f.samples.length - 1 }), mutationsArb, (i, ms) => {
        const original = f.samples[i] as Uint8Array;
        const b = mutateAll(original, ms);
        const r = check(b);
        if (f.authenticated === true && r.ok && !sameBytes(b, original) && f.mayAccept?.(original, b) !== true) {
          assert.fail(`${f.name}: a mutation was accepted: ${JSON.stringify(ms)} → ${hex(b)}`);
        }
      }),
      params(f.mutationRuns ?? 1000),
    );
  });
}

/**
 * Warnings and errors a node logged with an untyped error: a non-Compeer name (Error, TypeError,
 * RangeError…), no code, an INTERNAL code (what a handler wraps an untyped throw in), or a string that
 * reads like a stringified throw.
 * Debug lines are left out: they carry the network's own noise (a DHT put timing out), not input handling.
 */
export function untypedLogged(lines: readonly Record<string, unknown>[]): string[] {
  const bad: string[] = [];
  for (const l of lines) {
    if (l.level !== 'warn' && l.level !== 'error') continue;
    for (const [k, v] of Object.entries(l)) {
      if (k !== 'error' && k !== 'err') continue;
      const e = v as { name?: unknown; code?: unknown } | string | null;
      // A string is either a description ('batch mixes senders') or String(e) of a non-Error throw.
      if (typeof e === 'string') {
        if (/Error\b|undefined|null|\[object /.test(e)) bad.push(JSON.stringify(l));
      } else if (e === null || e.code === undefined || e.code === 'INTERNAL' || ['Error', 'TypeError', 'RangeError'].includes(String(e.name))) bad.push(JSON.stringify(l));
    }
  }
  return bad;
}

/**
 * Strings of every kind for structured values: ASCII, any code point (astral, controls, U+FFFD, …),
 * the empty string, and strings that start with U+FEFF (a BOM: fromUtf8 used to drop it, so a text or
 * name changed in transit). No lone surrogates (the encoders write them as U+FFFD: not a round trip).
 */
export function textArb(maxLength = 80): fc.Arbitrary<string> {
  const any = fc.oneof(fc.string({ maxLength }), fc.string({ maxLength, unit: 'grapheme' }), fc.string({ maxLength, unit: 'binary' }));
  return fc.oneof({ weight: 3, arbitrary: any }, { weight: 1, arbitrary: any.map((s) => `\uFEFF${s}`) });
}

/**
 * The encoder's side: a value built by `arb` is encoded — or refused with a CompeerError (a bare one is
 * fine here: an encoder's refusal is the caller's mistake) — and what was encoded decodes to `expect`
 * (default: the value itself).
 */
export function checkEncodes<T, D>(what: string, value: T, encode: (v: T) => Uint8Array, decode: (b: Uint8Array) => D, expect?: (v: T) => unknown): void {
  let bytes: Uint8Array;
  try {
    bytes = encode(value);
  } catch (e) {
    if (!(e instanceof CompeerError)) assert.fail(`${what}: the encoder threw a non-CompeerError ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    return;
  }
  const back = attempt(`${what}: decoding what the encoder wrote (${hex(bytes)})`, () => decode(bytes));
  assert.ok(back.ok, `${what}: the encoder wrote bytes its decoder refuses: ${back.ok ? '' : back.error.message} (${hex(bytes)})`);
  // structuredClone: plain objects on both sides (fast-check's records have a null prototype).
  assert.deepEqual(structuredClone(back.value), structuredClone(expect ? expect(value) : value), `${what}: decode(encode(v)) differs from v`);
}
