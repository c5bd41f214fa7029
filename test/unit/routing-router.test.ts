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
import { createLogger, silentLogger } from '../../src/lib/log.ts';
import type { RelayCandidate } from '../../src/routing/path-select.ts';
import { buildOnion, type OnionLayer } from '../../src/protocol/onion/packet.ts';
import { chunkPayload } from '../../src/routing/chunks.ts';
import { encodeExit } from '../../src/routing/exit-frame.ts';
import { createMailboxHolder } from '../../src/routing/mailbox-holder.ts';
import { createReplayCache } from '../../src/routing/onion-replay.ts';
import { decodeReplaySnapshot, encodeReplaySnapshot } from '../../src/routing/replay-snapshot.ts';
import { CHUNK_CAPACITY, createRouter, type Router, type RouterDeps, type RouteTarget } from '../../src/routing/router.ts';
import { memoryMailboxRepository } from '../../src/store/mailboxes.ts';
import { memoryTransactions } from '../../src/store/memory-tx.ts';

const rng = deterministicRng(utf8('compeer/test/router'), sha256);

interface Net {
  readonly routers: Map<string, Router>;
  readonly keys: Map<string, X25519KeyPair>;
  /** `from>to` pairs whose dial fails. */
  readonly refused: Set<string>;
  /** Every forward, `from>to`. */
  readonly forwards: string[];
  /** Every packet forwarded, in order (`forwards` names their hops). */
  readonly packets: Uint8Array[];
  readonly received: Map<string, Uint8Array[]>;
  target(peer: string): RouteTarget;
}

/** `custom` replaces a node's router deps (its keys and epoch, a holder, limits). */
function network(relays: readonly string[], others: readonly string[], seed: string, custom: Readonly<Record<string, Partial<RouterDeps>>> = {}): Net {
  const rng = deterministicRng(utf8(seed), sha256);
  const routers = new Map<string, Router>();
  const keys = new Map<string, X25519KeyPair>();
  const refused = new Set<string>();
  const forwards: string[] = [];
  const packets: Uint8Array[] = [];
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
            packets.push(packet.slice());
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
        ...custom[self],
      }),
    );
  }
  return {
    routers,
    keys,
    refused,
    forwards,
    packets,
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

/** A one-relay packet through `relay` to `target`, delivering `message` as one chunk. */
function onionVia(relay: X25519KeyPair, target: RouteTarget, message: Uint8Array, seed: string): Uint8Array {
  const rng = deterministicRng(utf8(seed), sha256);
  const [chunk] = chunkPayload(message, CHUNK_CAPACITY, rng);
  const layers: OnionLayer[] = [
    { routingKey: relay.publicKey, instruction: { kind: 'forward', next: target.peerId } },
    { routingKey: target.routingKey, instruction: { kind: 'exit' } },
  ];
  return buildOnion(layers, encodeExit({ kind: 'deliver', chunk: chunk as Uint8Array }), rng);
}

describe('router: the replay cache', () => {
  /** r1's keys rotate: `epoch` and its pairs (current first) are whatever the test sets. */
  function rotating(seed: string) {
    const krng = deterministicRng(utf8(`${seed}/keys`), sha256);
    const byEpoch = new Map<number, X25519KeyPair>();
    const keyOf = (e: number): X25519KeyPair => byEpoch.get(e) ?? (byEpoch.set(e, generateX25519(krng)).get(e) as X25519KeyPair);
    const state = { epoch: 5 };
    const deps: Partial<RouterDeps> = {
      epoch: () => state.epoch,
      keys: () => [keyOf(state.epoch), keyOf(state.epoch - 1)],
    };
    return { state, keyOf, deps };
  }

  test('a packet recorded under the previous key just before a rotation is still a replay just after it', async () => {
    const r1 = rotating('compeer/test/router/rotation');
    const net = network(['r1'], ['alice', 'bob'], 'compeer/test/router/rotation', { r1: r1.deps });
    const relay = net.routers.get('r1') as Router;
    // Built by alice for r1's epoch-5 key (the one r1 announced), delivering one chunk to bob.
    const packet = onionVia(r1.keyOf(5), net.target('bob'), utf8('once'), 'compeer/test/router/rotation/packet');
    assert.deepEqual(await relay.handlePacket(packet, 'alice'), { status: 'ok', depth: 0 });
    assert.deepEqual(net.received.get('bob'), [utf8('once')]);
    assert.deepEqual(await relay.handlePacket(packet, 'mallory'), { status: 'refused', depth: 0 }, 'replay in the same epoch');
    r1.state.epoch = 6; // rotation: the epoch-5 key is now the previous one and still peels
    assert.deepEqual(await relay.handlePacket(packet, 'mallory'), { status: 'refused', depth: 0 }, 'replay after the rotation');
    assert.deepEqual(net.forwards, ['r1>bob'], 'forwarded once');
    const fresh = onionVia(r1.keyOf(5), net.target('bob'), utf8('late'), 'compeer/test/router/rotation/late');
    assert.deepEqual(await relay.handlePacket(fresh, 'alice'), { status: 'ok', depth: 0 }, 'a new packet for the previous key still goes');
    assert.deepEqual(await relay.handlePacket(fresh, 'mallory'), { status: 'refused', depth: 0 }, 'once');
    r1.state.epoch = 7; // the epoch-5 key is retired: the packet no longer peels
    assert.deepEqual(await relay.handlePacket(packet, 'mallory'), { status: 'refused', depth: 0 });
    assert.deepEqual(net.forwards, ['r1>bob', 'r1>bob']);
    assert.deepEqual(net.received.get('bob'), [utf8('once'), utf8('late')]);
  });
});

describe('router: the replay cache across a restart', () => {
  test('a router given the cache restored from the one before the restart refuses the packets it took', async () => {
    const seed = 'compeer/test/router/restart'; // the same seed: the same keys, as a node reloads them
    const before = createReplayCache({ rng });
    const first = network(['r1'], ['alice', 'bob'], seed, { r1: { replay: before } });
    const r1Key = first.keys.get('r1') as X25519KeyPair;
    const packet = onionVia(r1Key, first.target('bob'), utf8('once'), `${seed}/packet`);
    assert.deepEqual(await (first.routers.get('r1') as Router).handlePacket(packet, 'alice'), { status: 'ok', depth: 0 });
    const saved = encodeReplaySnapshot(before.snapshot());

    const empty = network(['r1'], ['alice', 'bob'], seed);
    assert.deepEqual(await (empty.routers.get('r1') as Router).handlePacket(packet, 'mallory'), { status: 'ok', depth: 0 }, 'an empty cache lets it through once more');

    const second = network(['r1'], ['alice', 'bob'], seed, { r1: { replay: createReplayCache({ rng, from: decodeReplaySnapshot(saved) }) } });
    const relay = second.routers.get('r1') as Router;
    assert.deepEqual(await relay.handlePacket(packet, 'mallory'), { status: 'refused', depth: 0 }, 'replay after the restart');
    assert.deepEqual(second.forwards, [], 'not forwarded');
    const fresh = onionVia(r1Key, second.target('bob'), utf8('new'), `${seed}/fresh`);
    assert.deepEqual(await relay.handlePacket(fresh, 'alice'), { status: 'ok', depth: 0 }, 'a new packet goes');
    assert.deepEqual(second.received.get('bob'), [utf8('new')]);
  });
});

describe('router: replay refusals in the log', () => {
  test('a flood of replays writes one warning a minute, the count of the others in the next', async () => {
    const lines: Record<string, unknown>[] = [];
    const clock = { now: 1_000_000 };
    const log = createLogger({ level: 'warn', sink: (l) => void lines.push(JSON.parse(l) as Record<string, unknown>), now: () => clock.now });
    const net = network(['r1'], ['alice', 'bob'], 'compeer/test/router/log', { r1: { log, clock: () => clock.now } });
    const relay = net.routers.get('r1') as Router;
    const packet = onionVia(net.keys.get('r1') as X25519KeyPair, net.target('bob'), utf8('x'), 'compeer/test/router/log/packet');
    assert.equal((await relay.handlePacket(packet, 'alice')).status, 'ok');
    for (let i = 0; i < 50; i++) assert.equal((await relay.handlePacket(packet, 'mallory')).status, 'refused');
    assert.deepEqual(lines.map((l) => [l.msg, l.error]), [['onion packet refused', 'replayed layer']], 'one line for 50 replays');
    clock.now += 60_000;
    await relay.handlePacket(packet, 'mallory');
    assert.equal(lines.length, 2);
    assert.equal(lines[1]?.refusedSinceLastWarning, 49);
  });
});

describe('router: a full replay cache', () => {
  const fillerKey = generateX25519(deterministicRng(utf8('compeer/test/router/full/filler'), sha256));

  /** Fills `node`'s cache (room for 8 tags, shares of 1) with forwards from 8 hops to a peer nobody reaches. */
  async function fill(net: Net, node: string): Promise<void> {
    const router = net.routers.get(node) as Router;
    const nowhere: RouteTarget = { peerId: 'nowhere', routingKey: fillerKey.publicKey, addresses: [] };
    for (let i = 0; i < 8; i++) {
      const packet = onionVia(net.keys.get(node) as X25519KeyPair, nowhere, utf8(`filler ${i}`), `compeer/test/router/full/${i}`);
      assert.deepEqual(await router.handlePacket(packet, `hop-${i}`), { status: 'unreachable', depth: 1 }, 'recorded and forwarded');
    }
    const more = onionVia(net.keys.get(node) as X25519KeyPair, nowhere, utf8('one more'), 'compeer/test/router/full/more');
    assert.deepEqual(await router.handlePacket(more, 'hop-8'), { status: 'refused', depth: 0 }, 'full: forwarding refused');
  }

  test("still takes exits: the node's own mail is delivered and deposits are stored; their replays change nothing", async () => {
    const tx = memoryTransactions();
    const mail = memoryMailboxRepository(tx);
    const holder = createMailboxHolder({ repo: mail, transaction: (fn) => tx.transaction(fn), clock: () => 1_000_000, rng, selfPeerId: 'bob' });
    const net = network(['r1', 'bob'], ['alice'], 'compeer/test/router/full', { bob: { holder, limits: { replayTagsPerEpoch: 8 } } });
    await fill(net, 'bob');
    const alice = net.routers.get('alice') as Router;
    const bob = net.routers.get('bob') as Router;
    net.forwards.length = 0;
    net.packets.length = 0;
    assert.equal((await alice.send(net.target('bob'), utf8('own mail'), { hops: 1, strict: true })).ok, true);
    assert.deepEqual(net.received.get('bob'), [utf8('own mail')]);
    const address = new Uint8Array(32).fill(7);
    assert.deepEqual(await alice.deposit([net.target('bob')], address, 2_000_000, utf8('held'), { hops: 1, strict: true }), ['bob']);
    assert.equal(mail.usage(address).count, 1, 'stored');
    // What r1 handed bob (the exit layers) played again: taken (the cache has no room to refuse them)
    // and harmless — the chunk's set is already complete, the deposit is the holder's duplicate.
    const exits = net.packets.filter((_, i) => net.forwards[i] === 'r1>bob');
    assert.equal(exits.length, 2);
    for (const p of exits) assert.deepEqual(await bob.handlePacket(p, 'r1'), { status: 'ok', depth: 0 });
    assert.deepEqual(net.received.get('bob'), [utf8('own mail')], 'delivered once');
    assert.equal(mail.usage(address).count, 1, 'stored once');
  });

  test('one previous hop cannot fill it: after its share, its forwards are refused and another hop is still relayed', async () => {
    // Room for 64 tags: 8 shares of 8.
    const net = network(['r1'], ['alice', 'bob'], 'compeer/test/router/share', { r1: { limits: { replayTagsPerEpoch: 64 } } });
    const relay = net.routers.get('r1') as Router;
    const r1Key = net.keys.get('r1') as X25519KeyPair;
    const answers: string[] = [];
    for (let i = 0; i < 12; i++) {
      const packet = onionVia(r1Key, net.target('bob'), utf8(`flood ${i}`), `compeer/test/router/share/${i}`);
      answers.push((await relay.handlePacket(packet, 'mallory')).status);
    }
    assert.deepEqual(answers, [...Array<string>(8).fill('ok'), ...Array<string>(4).fill('refused')]);
    const alice = net.routers.get('alice') as Router;
    for (let i = 0; i < 8; i++) assert.equal((await alice.send(net.target('bob'), utf8(`alice ${i}`), { hops: 1, strict: true })).ok, true);
    assert.equal(net.received.get('bob')?.length, 16);
  });
});
