/**
 * The `compeer` program: global options, the commands, and the mapping of failures to output and exit
 * codes. `run` never throws and never calls process.exit, so tests can drive it in-process.
 */
import { homedir } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import { LogLevels } from '../lib/log.ts';
import { systemClock, systemRng } from '../lib/system.ts';
import { registerAdd } from './commands/add.ts';
import { registerChat } from './commands/chat.ts';
import { registerContacts } from './commands/contacts.ts';
import { registerId } from './commands/id.ts';
import { registerInit } from './commands/init.ts';
import { registerMessages } from './commands/messages.ts';
import { registerPeers } from './commands/peers.ts';
import { registerSend } from './commands/send.ts';
import { registerStart } from './commands/start.ts';
import { registerStatus } from './commands/status.ts';
import { registerVerify } from './commands/verify.ts';
import { contextFrom, DEFAULT_LOG_LEVEL, type CliIo, type GlobalOptions } from './context.ts';
import { EXIT_OK, EXIT_USAGE, printError } from './output.ts';

export function systemIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    platform: process.platform,
    homedir: homedir(),
    cwd: process.cwd(),
    rng: systemRng,
    clock: systemClock,
    onStopSignal: (handler) => {
      const on = (signal: NodeJS.Signals): void => {
        off();
        handler(signal);
      };
      const off = (): void => {
        process.off('SIGINT', on);
        process.off('SIGTERM', on);
      };
      process.once('SIGINT', on);
      process.once('SIGTERM', on);
      return off;
    },
    stdin: process.stdin,
  };
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('compeer')
    .description('Compeer: a serverless peer-to-peer end-to-end encrypted messenger')
    .version(pkg.version, '-V, --version', 'print the version')
    .option('--dir <dir>', 'data folder (default: $COMPEER_HOME, else the per-user data folder)')
    .option('--json', 'print a machine-readable result on stdout (logs stay on stderr)')
    .addOption(
      new Option('--log-level <level>', `log level on stderr (default: $COMPEER_LOG_LEVEL or ${DEFAULT_LOG_LEVEL})`).choices(
        LogLevels,
      ),
    )
    .helpOption('-h, --help', 'show help')
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  registerInit(program, io);
  registerStart(program, io);
  registerId(program, io);
  registerAdd(program, io);
  registerContacts(program, io);
  registerSend(program, io);
  registerMessages(program, io);
  registerVerify(program, io);
  registerPeers(program, io);
  registerStatus(program, io);
  registerChat(program, io);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** Runs the CLI on `args` (without node and script) and returns the exit code. */
export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    if (args.length === 0) {
      program.outputHelp({ error: true });
      return EXIT_USAGE;
    }
    await program.parseAsync([...args], { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    const opts = program.opts<GlobalOptions>();
    if (err instanceof CommanderError) {
      // Help and version "errors" are how commander ends early; usage errors are already printed.
      if (err.exitCode === 0) return EXIT_OK;
      if (opts.json === true) printError({ json: true, io }, new CompeerError(ErrorCodes.INVALID_ARGUMENT, err.message.replace(/^error: /, '')));
      return EXIT_USAGE;
    }
    try {
      contextFrom(opts, io).logger.debug('command failed', { error: err instanceof Error ? err : String(err) });
    } catch {
      // The options themselves were bad (e.g. COMPEER_LOG_LEVEL): nothing to log with; just report.
    }
    return printError({ json: opts.json === true, io }, err);
  }
}
