/** `compeer id`: this node's identity, invite and addresses, from the running daemon. */
import type { Command } from 'commander';
import { action, type CliIo } from '../context.ts';
import { connect } from '../daemon.ts';
import { formatId } from '../format.ts';

export function registerId(program: Command, io: CliIo): void {
  program
    .command('id')
    .description('show the identity, invite link and addresses of the running node → {userId, name, safetyFingerprint, invite, addresses}')
    .option('--for <contact>', "an invite for a contact starting over with a new identity: only its hello may move that contact to the new key")
    .action(
      action(io, async (ctx, opts: { for?: string }) => {
        const id = await connect(ctx).id(opts.for === undefined ? undefined : { forContact: opts.for });
        return { data: id, text: formatId(id) };
      }),
    );
}
