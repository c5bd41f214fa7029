/**
 * Fuzz of a node's `/compeer/msg/1` handler (src/node/messaging.ts `handle`), through the real network
 * entry point: two Compeer nodes on 127.0.0.1 that are contacts, and Alice's node sending Bob's random
 * requests, mutated batches, and envelopes Alice really sealed (so they open, authenticated as a
 * contact) around random or mutated session messages — the deep path, past the envelope, into the
 * session and app-message layers; and the bundle, onion and mailbox handlers fed random and mutated
 * requests; and raw streams of unframed garbage. Bob's node answers every request (an empty answer or an ack, within
 * the frame limit), logs only typed errors, and a real message sent afterwards arrives (the contact's
 * session is not corrupted).
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { concatBytes } from '../../src/lib/bytes.ts';
import { systemRng } from '../../src/lib/system.ts';
import { BUNDLE_PROTOCOL, bundleRequest } from '../../src/node/bundles.ts';
import { ONION_PROTOCOL } from '../../src/node/delivery.ts';
import { MSG_PROTOCOL } from '../../src/node/messaging.ts';
import { encodeMailboxRequest, MAILBOX_PROTOCOL } from '../../src/protocol/mailbox/wire.ts';
import { ONION_PACKET_BYTES } from '../../src/protocol/onion/packet.ts';
import { memoryNodeStore } from '../../src/node/node-store.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { sealEnvelope } from '../../src/protocol/sealed/envelope.ts';
import { SESSION_MESSAGE_NORMAL, SESSION_MESSAGE_PREKEY } from '../../src/protocol/session.ts';
import { encodeMsgBatch, MSG_BATCH_MAX_BYTES } from '../../src/protocol/wire/msg-batch.ts';
import { startCompeer, type TestNode } from '../unit/node-helpers.ts';
import { attemptAsync, bytesArb, mutateAll, mutationsArb, params, untypedLogged } from './_fuzz.ts';

describe('fuzz: the node message handler (src/node/messaging.ts handle, over /compeer/msg/1)', () => {
  const aliceId = generateIdentity(systemRng);
  let alice: TestNode;
  let bob: TestNode;
  before(async () => {
    alice = await startCompeer('alice', { store: memoryNodeStore(aliceId, 'alice') });
    bob = await startCompeer('bob');
    const [ia, ib] = [await alice.node.id(), await bob.node.id()];
    await Promise.all([alice.node.addContact(ib.invite), bob.node.addContact(ia.invite)]);
    await alice.node.send('bob', 'before the fuzz');
    assert.equal((await bob.node.messages('alice', { waitMs: 8_000, count: 1 })).filter((m) => m.direction === 'in').length, 1);
  });
  after(async () => {
    await alice?.node.stop();
    await bob?.node.stop();
  });

  it('the other request handlers (bundle, onion, mailbox): random and mutated requests are answered or refused typed', async () => {
    const samples: [string, Uint8Array][] = [
      [BUNDLE_PROTOCOL, bundleRequest(bob.node.userId)],
      [ONION_PROTOCOL, systemRng.bytes(ONION_PACKET_BYTES)],
      [MAILBOX_PROTOCOL, encodeMailboxRequest({ type: 'challenge' })],
    ];
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: samples.length - 1 }), fc.boolean(), bytesArb(300), mutationsArb, async (i, random, junk, ms) => {
        const [protocol, sample] = samples[i] as [string, Uint8Array];
        const req = random ? junk : mutateAll(sample, ms);
        await attemptAsync(`${protocol} request`, () => alice.node.net.request(bob.node.peerId, bob.node.net.addresses(), protocol, req, { timeoutMs: 10_000 }));
      }),
      params(60),
    );
    assert.deepEqual(untypedLogged(bob.logs.lines), [], 'only typed errors logged');
  });

  it('raw streams (no framing of ours: garbage headers, huge lengths, partial and extra frames) leave the node serving', async () => {
    const raw = await createLibp2p({ addresses: { listen: [] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] });
    try {
      const addr = multiaddr(bob.node.net.addresses()[0] ?? '');
      await raw.dial(addr);
      const frame = (n: number, body: Uint8Array): Uint8Array => {
        const h = new Uint8Array(4);
        new DataView(h.buffer).setUint32(0, n);
        return concatBytes(h, body);
      };
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              bytesArb(64),
              fc.tuple(fc.constantFrom(0, 1, 100, MSG_BATCH_MAX_BYTES, MSG_BATCH_MAX_BYTES + 1, 0xffffffff), bytesArb(100)).map(([n, b]) => frame(n, b)),
              bytesArb(100).map((b) => frame(b.length, b)),
            ),
            { minLength: 1, maxLength: 4 },
          ),
          async (pieces) => {
            const s = await raw.dialProtocol(addr, MSG_PROTOCOL);
            for (const p of pieces) s.send(p);
            // Gone before any answer: the node must clean up after a peer that just leaves.
            s.abort(new Error('fuzz: raw peer leaves'));
          },
        ),
        params(40),
      );
    } finally {
      await raw.stop();
    }
    assert.deepEqual(untypedLogged(bob.logs.lines), [], 'only typed errors logged');
    // Still serving: a request is answered (empty: one byte is no envelope); the next test sends a real message.
    assert.equal((await alice.node.net.request(bob.node.peerId, bob.node.net.addresses(), MSG_PROTOCOL, Uint8Array.of(1), { timeoutMs: 10_000 })).length, 0);
  });

  it('random requests, mutated batches, and sealed envelopes from a contact around random or mutated session messages: always answered, typed errors only; a real message still arrives', async () => {
    const bobPub = bob.store.identity.public;
    const seal = (content: Uint8Array): Uint8Array => sealEnvelope(aliceId, bobPub, content, systemRng);
    const stranger = generateIdentity(systemRng);
    // Session messages' shapes: a normal one (type 2) and a prekey one (type 1, length, initial message).
    const contents = [Uint8Array.of(SESSION_MESSAGE_NORMAL, ...systemRng.bytes(120)), Uint8Array.of(SESSION_MESSAGE_PREKEY, 0x04, 0xf3, ...systemRng.bytes(1400))];
    const batch = encodeMsgBatch([seal(contents[0] as Uint8Array), seal(contents[1] as Uint8Array)]);
    const request = (b: Uint8Array): Promise<Uint8Array> => alice.node.net.request(bob.node.peerId, bob.node.net.addresses(), MSG_PROTOCOL, b, { timeoutMs: 10_000 });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('random', 'batch', 'sealed-random', 'sealed-mutated', 'mixed'),
        bytesArb(600),
        fc.nat({ max: 1 }),
        mutationsArb,
        async (kind, junk, i, ms) => {
          let req: Uint8Array;
          if (kind === 'random') req = junk;
          else if (kind === 'batch') req = mutateAll(batch, ms);
          else if (kind === 'sealed-random') req = seal(junk);
          else if (kind === 'sealed-mutated') req = seal(mutateAll(contents[i] as Uint8Array, ms));
          // One batch, two senders (a contact and a stranger): refused whole.
          else req = encodeMsgBatch([seal(contents[i] as Uint8Array), sealEnvelope(stranger, bobPub, junk, systemRng)]);
          if (req.length > MSG_BATCH_MAX_BYTES) return; // refused by the transport before the handler
          const res = await request(req);
          assert.ok(res.length <= MSG_BATCH_MAX_BYTES, 'an answer within the frame limit');
        },
      ),
      params(120),
    );
    assert.deepEqual(untypedLogged(bob.logs.lines), [], 'only typed errors logged');
    const refused = bob.logs.lines.filter((l) => l.msg === 'message refused').map((l) => (l.error as { code?: string }).code);
    console.log(`message handler: ${refused.length} requests refused, codes ${[...new Set(refused)].join(' ')}`);
    await alice.node.send('bob', 'after the fuzz');
    const got = await bob.node.messages('alice', { waitMs: 10_000, count: 2 });
    assert.deepEqual(
      got.filter((m) => m.direction === 'in').map((m) => m.text),
      ['before the fuzz', 'after the fuzz'],
    );
  });
});
