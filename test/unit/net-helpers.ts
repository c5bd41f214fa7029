/**
 * Shared by the net tests: nodes on 127.0.0.1 with ephemeral ports and mDNS off, and a logger whose
 * lines the test can inspect.
 */
import { randomBytes } from 'node:crypto';
import { createLogger, type Logger } from '../../src/lib/log.ts';
import { createNetNode } from '../../src/net/node.ts';
import type { NetNode, NetNodeOptions } from '../../src/net/types.ts';

export interface Captured {
  readonly logger: Logger;
  readonly lines: Array<Record<string, unknown>>;
  /** Lines whose msg matches and whose err.code (if given) matches. */
  find(msg: string, code?: string): Array<Record<string, unknown>>;
}

export function captureLogger(): Captured {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'debug', sink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  return {
    logger,
    lines,
    find: (msg, code) =>
      lines.filter((l) => l.msg === msg && (code === undefined || (l.err as { code?: string } | undefined)?.code === code)),
  };
}

export async function startNode(opts: Partial<NetNodeOptions> = {}): Promise<NetNode> {
  const node = await createNetNode({
    nodeKey: randomBytes(32),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    allowPrivateAddresses: true,
    ...opts,
  });
  await node.start();
  return node;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every `everyMs` until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 25): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(everyMs);
  }
  return cond();
}

export function codeOf(e: unknown): string | undefined {
  return (e as { code?: unknown } | null)?.code as string | undefined;
}
