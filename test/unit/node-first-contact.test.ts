/**
 * First contact's session setup (src/node/first-contact.ts) on a fake network, a fake clock and the
 * in-memory store, with real prekey bundles: a setup whose bundle fetch failed (the contact's node out
 * of reach, e.g. across a cut) goes again when that node is reached (`retry`, asked by the heal) — once
 * per RETRY_MIN_MS per contact, one setup per contact at a time (a send asking meanwhile joins it) —
 * and the 30 s retry (`retryPending`)
 * does not hold one contact's setup back behind another's slow fetch.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { NetworkError, ErrorCodes } from '../../src/lib/errors.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { systemRng } from '../../src/lib/system.ts';
import { peerIdFromNodeKey } from '../../src/net/index.ts';
import { createFirstContact, RETRY_MIN_MS, type FirstContact } from '../../src/node/first-contact.ts';
import { memoryNodeStore } from '../../src/node/node-store.ts';
import { createPrekeyManager } from '../../src/node/prekeys.ts';
import { encodePublicIdentity, generateIdentity, userIdOf } from '../../src/protocol/identity.ts';
import type { ContactRecord } from '../../src/store/contacts.ts';

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

/** A contact's node: its peer ID, address and a bundle server. */
async function contactNode(name: string) {
  const identity = generateIdentity(systemRng);
  const store = memoryNodeStore(identity, name);
  const prekeys = createPrekeyManager(store, systemRng);
  const peer = await peerIdFromNodeKey(randomBytes(32));
  return { userId: userIdOf(identity.public), publicKey: encodePublicIdentity(identity.public), peer, addr: `/ip4/203.0.113.9/tcp/4002/p2p/${peer}`, serve: () => prekeys.served(Date.now()) };
}

type Contact = Awaited<ReturnType<typeof contactNode>>;

async function setup(names: string[]) {
  let now = 10_000_000;
  const store = memoryNodeStore(generateIdentity(systemRng), 'alice');
  const contacts = await Promise.all(names.map(contactNode));
  const byPeer = new Map(contacts.map((c) => [c.peer, c]));
  /** Peers whose node answers; the others' requests fail as unreachable. */
  const reachable = new Set<string>();
  /** Peers whose requests hang until the test releases them (a slow fetch on a loaded node). */
  const hanging = new Map<string, (() => void) | undefined>();
  const requests: string[] = [];
  const flushes: string[] = [];
  const net = {
    addresses: () => [],
    async request(peer: string): Promise<Uint8Array> {
      requests.push(peer);
      if (hanging.has(peer)) await new Promise<void>((r) => hanging.set(peer, r));
      const c = byPeer.get(peer);
      if (c === undefined || !reachable.has(peer)) throw new NetworkError(ErrorCodes.UNREACHABLE, 'no carrier');
      return c.serve();
    },
    dhtGet: async (): Promise<Uint8Array[]> => [],
  };
  const msg = {
    enqueue: () => {},
    enqueueInbox: () => {},
    flush: async (contact: string) => void flushes.push(contact),
  };
  const first: FirstContact = createFirstContact({
    store,
    net,
    msg,
    own: store.identity,
    rng: systemRng,
    clock: () => now,
    log: silentLogger,
    requestTimeoutMs: 5_000,
  });
  store.transaction(() => {
    for (const c of contacts) {
      store.contacts.add({ userId: c.userId, name: c.userId.slice(0, 8), publicKey: c.publicKey, createdAt: now, addresses: [c.addr] });
      first.remember(c.userId, randomBytes(16));
    }
  });
  return { store, first, contacts, reachable, hanging, requests, flushes, advance: (ms: number) => (now += ms) };
}

describe('first contact', () => {
  it("a setup whose fetch failed goes again when the contact's node is reached: at once, once per RETRY_MIN_MS, one at a time", async () => {
    const t = await setup(['bob']);
    const bob = t.contacts[0] as Contact;
    await assert.rejects(t.first.startSession(t.store.contacts.get(bob.userId) as ContactRecord), /prekey bundle/);
    assert.equal(t.store.sessions.has(bob.userId), false);

    // Still out of reach when the heal asks: the fetch fails again, and a second ask right after is not
    // another fetch (his connections may come and go every few seconds).
    assert.equal(await t.first.retry(bob.userId), false);
    assert.equal(t.requests.length, 2);
    assert.equal(await t.first.retry(bob.userId), false);
    assert.equal(t.requests.length, 2, 'once per RETRY_MIN_MS');

    // His node is reached: the setup goes now, not at the node's 30 s retry.
    t.reachable.add(bob.peer);
    t.hanging.set(bob.peer, undefined);
    t.advance(RETRY_MIN_MS);
    const retried = t.first.retry(bob.userId);
    await settle();
    assert.equal(t.requests.length, 3);
    const pending = t.first.retryPending(); // the 30 s retry while it runs: joins it, no second fetch
    await settle();
    assert.equal(t.requests.length, 3, 'one setup per contact at a time');
    t.hanging.get(bob.peer)?.();
    assert.equal(await retried, true);
    await pending;
    assert.equal(t.store.sessions.has(bob.userId), true, 'session set up');
    assert.deepEqual(t.flushes, [bob.userId], 'and what waited for it (the hello first) flushed once');

    t.advance(RETRY_MIN_MS);
    assert.equal(await t.first.retry(bob.userId), false, 'nothing left to set up');
    assert.equal(t.requests.length, 3);
  });

  it("a reached contact's setup asks for its bundle at once, before any timer runs (no jitter)", async () => {
    const t = await setup(['bob']);
    const bob = t.contacts[0] as Contact;
    t.reachable.add(bob.peer);
    const retried = t.first.retry(bob.userId);
    // Microtasks only: in the simulator a timer here waited for every other node's work (heal6: 4.6 s).
    for (let i = 0; i < 20 && t.requests.length === 0; i++) await Promise.resolve();
    assert.deepEqual(t.requests, [bob.peer], 'the bundle request to the node just reached');
    assert.equal(await retried, true);
  });

  it('a send and the retry asking at once share one setup: one bundle fetched, one one-time prekey taken', async () => {
    const t = await setup(['bob']);
    const bob = t.contacts[0] as Contact;
    t.reachable.add(bob.peer);
    t.hanging.set(bob.peer, undefined);
    const send = t.first.startSession(t.store.contacts.get(bob.userId) as ContactRecord); // message-api: a send without a session
    const retried = t.first.retry(bob.userId);
    await settle();
    assert.equal(t.requests.length, 1);
    t.hanging.get(bob.peer)?.();
    await send;
    assert.equal(await retried, true, 'the retry joined the send\'s setup and flushed after it');
    assert.equal(t.requests.length, 1, 'one fetch');
    assert.equal(t.store.sessions.has(bob.userId), true);
  });

  it("the node's retry: one contact's slow fetch does not hold back another's setup", async () => {
    const t = await setup(['bob', 'carol']);
    for (const c of t.contacts) t.reachable.add(c.peer);
    // Whichever is asked first hangs (a request waiting for its deadline on a loaded node).
    const [first, second] = t.store.meta.keys('node.pending-hello/').map((k) => t.contacts.find((c) => k.endsWith(c.userId)) as Contact) as [Contact, Contact];
    t.hanging.set(first.peer, undefined);
    const pending = t.first.retryPending();
    await settle();
    assert.equal(t.store.sessions.has(second.userId), true, "the second contact's session is set up while the first's fetch hangs");
    assert.equal(t.store.sessions.has(first.userId), false);
    t.hanging.get(first.peer)?.();
    await pending;
    assert.equal(t.store.sessions.has(first.userId), true);
  });
});
