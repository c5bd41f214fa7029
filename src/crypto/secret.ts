/**
 * Secret byte strings that never print themselves: `util.inspect`, `JSON.stringify` and template
 * strings show "[secret N bytes]" instead of the content (vodozemac's lesson: secrets never printed).
 */
import { inspect } from 'node:util';

declare const secretBrand: unique symbol;
export type SecretBytes = Uint8Array & { readonly [secretBrand]: true };

const REDACTED = {
  toJSON(this: Uint8Array) {
    return `[secret ${this.length} bytes]`;
  },
  toString(this: Uint8Array) {
    return `[secret ${this.length} bytes]`;
  },
  [inspect.custom](this: Uint8Array) {
    return `[secret ${this.length} bytes]`;
  },
};

/** Brands `bytes` as secret in place (no copy) and hides it from printing. */
export function secretBytes(bytes: Uint8Array): SecretBytes {
  Object.defineProperties(bytes, {
    toJSON: { value: REDACTED.toJSON, enumerable: false },
    toString: { value: REDACTED.toString, enumerable: false },
    [inspect.custom]: { value: REDACTED[inspect.custom], enumerable: false },
  });
  return bytes as SecretBytes;
}
