/** `compeer id`: show this node's identity (public part only; needs no passphrase). */
import type { Command } from 'commander';
import { action, type CliIo } from '../context.ts';
import { describe, openCtxStore, readIdentity, summaryResult } from '../identity.ts';

export function registerId(program: Command, io: CliIo): void {
  program
    .command('id')
    .description('show the identity in the data folder')
    .action(
      action(io, (ctx) => {
        const store = openCtxStore(ctx, false);
        try {
          const s = readIdentity(ctx, store);
          return summaryResult(s, describe(s));
        } finally {
          store.close();
        }
      }),
    );
}
