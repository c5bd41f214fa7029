/**
 * Identity steps shared by commands: create one in a new store, read the public one back, and
 * describe it for output. Secrets stay inside the store's sealed column; nothing here prints them.
 */
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import { generateIdentity, userIdOf } from '../protocol/identity.ts';
import { loadPublicIdentity, storedIdentityOf } from '../store/identity-keys.ts';
import { openStore, type Store } from '../store/store.ts';
import type { Context } from './context.ts';
import type { CommandResult } from './output.ts';

export const MAX_NAME_LENGTH = 64;

export interface IdentitySummary {
  userId: string;
  name: string | null;
  dir: string;
  createdAt: number;
}

export function validateName(name: string | undefined): string | null {
  if (name === undefined) return null;
  const trimmed = name.trim();
  // Control characters would let a name rewrite the terminal when shown.
  if (trimmed === '' || [...trimmed].length > MAX_NAME_LENGTH || /\p{Cc}/u.test(trimmed)) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `name: 1 to ${MAX_NAME_LENGTH} characters, no control characters`);
  }
  return trimmed;
}

export function openCtxStore(ctx: Context, create: boolean): Store {
  return openStore({ dir: ctx.dir, create, rng: ctx.io.rng, clock: ctx.io.clock, passphrase: ctx.passphrase, logger: ctx.logger });
}

/** Generates and stores a new identity; ALREADY_EXISTS if the store has one. */
export function createIdentity(ctx: Context, store: Store, name: string | null): IdentitySummary {
  if (store.identities.getPublic() !== undefined) {
    throw new CompeerError(ErrorCodes.ALREADY_EXISTS, `an identity already exists in ${ctx.dir}`);
  }
  const id = generateIdentity(ctx.io.rng);
  const userId = userIdOf(id.public);
  ctx.logger.debug('identity generated', { userId });
  const createdAt = ctx.io.clock();
  store.identities.create(storedIdentityOf(id, name, createdAt));
  ctx.logger.debug('identity stored', { userId, dir: ctx.dir });
  return { userId, name, dir: ctx.dir, createdAt };
}

export function readIdentity(ctx: Context, store: Store): IdentitySummary {
  const loaded = loadPublicIdentity(store.identities);
  if (loaded === undefined) throw new CompeerError(ErrorCodes.NOT_FOUND, `no identity in ${ctx.dir}; run \`compeer init\``);
  return { userId: userIdOf(loaded.pub), name: loaded.name, dir: ctx.dir, createdAt: loaded.createdAt };
}

export function describe(s: IdentitySummary): string {
  return [`user ID  ${s.userId}`, `name     ${s.name ?? '(none)'}`, `data     ${s.dir}`, `created  ${new Date(s.createdAt).toISOString()}`].join('\n');
}

export function summaryResult(s: IdentitySummary, text: string): CommandResult {
  return { data: { userId: s.userId, name: s.name, dir: s.dir }, text };
}
