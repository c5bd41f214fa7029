/**
 * Fuzz of the onion router's network entry point, `handlePacket(packet, from)` (src/routing/router.ts),
 * over an in-memory transport (alice → r1 → bob, bob a mailbox holder): random packets, mutated real
 * packets, and real onions to bob whose exit payload is random or mutated (what a sender controls).
 * The handler never throws, answers a well-formed HopAnswer, logs only typed errors (no INTERNAL: an
 * untyped throw inside is wrapped as INTERNAL), and afterwards a real send and a real deposit still
 * get through (no corrupted reassembler, replay cache or holder state).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sha256 } from '../../src/crypto/hash.ts';
import { generateX25519, type X25519KeyPair } from '../../src/crypto/x25519.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { createLogger } from '../../src/lib/log.ts';
import { buildOnion, ONION_PACKET_BYTES } from '../../src/protocol/onion/packet.ts';
import { deriveMailbox } from '../../src/protocol/mailbox/keys.ts';
import { encodeDeposit } from '../../src/protocol/mailbox/wire.ts';
import { chunkPayload } from '../../src/routing/chunks.ts';
import { encodeExit, type HopAnswer } from '../../src/routing/exit-frame.ts';
import { createMailboxHolder } from '../../src/routing/mailbox-holder.ts';
import { CHUNK_CAPACITY, createRouter, type Router, type RouteTarget } from '../../src/routing/router.ts';
import { memoryMailboxRepository } from '../../src/store/mailboxes.ts';
import { memoryTransactions } from '../../src/store/memory-tx.ts';
import { attempt, bytesArb, mutateAll, mutationsArb, params, sameBytes } from './_fuzz.ts';

const NOW = 1_000_000;
const rng = deterministicRng(sha256(utf8('compeer/fuzz/router')), sha256);

interface Net {
  readonly routers: Map<string, Router>;
  readonly keys: Map<string, X25519KeyPair>;
  readonly received: Uint8Array[];
  /** Errors logged with an INTERNAL code or a non-Compeer name. */
  readonly untyped: string[];
  target(peer: string): RouteTarget;
}

function network(): Net {
  const names = ['alice', 'r1', 'bob'];
  const routers = new Map<string, Router>();
  const keys = new Map<string, X25519KeyPair>();
  const received: Uint8Array[] = [];
  const untyped: string[] = [];
  const log = createLogger({
    level: 'debug',
    sink: (line) => {
      for (const v of Object.values(JSON.parse(line) as Record<string, unknown>)) {
        const e = v as { name?: unknown; code?: unknown } | null;
        if (typeof e === 'object' && e !== null && typeof e.name === 'string' && (e.code === 'INTERNAL' || !/Error$/.test(e.name) || ['Error', 'TypeError', 'RangeError', 'SyntaxError'].includes(e.name))) untyped.push(line);
      }
    },
  });
  for (const p of names) keys.set(p, generateX25519(rng));
  const tx = memoryTransactions();
  const holder = createMailboxHolder({ repo: memoryMailboxRepository(tx), transaction: (fn) => tx.transaction(fn), clock: () => NOW, rng, selfPeerId: 'bob' });
  for (const self of names) {
    routers.set(
      self,
      createRouter({
        selfPeerId: self,
        transport: {
          forward: async (peer, _addresses, packet) => (routers.get(peer) as Router).handlePacket(packet, self),
        },
        keys: () => [keys.get(self) as X25519KeyPair],
        epoch: () => 0,
        relays: () => [{ peerId: 'r1', prefix: 'prefix-r1', score: 0.5, routingKey: (keys.get('r1') as X25519KeyPair).publicKey, addresses: ['/memory/r1'] }],
        addressesOf: (peer) => [`/memory/${peer}`],
        onEnvelope: (envelope) => void (self === 'bob' && received.push(envelope)),
        ...(self === 'bob' ? { holder } : {}),
        clock: () => NOW,
        rng,
        log,
      }),
    );
  }
  return { routers, keys, received, untyped, target: (peer) => ({ peerId: peer, routingKey: (keys.get(peer) as X25519KeyPair).publicKey, addresses: [`/memory/${peer}`] }) };
}

function wellFormed(a: HopAnswer): void {
  assert.ok(['ok', 'unreachable', 'refused', 'busy'].includes(a.status) && Number.isInteger(a.depth) && a.depth >= 0 && a.depth <= 8, JSON.stringify(a));
}

/** A real send and a real deposit still work. */
async function stillWorks(net: Net): Promise<void> {
  const alice = net.routers.get('alice') as Router;
  const envelope = rng.bytes(5000);
  const before = net.received.length;
  assert.equal((await alice.send(net.target('bob'), envelope, { hops: 1, strict: true })).ok, true, 'a real send gets through');
  assert.ok(net.received.slice(before).some((e) => sameBytes(e, envelope)), 'bob got the envelope');
  const box = deriveMailbox(new Uint8Array(32).fill(3), 11);
  assert.deepEqual(await alice.deposit([net.target('bob')], box.address, NOW + 60_000, rng.bytes(700), { hops: 1, strict: true }), ['bob'], 'a real deposit is stored');
}

describe('fuzz: the onion router handler (src/routing/router.ts handlePacket)', () => {
  it('random and mutated packets at a relay and at the destination: a well-formed answer, typed errors only; real traffic still flows', async () => {
    const net = network();
    const real = buildOnion(
      [
        { routingKey: (net.keys.get('r1') as X25519KeyPair).publicKey, instruction: { kind: 'forward', next: 'bob' } },
        { routingKey: (net.keys.get('bob') as X25519KeyPair).publicKey, instruction: { kind: 'exit' } },
      ],
      encodeExit({ kind: 'deliver', chunk: chunkPayload(rng.bytes(100), CHUNK_CAPACITY, rng)[0] as Uint8Array }),
      rng,
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('r1', 'bob'), fc.boolean(), bytesArb(ONION_PACKET_BYTES + 10), mutationsArb, async (at, random, junk, ms) => {
        const packet = random ? junk : mutateAll(real, ms);
        wellFormed(await (net.routers.get(at) as Router).handlePacket(packet, 'mallory'));
      }),
      params(200),
    );
    assert.deepEqual(net.untyped, []);
    await stillWorks(net);
  });

  it('real onions to bob with random or mutated exit payloads (deliver chunks, deposits): a well-formed answer, typed errors only; real traffic still flows', async () => {
    const net = network();
    const box = deriveMailbox(new Uint8Array(32).fill(4), 11);
    const samples = [
      encodeExit({ kind: 'deliver', chunk: chunkPayload(rng.bytes(100), CHUNK_CAPACITY, rng)[0] as Uint8Array }),
      encodeExit({ kind: 'deliver', chunk: chunkPayload(rng.bytes(3 * CHUNK_CAPACITY), CHUNK_CAPACITY, rng)[1] as Uint8Array }),
      encodeExit({ kind: 'deposit', deposit: encodeDeposit({ address: box.address, expiresAt: NOW + 60_000, blob: rng.bytes(500) }) }),
    ];
    const bobKey = (net.keys.get('bob') as X25519KeyPair).publicKey;
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: samples.length - 1 }), fc.boolean(), bytesArb(600), mutationsArb, async (i, random, junk, ms) => {
        const payload = random ? junk : mutateAll(samples[i] as Uint8Array, ms);
        // A payload too large for one packet is not sendable (a typed refusal by the builder).
        const packet = attempt('buildOnion', () => buildOnion([{ routingKey: bobKey, instruction: { kind: 'exit' } }], payload, rng));
        if (packet.ok) wellFormed(await (net.routers.get('bob') as Router).handlePacket(packet.value, 'r1'));
      }),
      params(300),
    );
    assert.deepEqual(net.untyped, []);
    await stillWorks(net);
  });
});
