/**
 * The router over an in-memory transport (src/routing/router.ts): real onion packets through real
 * relays' routers; the transport refuses chosen (from → to) pairs, as a node at its connection limit
 * refuses a relay it just cut (docs/delivery.md "Heal").
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '../../src/crypto/hash.ts';
import { generateX25519, type X25519KeyPair } from '../../src/crypto/x25519.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { ErrorCodes, NetworkError } from '../../src/lib/errors.ts';
import { silentLogger } from '../../src/lib/log.ts';
import type { RelayCandidate } from '../../src/routing/path-select.ts';
import { createRouter, type Router, type RouteTarget } from '../../src/routing/router.ts';

interface Net {
  readonly routers: Map<string, Router>;
  readonly keys: Map<string, X25519KeyPair>;
  /** `from>to` pairs whose dial fails. */
  readonly refused: Set<string>;
  /** Every forward, `from>to`. */
  readonly forwards: string[];
  readonly received: Map<string, Uint8Array[]>;
  target(peer: string): RouteTarget;
}

function network(relays: readonly string[], others: readonly string[], seed: string): Net {
  const rng = deterministicRng(utf8(seed), sha256);
  const routers = new Map<string, Router>();
  const keys = new Map<string, X25519KeyPair>();
  const refused = new Set<string>();
  const forwards: string[] = [];
  const received = new Map<string, Uint8Array[]>();
  const all = [...relays, ...others];
  for (const p of all) keys.set(p, generateX25519(rng));
  const candidates = (): RelayCandidate[] =>
    relays.map((p) => ({ peerId: p, prefix: `prefix-${p}`, score: 0.5, routingKey: (keys.get(p) as X25519KeyPair).publicKey, addresses: [`/memory/${p}`] }));
  for (const self of all) {
    routers.set(
      self,
      createRouter({
        selfPeerId: self,
        transport: {
          forward: async (peer, _addresses, packet) => {
            forwards.push(`${self}>${peer}`);
            const next = routers.get(peer);
            if (next === undefined || refused.has(`${self}>${peer}`)) throw new NetworkError(ErrorCodes.UNREACHABLE, 'could not open a stream to the peer');
            return next.handlePacket(packet, self);
          },
        },
        keys: () => [keys.get(self) as X25519KeyPair],
        epoch: () => 0,
        relays: () => candidates().filter((c) => c.peerId !== self),
        addressesOf: (peer) => [`/memory/${peer}`],
        onEnvelope: (envelope) => void received.set(self, [...(received.get(self) ?? []), envelope]),
        clock: () => 1_000_000,
        rng,
        log: silentLogger,
      }),
    );
  }
  return {
    routers,
    keys,
    refused,
    forwards,
    received,
    target: (peer) => ({ peerId: peer, routingKey: (keys.get(peer) as X25519KeyPair).publicKey, addresses: [`/memory/${peer}`] }),
  };
}

describe('router: a last relay that cannot reach the destination', () => {
  test('another last relay is tried in the same send, and avoided for that destination afterwards', async () => {
    const net = network(['r1', 'r2'], ['alice', 'bob', 'carol'], 'compeer/test/router/last-hop');
    net.refused.add('r1>bob'); // bob refuses r1 (it cut r1 and is still full); r2 reaches him
    const alice = net.routers.get('alice') as Router;
    for (let i = 0; i < 12; i++) {
      const r = await alice.send(net.target('bob'), utf8(`message ${i}`), { hops: 1, strict: true });
      assert.equal(r.ok, true, `send ${i} reached bob`);
    }
    assert.equal(net.received.get('bob')?.length, 12);
    const viaR1 = net.forwards.filter((f) => f === 'alice>r1').length;
    assert.ok(viaR1 <= 1, `r1 tried as bob's last hop at most once (${viaR1})`);
    // Only bob's last hop is avoided: paths to carol still use r1.
    for (let i = 0; i < 12; i++) assert.equal((await alice.send(net.target('carol'), utf8(`c ${i}`), { hops: 1, strict: true })).ok, true);
    assert.ok(net.forwards.filter((f) => f === 'alice>r1').length > viaR1, 'r1 still carries paths to carol');
  });

  test('a destination no relay reaches: one more path, then target-unreachable (no more paths)', async () => {
    const net = network(['r1', 'r2', 'r3'], ['alice', 'bob'], 'compeer/test/router/down');
    for (const r of ['r1', 'r2', 'r3']) net.refused.add(`${r}>bob`);
    const alice = net.routers.get('alice') as Router;
    const r = await alice.send(net.target('bob'), utf8('to nobody'), { hops: 1, strict: true });
    assert.deepEqual([r.ok, r.ok ? undefined : r.reason], [false, 'target-unreachable']);
    assert.equal(net.forwards.filter((f) => f.startsWith('alice>')).length, 2, 'two paths');
    assert.equal(net.forwards.filter((f) => f.endsWith('>bob')).length, 2, 'two last hops tried');
  });

  test('a destination that refuses (not unreachable) is not retried', async () => {
    const net = network(['r1', 'r2'], ['alice', 'bob'], 'compeer/test/router/refused');
    const alice = net.routers.get('alice') as Router;
    // bob is no holder: a deposit at bob is refused by bob himself.
    const r = await alice.deposit([net.target('bob')], new Uint8Array(32), 2_000_000, utf8('blob'), { hops: 1, strict: true });
    assert.deepEqual(r, []);
    assert.equal(net.forwards.filter((f) => f.startsWith('alice>')).length, 1, 'one path');
  });
});

describe('router: relay penalties after a cut', () => {
  test('relays penalised while unreachable are left out of paths; one of them connecting again lifts every penalty', async () => {
    const net = network(['r1', 'r2', 'r3'], ['alice', 'bob'], 'compeer/test/router/forgive');
    net.refused.add('alice>r1'); // r1 and r2 are across a cut from alice
    net.refused.add('alice>r2');
    const alice = net.routers.get('alice') as Router;
    const firstHops = (): string[] => net.forwards.filter((f) => f.startsWith('alice>')).map((f) => f.slice('alice>'.length));
    for (let i = 0; i < 6; i++) assert.equal((await alice.send(net.target('bob'), utf8(`cut ${i}`), { hops: 1, strict: false })).ok, true);
    net.refused.clear(); // the cut heals
    net.forwards.length = 0;
    for (let i = 0; i < 12; i++) assert.equal((await alice.send(net.target('bob'), utf8(`healed ${i}`), { hops: 1, strict: false })).ok, true);
    assert.deepEqual(new Set(firstHops()), new Set(['r3']), 'r1 and r2 still penalised: every path through r3');
    assert.equal(alice.forgive('r3'), false, 'not penalised: nothing lifted');
    assert.equal(alice.forgive('r1'), true, 'r1 connected again: the penalties are lifted');
    net.forwards.length = 0;
    for (let i = 0; i < 24; i++) assert.equal((await alice.send(net.target('bob'), utf8(`after ${i}`), { hops: 1, strict: false })).ok, true);
    assert.deepEqual(new Set(firstHops()), new Set(['r1', 'r2', 'r3']), 'r2 as well: penalised in the same cut');
  });
});

describe('router: a default (not strict) path and a last relay that cannot reach the destination', () => {
  test('the relay is left out, the path shorter — down to none — rather than failing there on every try', async () => {
    const net = network(['r1'], ['alice', 'bob'], 'compeer/test/router/only-relay');
    net.refused.add('r1>bob'); // r1 has no address for bob; it is the only relay alice knows
    const alice = net.routers.get('alice') as Router;
    for (let i = 0; i < 6; i++) {
      const r = await alice.send(net.target('bob'), utf8(`m ${i}`), { hops: 1, strict: false });
      assert.equal(r.ok, true, `send ${i} reached bob`);
    }
    assert.equal(net.received.get('bob')?.length, 6);
    assert.equal(net.forwards.filter((f) => f === 'r1>bob').length, 1, 'r1 tried as the last hop once, then left out');
    // Strict: the path keeps its length, so with r1 the only relay there is no way to bob.
    const strict = await alice.send(net.target('bob'), utf8('strict'), { hops: 1, strict: true });
    assert.deepEqual([strict.ok, strict.ok ? undefined : strict.reason], [false, 'target-unreachable']);
  });
});
