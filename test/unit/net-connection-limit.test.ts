/**
 * The connection limit of src/net/node.ts (requested by "full"): libp2p refuses every inbound
 * connection once it holds its own maxConnections, so the node gives libp2p max + inboundReserve and
 * trims itself back to max. A node with max 2 that dialled 2 peers still accepts a third that dials it,
 * and settles at 2 connections again. A peer the trim cut that dials straight back gets in once (a
 * relay forwarding a packet, a new contact: src/net/trim.ts; a second return inside the cool-down is
 * refused — unit-tested in net-trim.test.ts) and the node trims back to max; a peer it did not cut is
 * accepted. A new connection is in use for TRIM_GRACE_MS (its first request may still be coming): the
 * node trims back to max after it.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { NetNode } from '../../src/net/index.ts';
import { inboundReserve } from '../../src/net/connection-trim.ts';
import { TRIM_GRACE_MS } from '../../src/net/trim.ts';
import { startNode, waitFor } from './net-helpers.ts';

/** The grace of the newest connection, then the trim (on a loaded machine). */
const TRIMMED_MS = TRIM_GRACE_MS + 10_000;

describe('net: inbound slots kept free above connections.max', () => {
  const nodes: NetNode[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('a peer the trim cut that dials straight back gets in once, then the node is back at max; a peer it did not cut is accepted', async () => {
    const full = await startNode({ connections: { max: 2 } });
    const [p1, p2, third, fourth] = await Promise.all([startNode(), startNode(), startNode(), startNode()]);
    nodes.push(full, p1, p2, third, fourth);
    for (const p of [p1, p2]) await full.dial(p.addresses()[0] as string);
    // Past their grace, the two are idle: the newcomer, in use, stays and the older of them goes.
    await new Promise((r) => setTimeout(r, TRIM_GRACE_MS + 500));
    await third.dial(full.addresses()[0] as string);
    // The dialler's dial resolves before the node has registered its end of the connection.
    assert.ok(await waitFor(() => full.connections().some((c) => c.peerId === third.peerId), 5_000), 'the newcomer connected');
    assert.ok(await waitFor(() => full.connections().length <= 2, TRIMMED_MS), 'trimmed back to max');
    assert.ok(full.connections().some((c) => c.peerId === third.peerId), 'the new connection, in use, was kept');
    const cut = [p1, p2].filter((p) => !full.connections().some((c) => c.peerId === p.peerId));
    assert.equal(cut.length, 1, 'one peer cut');
    const victim = cut[0] as NetNode;
    // Its end of the cut connection may still be closing: hang it up, then dial again.
    await victim.hangUp(full.peerId);
    assert.ok(await waitFor(() => !victim.connections().some((c) => c.peerId === full.peerId), 5_000), 'the cut peer hung up');
    assert.equal(await victim.dial(full.addresses()[0] as string), full.peerId, 'its first return is let in');
    assert.ok(await waitFor(() => full.connections().some((c) => c.peerId === victim.peerId), 5_000), 'the node holds it');
    assert.ok(await waitFor(() => full.connections().length <= 2, TRIMMED_MS), 'trimmed back to max after its grace');
    const reached = await fourth.dial(full.addresses()[0] as string);
    assert.equal(reached, full.peerId, 'a peer that was not cut is accepted');
  });

  it('a kept peer (a contact\'s node) is the last the trim cuts', async () => {
    const full = await startNode({ connections: { max: 2 } });
    const [p1, p2, third] = await Promise.all([startNode(), startNode(), startNode()]);
    nodes.push(full, p1, p2, third);
    for (const p of [p1, p2]) await full.dial(p.addresses()[0] as string);
    full.keepPeers([p1.peerId]);
    await third.dial(full.addresses()[0] as string);
    // The dialler's dial resolves before the node has registered its end of the connection.
    assert.ok(await waitFor(() => full.connections().some((c) => c.peerId === third.peerId), 5_000), 'the newcomer connected');
    assert.ok(await waitFor(() => full.connections().length <= 2, TRIMMED_MS), 'trimmed back to max');
    assert.ok(full.connections().some((c) => c.peerId === p1.peerId), 'the kept peer, the oldest and idle, is still connected');
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
    assert.ok(await waitFor(() => full.connections().some((c) => c.peerId === third.peerId), 5_000), 'the newcomer connected');
    assert.ok(await waitFor(() => full.connections().length <= 2, TRIMMED_MS), `trimmed back to max: ${full.connections().length}`);
  });
});
