/**
 * Joining (src/net/joining.ts) and repeated sightings (src/net/sightings.ts): a node whose bootstrap
 * peer refused it at first still gets in and learns the network (full-baseline-100: 10 of 95 new nodes
 * never knew 8 peers, one ended with 1 connection and an empty peer table; libp2p dials the bootstrap
 * list once), and repeated DHT sightings do not reach the peer table.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { BOOTSTRAP_RETRY_FIRST_MS, BOOTSTRAP_RETRY_MAX_MS, bootstrapToDial, JOIN_PEERS, nextBootstrapDelay } from '../../src/net/joining.ts';
import { createNetNode } from '../../src/net/node.ts';
import { createSightings, SIGHTING_REPEAT_MS } from '../../src/net/sightings.ts';
import type { DiscoveredPeer, DhtNamespace, NetNode, NetNodeOptions } from '../../src/net/types.ts';
import { sleep, waitFor } from './net-helpers.ts';

const anything: DhtNamespace = { validate() {}, select: () => 0 };
const mk = (o: Partial<NetNodeOptions> = {}): Promise<NetNode> =>
  createNetNode({ nodeKey: randomBytes(32), transport: 'memory', dht: { namespaces: { jtest: anything } }, ...o });

describe('joining: bootstrap redials', () => {
  const nodes: NetNode[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  test('a node refused by its bootstrap peer at first is let in later and learns the network', async () => {
    const a = await mk();
    await a.start();
    const [b, c] = await Promise.all([mk({ bootstrap: a.addresses() }), mk({ bootstrap: a.addresses() })]);
    nodes.push(a, b, c);
    await Promise.all([b.start(), c.start()]);
    assert.ok(await waitFor(() => a.connections().length >= 2, 10_000), 'a is connected to b and c');

    // The bootstrap peer refuses d for 6 s (its gater here; a full bootstrap peer in the sim), and
    // libp2p dials the bootstrap list once.
    let open = false;
    const d = await mk({ bootstrap: a.addresses(), allowPeer: () => open });
    nodes.push(d);
    const found = new Map<string, DiscoveredPeer['source']>();
    d.onPeerDiscovered((p) => found.set(p.peerId, p.source));
    await d.start();
    await sleep(6_000);
    assert.equal(d.connections().length, 0);
    open = true;
    assert.ok(await waitFor(() => found.has(b.peerId) && found.has(c.peerId), 20_000, 100), `d learnt b and c (found: ${[...found.values()].join(', ')})`);
    assert.ok(d.connections().some((x) => x.peerId === a.peerId) || found.get(a.peerId) === 'bootstrap', 'the bootstrap peer was dialled again');
  });
});

describe('joining rules', () => {
  test('bootstrap rounds back off from 1 s to 60 s', () => {
    const delays: number[] = [];
    let d: number | undefined;
    for (let i = 0; i < 9; i++) delays.push((d = nextBootstrapDelay(d)));
    assert.equal(delays[0], BOOTSTRAP_RETRY_FIRST_MS);
    assert.deepEqual(delays.slice(0, 4), [1_000, 2_000, 4_000, 8_000]);
    assert.equal(delays.at(-1), BOOTSTRAP_RETRY_MAX_MS);
  });

  test('a round dials the bootstrap peers we are not connected to, and none while we hold JOIN_PEERS connections', () => {
    const list = ['/memory/a/p2p/A', '/memory/b/p2p/B', '/dns4/x.example/tcp/1'];
    const peerOf = (a: string): string | undefined => /\/p2p\/([^/]+)$/.exec(a)?.[1];
    assert.deepEqual(bootstrapToDial(list, peerOf, []), list);
    assert.deepEqual(bootstrapToDial(list, peerOf, ['A', 'Z']), ['/memory/b/p2p/B', '/dns4/x.example/tcp/1']);
    const many = Array.from({ length: JOIN_PEERS }, (_, i) => `P${i}`);
    assert.deepEqual(bootstrapToDial(list, peerOf, many), []);
    assert.deepEqual(bootstrapToDial(list, peerOf, many.slice(1)), list);
  });
});

describe('repeated sightings', () => {
  const peer = (source: DiscoveredPeer['source'], addresses = ['/memory/x/p2p/P']): DiscoveredPeer => ({ peerId: 'P', addresses, source });

  test('the same peer from the same source with the same addresses passes once per SIGHTING_REPEAT_MS', () => {
    let now = 1_000;
    const s = createSightings(() => now);
    assert.equal(s.fresh(peer('dht')), true);
    assert.equal(s.fresh(peer('dht')), false);
    now += SIGHTING_REPEAT_MS - 1;
    assert.equal(s.fresh(peer('dht')), false);
    now += 1;
    assert.equal(s.fresh(peer('dht')), true);
  });

  test('new addresses, another source and every identify pass', () => {
    const s = createSightings(() => 0);
    assert.equal(s.fresh(peer('dht')), true);
    assert.equal(s.fresh(peer('dht', ['/memory/y/p2p/P'])), true);
    assert.equal(s.fresh(peer('bootstrap', ['/memory/y/p2p/P'])), true);
    assert.equal(s.fresh(peer('identify')), true);
    assert.equal(s.fresh(peer('identify')), true);
  });

  test('memory is bounded: the oldest sightings are forgotten first', () => {
    const s = createSightings(() => 0, SIGHTING_REPEAT_MS, 2);
    const at = (id: string): DiscoveredPeer => ({ peerId: id, addresses: [], source: 'dht' });
    assert.equal(s.fresh(at('a')), true);
    assert.equal(s.fresh(at('b')), true);
    assert.equal(s.fresh(at('c')), true); // forgets a
    assert.equal(s.fresh(at('c')), false);
    assert.equal(s.fresh(at('a')), true);
  });
});
