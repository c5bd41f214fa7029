/** `compeer send <contact> <text> [--ttl SECONDS] [--hops N]`: queue a message; the node delivers it. */
import type { Command } from 'commander';
import { FIELD_LIMITS } from '../../api/validate.ts';
import { actionArgs, type CliIo } from '../context.ts';
import { connect, integerFlag, secondsFlag } from '../daemon.ts';

export function registerSend(program: Command, io: CliIo): void {
  program
    .command('send')
    .description('send a message → {id, status}')
    .argument('<contact>', 'a contact name or a unique prefix of its user ID')
    .argument('<text>', 'the message')
    .option('--ttl <seconds>', 'give up delivering after this long (default: 7 days)')
    .option('--hops <n>', 'relays on the onion path, 0-5; 0 allows direct delivery (default: up to 3, as many as are known)')
    .action(
      actionArgs<{ ttl?: string; hops?: string }>(io, async (ctx, [contact = '', text = ''], opts) => {
        const ttlMs = secondsFlag('--ttl', opts.ttl, 1, FIELD_LIMITS.maxTtlMs / 1000);
        const hops = integerFlag('--hops', opts.hops, 0, FIELD_LIMITS.maxHops);
        const r = await connect(ctx).send(contact, text, { ...(ttlMs !== undefined && { ttlMs }), ...(hops !== undefined && { hops }) });
        return { data: r, text: `${r.status} (message ${r.id})` };
      }),
    );
}
