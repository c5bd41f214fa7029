/**
 * `/compeer/bundle/2` (src/node/bundles.ts, prekeys.ts `bundleHandler`): a node gives its prekey bundle —
 * and with it its user's identity — only to a request naming that user (SHA-256 of a label and the user
 * ID). An empty request, another length, another user's request or the DHT key of our own record get an
 * empty response and use up no one-time prekey; refusals are logged without the request, at most a
 * burst per window. `fetchBundle` sends the request for the user it is asked for. Then the same over
 * the wire between two real nodes, where a version-1 request is not even negotiated.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { fromHex, toHex } from '../../src/lib/bytes.ts';
import { ErrorCodes, NetworkError } from '../../src/lib/errors.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { systemRng } from '../../src/lib/system.ts';
import { BUNDLE_PROTOCOL, BUNDLE_REQUEST_LENGTH, bundleDhtKey, bundleRequest, fetchBundle } from '../../src/node/bundles.ts';
import { memoryNodeStore, type NodeStore } from '../../src/node/node-store.ts';
import { BUNDLE_REFUSAL_LOG_BURST, BUNDLE_REFUSAL_LOG_WINDOW_MS, bundleHandler, createPrekeyManager } from '../../src/node/prekeys.ts';
import { decodePrekeyBundle } from '../../src/protocol/handshake/bundle.ts';
import { generateIdentity, userIdOf } from '../../src/protocol/identity.ts';
import { captureLogger, codeOf } from './net-helpers.ts';
import { suiteNodes } from './node-helpers.ts';

/** A node's bundle server on its own: the in-memory store, a prekey manager and a clock the test moves. */
function server(name: string) {
  const store: NodeStore = memoryNodeStore(generateIdentity(systemRng), name);
  const prekeys = createPrekeyManager(store, systemRng);
  let now = 1_700_000_000_000;
  prekeys.maintain(now);
  const logs = captureLogger();
  const handle = bundleHandler(prekeys, store, () => now, logs.logger, () => false);
  const oneTime = (): [number, number] => [store.prekeys.availableOneTimePrekeys(), store.prekeys.availableOneTimeKemPrekeys()];
  return { userId: userIdOf(store.identity.public), store, handle, logs, oneTime, advance: (ms: number) => (now += ms) };
}

describe('bundle request: the handler', () => {
  test("a stranger's empty request, other lengths, another user's request, random bytes, our DHT key: nothing, no one-time prekey used", async () => {
    const bob = server('bob');
    const carol = server('carol');
    const before = bob.oneTime();
    const requests = [
      new Uint8Array(0), // what every version-1 requester sent
      new Uint8Array(1),
      bundleRequest(bob.userId).subarray(0, 31),
      new Uint8Array([...bundleRequest(bob.userId), 0]),
      new Uint8Array(64),
      bundleRequest(carol.userId), // a request naming another user
      randomBytes(BUNDLE_REQUEST_LENGTH),
      fromHex(bundleDhtKey(bob.userId).split('/')[2] as string), // the DHT key's hash is not the request
    ];
    for (const req of requests) {
      const res = await bob.handle(req, 'stranger');
      assert.equal(res.length, 0, `${req.length}-byte request answered`);
    }
    assert.deepEqual(bob.oneTime(), before, 'no one-time prekey reserved for a refused request');
    assert.equal(bob.logs.find('bundle request refused').length, requests.length);
  });

  test('the request naming our user gets our bundle with a one-time prekey (one reserved)', async () => {
    const bob = server('bob');
    const [x25519, kem] = bob.oneTime();
    const bundle = decodePrekeyBundle(await bob.handle(bundleRequest(bob.userId), 'alice'));
    assert.equal(bundle.userId, bob.userId);
    assert.ok(bundle.oneTimePrekey, 'a served bundle names a one-time prekey');
    assert.deepEqual(bob.oneTime(), [x25519 - 1, kem - 1]);
    assert.equal(bob.logs.find('bundle request refused').length, 0);
  });

  test('refusals are logged without the request or our user, at most a burst per window; the next line counts the rest', async () => {
    const bob = server('bob');
    const guessed = bundleRequest(server('carol').userId);
    for (let i = 0; i < BUNDLE_REFUSAL_LOG_BURST * 10; i++) await bob.handle(i % 2 === 0 ? guessed : new Uint8Array(0), 'prober');
    const lines = bob.logs.find('bundle request refused');
    assert.equal(lines.length, BUNDLE_REFUSAL_LOG_BURST);
    const text = JSON.stringify(bob.logs.lines);
    for (const secretish of [bob.userId, toHex(guessed), toHex(bundleRequest(bob.userId)), Buffer.from(guessed).toString('base64')]) {
      assert.ok(!text.includes(secretish), 'the log names neither the request nor a user');
    }
    assert.deepEqual(Object.keys(lines[0] ?? {}).sort(), ['bytes', 'level', 'msg', 'peer', 't']);
    bob.advance(BUNDLE_REFUSAL_LOG_WINDOW_MS);
    await bob.handle(guessed, 'prober');
    const next = bob.logs.find('bundle request refused');
    assert.equal(next.length, BUNDLE_REFUSAL_LOG_BURST + 1);
    assert.equal(next.at(-1)?.notLogged, BUNDLE_REFUSAL_LOG_BURST * 9);
  });
});

describe('bundle request: fetchBundle', () => {
  /** A network of bundle servers by peer ID; records what was asked of whom. */
  function network(servers: Record<string, ReturnType<typeof server>>) {
    const asked: Array<{ peer: string; proto: string; bytes: Uint8Array }> = [];
    const net = {
      async request(peer: string, _addrs: string[], proto: string, bytes: Uint8Array): Promise<Uint8Array> {
        asked.push({ peer, proto, bytes });
        const s = servers[peer];
        if (s === undefined) throw new NetworkError(ErrorCodes.UNREACHABLE, 'no carrier');
        return s.handle(bytes, 'alice');
      },
      dhtGet: async (): Promise<Uint8Array[]> => [],
    };
    return { net, asked };
  }

  test("names the user it is asked for, and gets that user's bundle from its node", async () => {
    const bob = server('bob');
    const { net, asked } = network({ PeerBob: bob });
    const bundle = await fetchBundle(net, bob.userId, ['/ip4/203.0.113.9/tcp/4002/p2p/PeerBob'], silentLogger);
    assert.equal(bundle.userId, bob.userId);
    assert.ok(bundle.oneTimePrekey, 'the direct answer, not the DHT record');
    assert.equal(asked.length, 1);
    assert.equal(asked[0]?.proto, BUNDLE_PROTOCOL);
    assert.deepEqual(asked[0]?.bytes, bundleRequest(bob.userId));
  });

  test("an address now run by another user's node gives nothing (its one-time prekeys untouched); the DHT is asked next", async () => {
    const bob = server('bob');
    const carol = server('carol');
    const before = carol.oneTime();
    const { net } = network({ PeerCarrot: carol });
    await assert.rejects(
      fetchBundle(net, bob.userId, ['/ip4/203.0.113.9/tcp/4002/p2p/PeerCarrot'], silentLogger),
      (e) => codeOf(e) === 'UNREACHABLE',
    );
    assert.deepEqual(carol.oneTime(), before);
    assert.equal(carol.logs.find('bundle request refused').length, 1);
  });
});

describe('bundle request: two nodes over the wire', () => {
  const nodes = suiteNodes();

  test("a stranger's empty request and one naming another user get nothing; the right one gets the bundle; version 1 is gone", async () => {
    const { alice, bob } = nodes;
    const peer = bob.node.peerId;
    const addrs = bob.node.net.addresses();
    const ask = (bytes: Uint8Array, proto = BUNDLE_PROTOCOL) => alice.node.net.request(peer, addrs, proto, bytes, { timeoutMs: 3_000 });
    const before = bob.store.prekeys.availableOneTimePrekeys();
    assert.equal((await ask(new Uint8Array(0))).length, 0);
    assert.equal((await ask(bundleRequest(alice.node.userId))).length, 0);
    assert.equal(bob.store.prekeys.availableOneTimePrekeys(), before);
    const bundle = decodePrekeyBundle(await ask(bundleRequest(bob.node.userId)));
    assert.equal(bundle.userId, bob.node.userId);
    assert.equal(bob.store.prekeys.availableOneTimePrekeys(), before - 1);
    // A version-1 requester (empty request) is not answered at all: the protocol is not offered.
    await assert.rejects(ask(new Uint8Array(0), '/compeer/bundle/1'));
  });
});
