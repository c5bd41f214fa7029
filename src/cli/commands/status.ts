/** `compeer status`: network state, peer count and outbox of the running node. */
import type { Command } from 'commander';
import { action, type CliIo } from '../context.ts';
import { connect } from '../daemon.ts';
import { formatStatus } from '../format.ts';

export function registerStatus(program: Command, io: CliIo): void {
  program
    .command('status')
    .description('show the node state → {state, reason, peers, outbox: {queued, held}}')
    .action(
      action(io, async (ctx) => {
        const s = await connect(ctx).status();
        return { data: s, text: formatStatus(s) };
      }),
    );
}
