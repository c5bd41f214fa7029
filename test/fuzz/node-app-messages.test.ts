/**
 * Fuzz of what a node does with app messages from an authenticated contact (src/node/messaging.ts and
 * what it calls: texts, acks, addresses, hello, inbox, SAS, batches). The contact, Carol, is driven by
 * hand with the real protocol — her invite is added on Bob's node, she fetches Bob's bundle over
 * `/compeer/bundle/2`, starts a PQXDH session and sends sealed session messages over `/compeer/msg/1`
 * — so every fuzzed app message gets past the envelope and the ratchet and reaches the node's own
 * processing: random bytes and mutated real app messages (routing keys that are no valid point,
 * odd addresses, unknown acks, bad SAS messages, hellos with wrong secrets, nested sizes…). Bob's node
 * always answers, logs only typed errors, its answers decode as acks, and a real text sent afterwards
 * is shown exactly once. Also first contacts from strangers holding a real invite whose first app
 * message is random or a mutated hello.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { systemRng } from '../../src/lib/system.ts';
import { BUNDLE_PROTOCOL, bundleRequest } from '../../src/node/bundles.ts';
import { MSG_PROTOCOL } from '../../src/node/messaging.ts';
import { decodePrekeyBundle } from '../../src/protocol/handshake/bundle.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { inviteToLink, parseInviteLink } from '../../src/protocol/invite.ts';
import { openEnvelope, sealEnvelope } from '../../src/protocol/sealed/envelope.ts';
import { initiateSession, sessionDecrypt, sessionEncrypt, type Session } from '../../src/protocol/session.ts';
import { decodeAppMessage, encodeAppMessage, type AppMessage, type BatchableMessage } from '../../src/protocol/wire/app-message.ts';
import type { NetNode } from '../../src/net/types.ts';
import { startNode } from '../unit/net-helpers.ts';
import { startCompeer, type TestNode } from '../unit/node-helpers.ts';
import { attemptAsync, bytesArb, mutateAll, mutationsArb, runs, untypedLogged } from './_fuzz.ts';

const id = (): Uint8Array => systemRng.bytes(16);

describe('fuzz: app messages from a contact, processed by a node (src/node/messaging.ts)', () => {
  const carol = generateIdentity(systemRng);
  const secret = systemRng.bytes(16);
  let bob: TestNode;
  /** The libp2p node Carol's requests travel from (a node cannot dial itself). */
  let carrier: NetNode;
  let session: Session;
  let acks = 0;

  /** Carol sends one app message's bytes to Bob's node; decodes Bob's answer (an ack) when there is one. */
  const send = async (app: Uint8Array): Promise<void> => {
    const wire = sessionEncrypt(session, app, systemRng);
    const env = sealEnvelope(carol, bob.store.identity.public, wire, systemRng);
    const res = await carrier.request(bob.node.peerId, bob.node.net.addresses(), MSG_PROTOCOL, env, { timeoutMs: 10_000 }).catch(() => undefined);
    if (res === undefined || res.length === 0) return;
    const opened = openEnvelope(carol, res);
    const answer = decodeAppMessage(sessionDecrypt(session, opened.content, Date.now()));
    assert.equal(answer.type, 'ack', "Bob's answer is an ack");
    acks++;
  };

  before(async () => {
    bob = await startCompeer('bob');
    carrier = await startNode();
    await bob.node.addContact(inviteToLink({ identity: carol.public, secret, addresses: [], name: 'carol' }), 'carol');
    const bundle = decodePrekeyBundle(await carrier.request(bob.node.peerId, bob.node.net.addresses(), BUNDLE_PROTOCOL, bundleRequest(bob.node.userId), { timeoutMs: 10_000 }));
    session = initiateSession(carol, bundle, systemRng);
    await send(encodeAppMessage({ type: 'text', id: id(), sentAt: Date.now(), text: 'before the fuzz' }));
    assert.equal((await bob.node.messages('carol', { waitMs: 8_000, count: 1 })).filter((m) => m.direction === 'in').length, 1);
  });
  after(async () => {
    await bob?.node.stop();
    await carrier?.stop();
  });

  it('first contacts from strangers holding a real invite, whose first app message is random or a mutated hello (alone or leading a batch): typed errors only', async () => {
    const hello = (secret: Uint8Array): AppMessage => ({ type: 'hello', id: id(), inviteSecret: secret, name: 'Stranger' });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('random', 'hello', 'batch'), bytesArb(200), mutationsArb, async (kind, junk, ms) => {
        const stranger = generateIdentity(systemRng);
        const invite = parseInviteLink((await bob.node.id()).invite);
        const bundle = decodePrekeyBundle(await carrier.request(bob.node.peerId, bob.node.net.addresses(), BUNDLE_PROTOCOL, bundleRequest(bob.node.userId), { timeoutMs: 10_000 }));
        const s = initiateSession(stranger, bundle, systemRng);
        const first: AppMessage = kind === 'batch' ? { type: 'batch', messages: [hello(invite.secret) as BatchableMessage, { type: 'text', id: id(), sentAt: 1, text: 'hi' }] } : hello(invite.secret);
        const app = kind === 'random' ? junk : mutateAll(encodeAppMessage(first), ms);
        const env = sealEnvelope(stranger, bob.store.identity.public, sessionEncrypt(s, app, systemRng), systemRng);
        await attemptAsync('first contact', () => carrier.request(bob.node.peerId, bob.node.net.addresses(), MSG_PROTOCOL, env, { timeoutMs: 10_000 }));
      }),
      // Each run fetches a fresh bundle (a first contact uses up its one-time prekeys): the bundle
      // handler's rate limit (burst 20) bounds the runs, whatever FUZZ_RUNS says.
      { numRuns: 18 },
    );
    assert.deepEqual(untypedLogged(bob.logs.lines), [], 'only typed errors logged');
    const contacts = await bob.node.contacts();
    assert.ok(contacts.some((c) => c.name === 'carol' && !c.keyChanged), 'Carol is still Carol');
    console.log(`first contacts: ${contacts.length - 1} strangers accepted as contacts`);
  });

  it('random and mutated app messages: always answered, typed errors only; a real text afterwards is shown once', async () => {
    const samples: AppMessage[] = [
      { type: 'text', id: id(), sentAt: Date.now(), text: 'a text' },
      { type: 'ack', ids: [id(), id()] },
      { type: 'addresses', id: id(), addresses: ['/ip4/10.0.0.1/tcp/4001', '/dns4/example.com/tcp/443/wss'] },
      { type: 'hello', id: id(), inviteSecret: secret, name: 'Carol' },
      { type: 'inbox', id: id(), routingKey: systemRng.bytes(32), mailboxSecret: systemRng.bytes(32) },
      { type: 'sas', id: id(), message: Uint8Array.of(1, 1, ...systemRng.bytes(32)) },
      { type: 'batch', messages: [{ type: 'text', id: id(), sentAt: 1, text: 'one' }, { type: 'addresses', id: id(), addresses: [] }] },
    ];
    const encoded = samples.map(encodeAppMessage);
    await fc.assert(
      fc.asyncProperty(fc.boolean(), bytesArb(300), fc.nat({ max: encoded.length - 1 }), mutationsArb, async (random, junk, i, ms) => {
        await send(random ? junk : mutateAll(encoded[i] as Uint8Array, ms));
      }),
      // Capped: a refused app message leaves Bob's ratchet behind Carol's, and the skipped keys of a
      // long run would reach the ratchet's own limit (RATCHET_MAX_SKIPPED_KEYS) — a limit, not a bug.
      { numRuns: Math.min(runs(120), 600) },
    );
    assert.deepEqual(untypedLogged(bob.logs.lines), [], 'only typed errors logged');
    const warned = bob.logs.lines.filter((l) => l.level === 'warn').map((l) => `${String(l.msg)}${(l.error as { code?: string } | undefined)?.code ? ` ${(l.error as { code: string }).code}` : ''}`);
    console.log(`app messages: ${acks} acked; warnings: ${[...new Set(warned)].join('; ')}`);
    const text = 'after the fuzz';
    await send(encodeAppMessage({ type: 'text', id: id(), sentAt: Date.now(), text }));
    const got = (await bob.node.messages('carol', { waitMs: 8_000 })).filter((m) => m.direction === 'in' && m.text === text);
    assert.equal(got.length, 1, 'the real text is shown once');
    assert.ok(acks > 0, 'Bob acked messages');
  });
});
