/** `compeer id`: this node's identity, invite and addresses, from the running daemon. */
import type { Command } from 'commander';
import { action, type CliIo } from '../context.ts';
import { connect } from '../daemon.ts';
import { formatId } from '../format.ts';

export function registerId(program: Command, io: CliIo): void {
  program
    .command('id')
    .description('show the identity, invite link and addresses of the running node → {userId, name, safetyFingerprint, invite, addresses}')
    .action(
      action(io, async (ctx) => {
        const id = await connect(ctx).id();
        return { data: id, text: formatId(id) };
      }),
    );
}
