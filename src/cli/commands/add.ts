/** `compeer add <invite> [--name N]`: add a contact from its compeer:// invite. */
import type { Command } from 'commander';
import { actionArgs, type CliIo } from '../context.ts';
import { connect } from '../daemon.ts';
import { contactLabel } from '../format.ts';
import { validateName } from '../identity.ts';

export function registerAdd(program: Command, io: CliIo): void {
  program
    .command('add')
    .description('add a contact from a compeer:// invite link → {userId, name}')
    .argument('<invite>', 'the compeer:// invite link')
    .option('--name <name>', 'what to call the contact (defaults to the name in the invite)')
    .action(
      actionArgs<{ name?: string }>(io, async (ctx, [invite = ''], opts) => {
        const name = validateName(opts.name);
        const added = await connect(ctx).addContact(invite, name ?? undefined);
        return { data: added, text: `Added ${contactLabel(added)}.` };
      }),
    );
}
