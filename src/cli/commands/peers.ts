/** `compeer peers`: the node's peer table. */
import type { Command } from 'commander';
import { action, type CliIo } from '../context.ts';
import { connect } from '../daemon.ts';
import { formatPeers } from '../format.ts';

export function registerPeers(program: Command, io: CliIo): void {
  program
    .command('peers')
    .description('list known peers → [{peerId, addresses, lastSeen, score}]')
    .action(
      action(io, async (ctx) => {
        const list = await connect(ctx).peers();
        return { data: list, text: formatPeers(list) };
      }),
    );
}
