/**
 * src/net/ across processes: a node in a child process (net-peer.ts) over TCP on 127.0.0.1 answers
 * requests from this process; its peer ID is stable across a restart with the same node key.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createInterface } from 'node:readline';
import { utf8 } from '../../src/lib/bytes.ts';
import type { NetNode } from '../../src/net/types.ts';
import { startNode } from '../unit/net-helpers.ts';

const PEER = fileURLToPath(new URL('./net-peer.ts', import.meta.url));

interface Child {
  proc: ChildProcess;
  peerId: string;
  addresses: string[];
}

async function spawnPeer(keyHex: string): Promise<Child> {
  const proc = spawn(process.execPath, [PEER, keyHex], { stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const [line] = (await once(rl, 'line', { signal: AbortSignal.timeout(15_000) })) as [string];
  const { peerId, addresses } = JSON.parse(line) as { peerId: string; addresses: string[] };
  return { proc, peerId, addresses };
}

async function stopPeer(c: Child): Promise<void> {
  if (c.proc.exitCode !== null) return;
  const exited = once(c.proc, 'exit');
  c.proc.stdin?.end();
  await exited;
}

describe('net across processes', () => {
  const key = randomBytes(32).toString('hex');
  let local: NetNode;
  let child: Child;

  before(async () => {
    [local, child] = await Promise.all([startNode(), spawnPeer(key)]);
  });

  after(async () => {
    await Promise.all([local.stop(), stopPeer(child)]);
  });

  test('a request to a node in another process over TCP', async () => {
    for (const size of [0, 1, 1024, 200 * 1024]) {
      const msg = randomBytes(size);
      assert.deepEqual(Buffer.from(await local.request(child.peerId, child.addresses, '/test/echo/1', msg)), msg);
    }
  });

  test('the peer ID survives a restart with the same node key', async () => {
    const before = child.peerId;
    await stopPeer(child);
    child = await spawnPeer(key);
    assert.equal(child.peerId, before);
    // The old connection is gone; the new addresses (new port) are dialled.
    assert.deepEqual(await local.request(child.peerId, child.addresses, '/test/echo/1', utf8('again'), { timeoutMs: 5_000 }), utf8('again'));
  });
});
