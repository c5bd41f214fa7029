/**
 * The in-process variant (transport 'memory', for sim/): requests, gossip subscribed before start, a DHT
 * lookup through a third node, and a stop/start cycle — no sockets at all.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { utf8 } from '../../src/lib/bytes.ts';
import { createNetNode } from '../../src/net/node.ts';
import type { DhtNamespace, NetNode } from '../../src/net/types.ts';
import { waitFor } from './net-helpers.ts';

const anything: DhtNamespace = { validate() {}, select: () => 0 };
const mk = (bootstrap?: string[]): Promise<NetNode> =>
  createNetNode({ nodeKey: randomBytes(32), transport: 'memory', dht: { namespaces: { mtest: anything } }, ...(bootstrap ? { bootstrap } : {}) });

describe('net over @libp2p/memory', () => {
  let a: NetNode;
  let b: NetNode;
  let c: NetNode;
  const heard: string[] = [];

  before(async () => {
    a = await mk();
    a.subscribe('/mtest/topic', (d) => heard.push(new TextDecoder().decode(d))); // before start
    await a.handle('/mtest/echo/1', async (req) => req);
    await a.start();
    [b, c] = await Promise.all([mk(a.addresses()), mk(a.addresses())]);
    await Promise.all([b.start(), c.start()]);
  });

  after(async () => {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  });

  test('addresses are memory multiaddrs ending in the peer ID', () => {
    assert.deepEqual(a.addresses(), [`/memory/${a.peerId}/p2p/${a.peerId}`]);
  });

  test('request, gossip and DHT work in memory', async () => {
    assert.deepEqual(await b.request(a.peerId, a.addresses(), '/mtest/echo/1', utf8('mem')), utf8('mem'));
    assert.ok(await waitFor(async () => (await b.publish('/mtest/topic', utf8('hi'))) > 0 && heard.includes('hi'), 5_000, 100), 'gossip');
    assert.ok(await waitFor(() => b.connections().length > 0 && c.connections().length > 0, 5_000), 'connected');
    await b.dhtPut('/mtest/k', utf8('v'), { timeoutMs: 3_000 });
    const got = await c.dhtGet('/mtest/k', { timeoutMs: 3_000 });
    assert.ok(got.some((v) => new TextDecoder().decode(v) === 'v'));
  });

  test('a node can stop and start again', async () => {
    await a.stop();
    await assert.rejects(a.request(b.peerId, [], '/x/1', utf8('x')), (e: unknown) => (e as { code?: string }).code === 'NOT_RUNNING');
    await a.start();
    assert.deepEqual(await b.request(a.peerId, a.addresses(), '/mtest/echo/1', utf8('again'), { timeoutMs: 5_000 }), utf8('again'));
  });
});
