/** `compeer messages <contact> [--wait SECONDS] [--count N]`: the conversation, optionally waiting for N. */
import type { Command } from 'commander';
import { FIELD_LIMITS } from '../../api/validate.ts';
import { actionArgs, type CliIo } from '../context.ts';
import { connect, countFlag, secondsFlag } from '../daemon.ts';
import { formatMessages } from '../format.ts';

export function registerMessages(program: Command, io: CliIo): void {
  program
    .command('messages')
    .description('show the messages with a contact → [{id, direction, text, status, sentAt, receivedAt}]')
    .argument('<contact>', 'a contact name or a unique prefix of its user ID')
    .option('--wait <seconds>', 'wait up to this long until at least --count messages exist')
    .option('--count <n>', 'with --wait: how many messages to wait for (default 1)')
    .action(
      actionArgs<{ wait?: string; count?: string }>(io, async (ctx, [contact = ''], opts) => {
        const waitMs = secondsFlag('--wait', opts.wait, 0, FIELD_LIMITS.maxWaitMs / 1000);
        const count = countFlag('--count', opts.count, FIELD_LIMITS.maxCount);
        const query: { waitMs?: number; count?: number } = {};
        if (waitMs !== undefined) query.waitMs = waitMs;
        if (count !== undefined || waitMs !== undefined) query.count = count ?? 1;
        const list = await connect(ctx).messages(contact, query);
        return { data: list, text: formatMessages(list) };
      }),
    );
}
