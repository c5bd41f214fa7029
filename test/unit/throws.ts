/** Shared by unit tests: the CompeerError code a synchronous call throws (fails when it does not throw one). */
import assert from 'node:assert/strict';
import { CompeerError } from '../../src/lib/errors.ts';

export function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CompeerError, `expected a CompeerError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected a throw');
}
