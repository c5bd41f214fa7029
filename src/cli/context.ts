/**
 * What every command gets: the resolved global options (--dir, --json, --log-level), a logger on
 * stderr, and the process's I/O, randomness and clock — injected so tests can run commands in-process.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Clock, Rng } from '../lib/deps.ts';
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import { createLogger, isLogLevel, type LogLevel, type Logger } from '../lib/log.ts';
import type { NodeFactory } from './node-factory.ts';
import { defaultDataDir, type Env } from './paths.ts';
import { printResult, type CommandResult } from './output.ts';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Env;
  platform: NodeJS.Platform;
  homedir: string;
  cwd: string;
  rng: Rng;
  clock: Clock;
  /**
   * Calls `handler` once when the process is asked to stop (SIGINT, SIGTERM); returns an unsubscribe.
   * Injected so tests can stop an in-process `compeer start`.
   */
  onStopSignal(handler: (signal: string) => void): () => void;
  /** Interactive input for `chat` (process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /** Builds the node for `compeer start` (default: the real one, node-factory.ts). */
  createNode?: NodeFactory;
}

export interface GlobalOptions {
  dir?: string;
  json?: boolean;
  logLevel?: string;
}

export interface Context {
  readonly dir: string;
  readonly json: boolean;
  readonly logger: Logger;
  readonly io: CliIo;
  /** COMPEER_PASSPHRASE, when set: the store's key is derived from it instead of a key file. */
  readonly passphrase: string | undefined;
}

export const DEFAULT_LOG_LEVEL: LogLevel = 'warn';

export function resolveLogLevel(flag: string | undefined, env: Env): LogLevel {
  const level = flag ?? (env.COMPEER_LOG_LEVEL || DEFAULT_LOG_LEVEL);
  if (!isLogLevel(level)) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `log level must be one of debug, info, warn, error, silent (got "${level.slice(0, 16)}")`);
  }
  return level;
}

export function contextFrom(opts: GlobalOptions, io: CliIo): Context {
  const level = resolveLogLevel(opts.logLevel, io.env);
  const dir = resolve(io.cwd, opts.dir ?? defaultDataDir(io.env, io.platform, io.homedir));
  const logger = createLogger({ level, sink: (line) => io.stderr(`${line}\n`), now: io.clock });
  const passphrase = io.env.COMPEER_PASSPHRASE === '' ? undefined : io.env.COMPEER_PASSPHRASE;
  return { dir, json: opts.json === true, logger, io, passphrase };
}

/** A handler returns what to print, or undefined when it printed itself (start, chat). */
export type Handler<O> = (ctx: Context, opts: O) => CommandResult | undefined | Promise<CommandResult | undefined>;

/** Adapts a handler to a commander action: builds the context, runs, prints the result. */
export function action<O>(io: CliIo, handler: Handler<O>): (opts: O, cmd: Command) => Promise<void> {
  return async (opts, cmd) => {
    const ctx = contextFrom(cmd.optsWithGlobals<GlobalOptions>(), io);
    const result = await handler(ctx, opts);
    if (result !== undefined) printResult(ctx, result);
  };
}

export type ArgsHandler<O> = (ctx: Context, args: string[], opts: O) => CommandResult | undefined | Promise<CommandResult | undefined>;

/** As `action`, for commands with positional arguments (commander passes them before the options). */
export function actionArgs<O>(io: CliIo, handler: ArgsHandler<O>): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const cmd = args[args.length - 1] as Command;
    const opts = args[args.length - 2] as O;
    const positional = args.slice(0, -2).map((a) => String(a));
    const ctx = contextFrom(cmd.optsWithGlobals<GlobalOptions>(), io);
    const result = await handler(ctx, positional, opts);
    if (result !== undefined) printResult(ctx, result);
  };
}
