/**
 * `compeer start`: runs a node in the foreground with the local control API, until SIGINT/SIGTERM.
 *
 * Start: 1. take DIR/daemon.lock (one daemon per data folder; a stale lock of a dead pid is taken over)
 * 2. check the identity — or create it with --init (what `npm start` does) 3. build the node
 * 4. a fresh API token in DIR/api.token (0600) 5. the API server on --api (loopback) 6. DIR/daemon.json
 * `{pid, api}` (0600) 7. print `ready` (with --json: {ready, api, userId, addresses}).
 * Stop: the same in reverse; daemon.json, api.token and the lock are removed.
 * --ephemeral writes nothing at all: the identity lives in memory, and the API address and token are
 * printed instead (clients take them from COMPEER_API and COMPEER_API_TOKEN).
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { newToken, removeToken, writeToken } from '../../api/auth.ts';
import { acquireDaemonLock, removeDaemonInfo, writeDaemonInfo } from '../../api/daemon-file.ts';
import { isLoopbackHost, parseApiAddress, startApiServer, type ApiServer } from '../../api/server.ts';
import { secondsFlag } from '../daemon.ts';
import { CompeerError, ErrorCodes } from '../../lib/errors.ts';
import { renderQr } from '../../protocol/invite.ts';
import { action, type CliIo, type Context } from '../context.ts';
import { createIdentity, openCtxStore, readIdentity, validateName } from '../identity.ts';
import type { DaemonNode, NodeFactory } from '../node-factory.ts';

export interface StartOptions {
  init?: boolean;
  name?: string;
  listen?: string[];
  bootstrap?: string[];
  api: string;
  allowRemoteApi?: boolean;
  mdns: boolean;
  relay: boolean;
  mailbox: boolean;
  announceInterval?: string;
  ephemeral?: boolean;
  printInvite?: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Step 2: the identity must exist (or is created with --init). Runs under the lock. */
function ensureIdentity(ctx: Context, opts: StartOptions): void {
  const name = validateName(opts.name);
  const store = openCtxStore(ctx, opts.init === true);
  try {
    if (store.identities.getPublic() === undefined && opts.init === true) {
      const s = createIdentity(ctx, store, name);
      ctx.io.stderr(`Created a Compeer identity in ${ctx.dir} (user ID ${s.userId}).\n`);
    } else {
      readIdentity(ctx, store); // NOT_FOUND with a hint to run `compeer init`
    }
  } finally {
    store.close();
  }
}

async function start(ctx: Context, opts: StartOptions): Promise<void> {
  const ephemeral = opts.ephemeral === true;
  const { host, port } = parseApiAddress(opts.api);
  if (!isLoopbackHost(host) && opts.allowRemoteApi !== true) {
    throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `--api ${host}: not a loopback address; add --allow-remote-api if you mean it`);
  }
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch (err) {
        ctx.logger.warn('stop step failed', { error: err instanceof Error ? err : String(err) });
      }
    }
  };
  // A signal during start-up stops as soon as the current step is done (without printing `ready`);
  // a second one gets the default action (the handler is gone), for a start-up that hangs.
  const stop = Promise.withResolvers<string>();
  let stopping = false;
  const offSignal = ctx.io.onStopSignal((sig) => {
    stopping = true;
    stop.resolve(sig);
  });
  try {
    if (!ephemeral) {
      if (opts.init === true) mkdirSync(ctx.dir, { recursive: true, mode: 0o700 });
      else if (!existsSync(ctx.dir)) throw new CompeerError(ErrorCodes.NOT_FOUND, `no identity in ${ctx.dir}; run \`compeer init\` (or \`compeer start --init\`)`);
      cleanups.push(acquireDaemonLock(ctx.dir));
      ensureIdentity(ctx, opts);
    }
    // Loaded on demand: the node pulls in libp2p, which the client commands never need.
    const factory: NodeFactory = ctx.io.createNode ?? (await import('../node-factory.ts')).defaultNodeFactory;
    const announceIntervalMs = secondsFlag('--announce-interval', opts.announceInterval, 1, 3600);
    const node: DaemonNode = await factory({
      dir: ctx.dir,
      passphrase: ctx.passphrase,
      ephemeral,
      listen: opts.listen ?? [],
      bootstrap: opts.bootstrap ?? [],
      mdns: opts.mdns,
      relay: opts.relay,
      mailbox: opts.mailbox,
      ...(announceIntervalMs !== undefined && { announceIntervalMs }),
      logger: ctx.logger,
      rng: ctx.io.rng,
      clock: ctx.io.clock,
    });
    cleanups.push(() => node.stop());

    const token = newToken();
    if (!ephemeral) {
      writeToken(ctx.dir, token);
      cleanups.push(() => removeToken(ctx.dir));
    }
    const server: ApiServer = await startApiServer({ api: node, token, host, port, allowNonLoopback: opts.allowRemoteApi === true, logger: ctx.logger });
    cleanups.push(() => server.close());
    if (!ephemeral) {
      writeDaemonInfo(ctx.dir, { pid: process.pid, api: server.url });
      cleanups.push(() => removeDaemonInfo(ctx.dir));
    }

    const id = await node.id();
    ctx.logger.info('node ready', { userId: id.userId, api: server.url, ephemeral });
    if (!stopping) printReady(ctx, opts, { api: server.url, token: ephemeral ? token : undefined, id });
    const signal = await stop.promise;
    ctx.logger.info('stopping', { signal });
  } finally {
    offSignal();
    await cleanup();
  }
}

function printReady(ctx: Context, opts: StartOptions, r: { api: string; token: string | undefined; id: Awaited<ReturnType<DaemonNode['id']>> }): void {
  const out = (s: string): void => ctx.io.stdout(`${s}\n`);
  if (ctx.json) {
    out(
      JSON.stringify({
        ready: true,
        api: r.api,
        userId: r.id.userId,
        addresses: r.id.addresses,
        ...(r.token === undefined ? {} : { token: r.token }),
        ...(opts.printInvite === true ? { invite: r.id.invite } : {}),
      }),
    );
    return;
  }
  out('ready');
  if (r.token !== undefined) {
    out(`api    ${r.api}`);
    out(`token  ${r.token}`);
    out(`(ephemeral: nothing is written to disk; for other commands set COMPEER_API=${r.api} and COMPEER_API_TOKEN)`);
  }
  if (opts.printInvite === true) {
    out('');
    out(`Your user ID: ${r.id.userId}`);
    out('Your invite link (give it to a contact, who runs `compeer add <link>`):');
    out(r.id.invite);
    out('');
    out(renderQr(r.id.invite));
    out('');
    out(`Local API: ${r.api}   Stop with Ctrl-C.`);
  }
}

export function registerStart(program: Command, io: CliIo): void {
  program
    .command('start')
    .description('run the node in the foreground with the local API; prints `ready` when it is up')
    .option('--init', 'create the identity if there is none (what `npm start` does)')
    .option('--name <name>', 'display name for an identity created by --init')
    .option('--listen <multiaddr>', 'listen address, repeatable (default: TCP and WebSockets on 0.0.0.0, random ports)', collect)
    .option('--bootstrap <multiaddr>', 'a peer to connect to at start, repeatable', collect)
    .option('--api <host:port>', 'address of the local control API', '127.0.0.1:0')
    .option('--allow-remote-api', 'allow --api on a non-loopback address (anyone who can reach it and has the token controls the node)')
    .option('--no-mdns', 'no LAN discovery (mDNS)')
    .option('--no-relay', 'do not relay onion packets for others (paths to us still work)')
    .option('--no-mailbox', 'do not hold mail for others')
    .option('--announce-interval <seconds>', 'how often to announce ourselves to peers (default 300; small local networks and tests use less)')
    .option('--ephemeral', 'keep everything in memory, write nothing to disk; prints the API address and token')
    .option('--print-invite', 'print the invite link, its QR code and the API address when ready')
    .action(
      action<StartOptions>(io, async (ctx, opts) => {
        await start(ctx, opts);
        return undefined;
      }),
    );
}
