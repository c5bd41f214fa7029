/**
 * The one place the CLI builds a node: `compeer start` calls a NodeFactory with the resolved flags.
 * Injectable through CliIo.createNode so tests can run the daemon in-process over a fake node.
 */
import type { Clock, Rng } from '../lib/deps.ts';
import { CompeerError, ErrorCodes } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { CompeerApi } from '../node/types.ts';

export interface DaemonNodeOptions {
  dir: string;
  passphrase: string | undefined;
  /** Everything in memory: a new identity, no files. */
  ephemeral: boolean;
  /** Listen multiaddrs; empty: the node's default (TCP and WebSockets on 0.0.0.0, random ports). */
  listen: string[];
  bootstrap: string[];
  mdns: boolean;
  logger: Logger;
  rng: Rng;
  clock: Clock;
}

export interface DaemonNode extends CompeerApi {
  stop(): Promise<void>;
}

export type NodeFactory = (opts: DaemonNodeOptions) => Promise<DaemonNode>;

export const defaultNodeFactory: NodeFactory = async () => {
  throw new CompeerError(ErrorCodes.INTERNAL, 'the Compeer node is not in this build yet');
};
