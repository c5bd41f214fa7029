/** `compeer send <contact> <text> [--ttl SECONDS]`: queue a message; the node delivers it. */
import type { Command } from 'commander';
import { FIELD_LIMITS } from '../../api/validate.ts';
import { actionArgs, type CliIo } from '../context.ts';
import { connect, secondsFlag } from '../daemon.ts';

export function registerSend(program: Command, io: CliIo): void {
  program
    .command('send')
    .description('send a message → {id, status}')
    .argument('<contact>', 'a contact name or a unique prefix of its user ID')
    .argument('<text>', 'the message')
    .option('--ttl <seconds>', 'give up delivering after this long (default: 7 days)')
    .action(
      actionArgs<{ ttl?: string }>(io, async (ctx, [contact = '', text = ''], opts) => {
        const ttlMs = secondsFlag('--ttl', opts.ttl, 1, FIELD_LIMITS.maxTtlMs / 1000);
        const r = await connect(ctx).send(contact, text, ttlMs === undefined ? {} : { ttlMs });
        return { data: r, text: `${r.status} (message ${r.id})` };
      }),
    );
}
