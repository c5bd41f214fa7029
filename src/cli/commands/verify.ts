/** `compeer verify <contact> [--confirm]`: show the safety number (and SAS); --confirm marks it verified. */
import type { Command } from 'commander';
import { actionArgs, type CliIo } from '../context.ts';
import { connect } from '../daemon.ts';
import { formatVerify } from '../format.ts';

export function registerVerify(program: Command, io: CliIo): void {
  program
    .command('verify')
    .description('show the safety number with a contact; --confirm after comparing it → {safetyNumber, sas, verified}')
    .argument('<contact>', 'a contact name or a unique prefix of its user ID')
    .option('--confirm', 'mark the contact verified (its current key accepted)')
    .action(
      actionArgs<{ confirm?: boolean }>(io, async (ctx, [contact = ''], opts) => {
        const v = await connect(ctx).verify(contact, opts.confirm === true);
        return { data: v, text: formatVerify(v, contact) };
      }),
    );
}
