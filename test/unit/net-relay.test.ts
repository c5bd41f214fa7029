/**
 * circuit-relay-v2 through src/net/: R relays, A reserves a slot on R and announces the relayed address,
 * B reaches A through R only, and a request/response works over the limited connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { utf8 } from '../../src/lib/bytes.ts';
import type { NetNode } from '../../src/net/types.ts';
import { startNode, waitFor } from './net-helpers.ts';

describe('net/relay', () => {
  let r: NetNode;
  let a: NetNode;
  let b: NetNode;

  before(async () => {
    r = await startNode({ relayServer: true });
    [a, b] = await Promise.all([startNode({ relayListen: true, bootstrap: r.addresses() }), startNode()]);
    await a.handle('/test/echo/1', async (req) => req);
  });

  after(async () => {
    await Promise.all([a.stop(), b.stop(), r.stop()]);
  });

  test('a request reaches a node through its relay', async () => {
    const relayed = (): string | undefined => a.addresses().find((x) => x.includes('/p2p-circuit/'));
    assert.ok(await waitFor(() => relayed() !== undefined, 8_000), 'A announces a relayed address');
    const addr = relayed() ?? '';
    assert.ok(addr.startsWith('/ip4/127.0.0.1/') && addr.includes(r.peerId), addr);
    const res = await b.request(a.peerId, [addr], '/test/echo/1', utf8('via relay'), { timeoutMs: 5_000 });
    assert.deepEqual(res, utf8('via relay'));
    assert.ok(b.connections().some((c) => c.peerId === a.peerId && c.limited), 'the connection to A is relayed');
  });
});
