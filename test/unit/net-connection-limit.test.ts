/**
 * The connection limit of src/net/node.ts (requested by "full"): libp2p refuses every inbound
 * connection once it holds its own maxConnections, so the node gives libp2p max + inboundReserve and
 * trims itself back to max. A node with max 2 that dialled 2 peers still accepts a third that dials it,
 * and settles at 2 connections again.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { NetNode } from '../../src/net/index.ts';
import { inboundReserve } from '../../src/net/node.ts';
import { startNode, waitFor } from './net-helpers.ts';

describe('net: inbound slots kept free above connections.max', () => {
  const nodes: NetNode[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('reserve: at least 2, an eighth of max', () => {
    assert.equal(inboundReserve(2), 2);
    assert.equal(inboundReserve(128), 16);
    assert.equal(inboundReserve(24), 3);
  });

  it('a node full of its own dials still accepts a peer that dials it, then trims back to max', async () => {
    const full = await startNode({ connections: { max: 2 } });
    const [p1, p2, third] = await Promise.all([startNode(), startNode(), startNode()]);
    nodes.push(full, p1, p2, third);
    for (const p of [p1, p2]) await full.dial(p.addresses()[0] as string);
    assert.equal(full.connections().length, 2, 'at max');
    const reached = await third.dial(full.addresses()[0] as string);
    assert.equal(reached, full.peerId, 'the inbound dial was accepted');
    assert.ok(await waitFor(() => full.connections().length <= 2, 5_000), `trimmed back to max: ${full.connections().length}`);
  });
});
