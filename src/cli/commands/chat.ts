/**
 * `compeer chat <contact>`: an interactive conversation in the terminal. Shows the last messages, then
 * every incoming message and delivery update from the node's event stream; each input line is sent.
 * Ends on /quit, end of input, Ctrl-C, or when the node stops. With --json, every message and status
 * event is printed as one JSON line instead of text.
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { CompeerError, ErrorCodes } from '../../lib/errors.ts';
import type { CompeerEvent, ContactInfo } from '../../node/types.ts';
import { actionArgs, type CliIo, type Context } from '../context.ts';
import { connect } from '../daemon.ts';
import { contactLabel, formatMessage } from '../format.ts';

const HISTORY = 20;

/** The contact the node would pick: an exact name, else a unique prefix of a user ID. */
export function findContact(list: readonly ContactInfo[], query: string): ContactInfo {
  const byName = list.filter((c) => c.name === query);
  const found = byName.length > 0 ? byName : list.filter((c) => c.userId.startsWith(query.toLowerCase()));
  if (found.length === 0) throw new CompeerError(ErrorCodes.NOT_FOUND, `no contact "${query.slice(0, 64)}"; see \`compeer contacts\``);
  if (found.length > 1) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `"${query.slice(0, 64)}" matches ${found.length} contacts; give more of the user ID`);
  return found[0] as ContactInfo;
}

async function chat(ctx: Context, query: string): Promise<void> {
  const api = connect(ctx);
  const contact = findContact(await api.contacts(), query);
  const out = (line: string): void => ctx.io.stdout(`${line}\n`);
  const show = (e: CompeerEvent): void => {
    if (ctx.json) out(JSON.stringify(e));
    else if (e.type === 'message') out(formatMessage(e.message));
    else if (e.type === 'status' && e.status !== 'sent' && e.status !== 'queued') out(`  (message ${e.id}: ${e.status})`);
    else if (e.type === 'contact' && e.contact.keyChanged) out(`  ! the key of ${contactLabel(e.contact)} changed: run \`compeer verify\``);
  };
  const sub = await api.subscribe((e) => {
    if ((e.type === 'message' && e.message.contact === contact.userId) || (e.type !== 'message' && (e.type === 'status' ? e.contact : e.contact.userId) === contact.userId)) show(e);
  });
  for (const m of (await api.messages(contact.userId)).slice(-HISTORY)) show({ type: 'message', message: m });
  if (!ctx.json) out(`-- chat with ${contactLabel(contact)}; type a message and Enter, /quit to leave`);

  const rl = createInterface({ input: ctx.io.stdin ?? process.stdin, terminal: false });
  const { promise: finished, resolve: done } = Promise.withResolvers<string>();
  const offSignal = ctx.io.onStopSignal(() => done('signal'));
  void sub.closed.then(() => done('node stopped'));
  rl.on('close', () => done('end of input'));
  rl.on('line', (line) => {
    const text = line.trim();
    if (text === '') return;
    if (text === '/quit') {
      done('quit');
      return;
    }
    api.send(contact.userId, text).then(
      (r) => {
        if (ctx.json) out(JSON.stringify({ type: 'sent', ...r }));
      },
      (err: unknown) => ctx.io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  const why = await finished;
  offSignal();
  rl.close();
  sub.close();
  if (why === 'node stopped') throw new CompeerError(ErrorCodes.NOT_RUNNING, 'the node stopped; start it again with `compeer start`');
}

export function registerChat(program: Command, io: CliIo): void {
  program
    .command('chat')
    .description('talk with a contact interactively (/quit to leave)')
    .argument('<contact>', 'a contact name or a unique prefix of its user ID')
    .action(
      actionArgs(io, async (ctx, [contact = '']) => {
        await chat(ctx, contact);
        return undefined;
      }),
    );
}
