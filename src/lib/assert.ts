/**
 * Precise assertions for inputs: "expected 32 bytes, got 31". Each throws a typed CompeerError.
 */
import { DecodeError, CompeerError, ErrorCodes } from './errors.ts';

export function assertBytes(value: unknown, name: string, ...lengths: number[]): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new DecodeError(ErrorCodes.INVALID_ARGUMENT, `${name}: expected Uint8Array`);
  }
  if (lengths.length > 0 && !lengths.includes(value.length)) {
    throw new DecodeError(
      ErrorCodes.INVALID_LENGTH,
      `${name}: expected ${lengths.join(' or ')} bytes, got ${value.length}`,
    );
  }
}

export function assertMaxLength(value: Uint8Array, max: number, name: string): void {
  if (value.length > max) {
    throw new DecodeError(ErrorCodes.INVALID_LENGTH, `${name}: at most ${max} bytes, got ${value.length}`);
  }
}

export function assertInteger(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `${name}: expected an integer in [${min}, ${max}]`);
  }
}

/** For states that "cannot happen"; reaching one is a bug, reported as INTERNAL. */
export function invariant(cond: unknown, what: string): asserts cond {
  if (!cond) throw new CompeerError(ErrorCodes.INTERNAL, `invariant violated: ${what}`);
}
