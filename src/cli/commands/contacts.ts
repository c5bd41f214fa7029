/** `compeer contacts`: the contact list, with verification and key-change flags. */
import type { Command } from 'commander';
import { action, type CliIo } from '../context.ts';
import { connect } from '../daemon.ts';
import { formatContacts } from '../format.ts';

export function registerContacts(program: Command, io: CliIo): void {
  program
    .command('contacts')
    .description('list contacts → [{userId, name, verified, keyChanged}]')
    .action(
      action(io, async (ctx) => {
        const list = await connect(ctx).contacts();
        return { data: list, text: formatContacts(list) };
      }),
    );
}
