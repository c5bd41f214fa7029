/** `compeer init [--name NAME]`: create DIR (0700), the store and a new identity; never overwrite. */
import type { Command } from 'commander';
import { action, type CliIo } from '../context.ts';
import { createIdentity, describe, openCtxStore, summaryResult, validateName } from '../identity.ts';

export function registerInit(program: Command, io: CliIo): void {
  program
    .command('init')
    .description('create the identity and the store in the data folder (refuses if one exists)')
    .option('--name <name>', 'a display name, kept locally')
    .action(
      action<{ name?: string }>(io, (ctx, opts) => {
        const name = validateName(opts.name);
        ctx.logger.debug('init', { dir: ctx.dir, passphraseMode: ctx.passphrase !== undefined });
        const store = openCtxStore(ctx, true);
        try {
          const s = createIdentity(ctx, store, name);
          return summaryResult(s, `Created a Compeer identity.\n${describe(s)}`);
        } finally {
          store.close();
        }
      }),
    );
}
