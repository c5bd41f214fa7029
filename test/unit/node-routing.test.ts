/**
 * Onion paths and mailboxes between real nodes in one process (TCP on 127.0.0.1): three relays that
 * also hold mail, Alice and Bob. Messages go through relays when asked (`hops`), wait when the relays
 * asked for do not exist, and are held in mailboxes while Bob is away — then fetched, delivered once
 * and acked end to end when he is back (docs/delivery.md).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { systemRng } from '../../src/lib/system.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { storedIdentityOf } from '../../src/store/identity-keys.ts';
import { openMemoryStore } from '../../src/store/store.ts';
import { createPeerPolicy } from '../../src/routing/peer-policy.ts';
import { nodeStoreFrom } from '../../src/node/store-adapter.ts';
import { discoveryHook } from '../../src/node/discovery/index.ts';
import type { NodeStore } from '../../src/node/node-store.ts';
import { startCompeer, type TestNode } from './node-helpers.ts';
import { waitFor } from './net-helpers.ts';

function tableStore(name: string): NodeStore {
  const s = openMemoryStore({ peerPolicy: createPeerPolicy() });
  s.identities.create(storedIdentityOf(generateIdentity(systemRng), name, Date.now()));
  return nodeStoreFrom(s);
}

async function startMesh(name: string, bootstrap: string[], store = tableStore(name)): Promise<TestNode> {
  return startCompeer(name, { store, bootstrap, discovery: discoveryHook({ announcePrivateAddresses: true, announceIntervalMs: 1_000 }), mailboxFetchIntervalMs: 3_600_000 });
}

const relaysKnown = (n: TestNode): number => (n.store.peers?.list(100) ?? []).filter((p) => p.capabilities.includes('relay') && p.routingKey !== null).length;

describe('node: onion paths and mailboxes', () => {
  const nodes: TestNode[] = [];
  let relays: TestNode[];
  let alice: TestNode;
  let bob: TestNode;
  const bobStore = tableStore('bob');

  before(async () => {
    const r1 = await startMesh('r1', []);
    const boot = [r1.node.net.addresses()[0] as string];
    relays = [r1, await startMesh('r2', boot), await startMesh('r3', boot)];
    alice = await startMesh('alice', boot);
    bob = await startMesh('bob', boot, bobStore);
    nodes.push(...relays, alice, bob);
    // Alice must know the three relays and Bob (besides herself) through signed announcements.
    assert.ok(await waitFor(() => relaysKnown(alice) >= 4 && relaysKnown(bob) >= 4, 20_000), 'announcements reached the peer tables');
    await alice.node.addContact((await bob.node.id()).invite);
    assert.ok(await waitFor(() => alice.store.meta.keys('node.inbox-of/').length === 1 && bob.store.meta.keys('node.inbox-of/').length === 1, 10_000), 'inbox keys exchanged');
  });
  after(async () => {
    for (const n of nodes) await n.node.stop().catch(() => {});
  });

  test('hops 3: through three relays, delivered and acked end to end', async () => {
    const relayed = (): number => relays.reduce((n, r) => n + r.logs.find('onion packet relayed').length, 0);
    const before = relayed();
    const { id } = await alice.node.send('bob', 'through the relays', { hops: 3 });
    const got = await bob.node.messages('alice', { waitMs: 10_000, count: 1 });
    assert.equal(got.at(-1)?.text, 'through the relays');
    assert.ok(await waitFor(async () => (await alice.node.messages('bob')).find((m) => m.id === id)?.status === 'delivered', 10_000), 'the ack came back');
    assert.ok(relayed() - before >= 2, 'relays forwarded packets');
  });

  test('hops 5 with three relays known: the message waits (privacy asked for is not traded away)', async () => {
    const { id } = await alice.node.send('bob', 'five hops', { hops: 5 });
    await alice.node.retryNow();
    await new Promise((r) => setTimeout(r, 500));
    const m = (await alice.node.messages('bob')).find((x) => x.id === id);
    assert.equal(m?.status, 'queued');
    assert.equal((await bob.node.messages('alice')).some((x) => x.text === 'five hops'), false);
  });

  test('recipient away: held in mailboxes on 2-hop paths, his node never dialled directly, fetched when back, delivered once', async () => {
    await bob.node.stop();
    const { id } = await alice.node.send('bob', 'while you were away', { hops: 2 });
    assert.ok(await waitFor(async () => (await alice.node.messages('bob')).find((m) => m.id === id)?.status === 'held', 30_000), 'held');
    // Bob waits (his node could not be reached); a redial would show both nodes connecting.
    assert.ok(await waitFor(() => alice.logs.find('heal: waiting contact not redialled: its mail goes on paths only').length >= 2, 10_000), 'redial rounds ran');
    assert.equal(alice.logs.find('heal: redialling a waiting contact').length, 0, 'no direct dial of his node');
    const stored = relays.reduce((n, r) => n + r.store.mailboxes.totals().count, 0);
    assert.ok(stored >= 1, 'holders keep blobs');
    bob = await startMesh('bob', [relays[0]?.node.net.addresses()[0] as string], bobStore);
    nodes.push(bob);
    assert.ok(await waitFor(async () => (await bob.node.fetchMail(2)) >= 0 && (await bob.node.messages('alice')).some((m) => m.text === 'while you were away'), 20_000), 'fetched');
    assert.ok(await waitFor(async () => (await alice.node.messages('bob')).find((m) => m.id === id)?.status === 'delivered', 20_000), 'delivered');
    const copies = (await bob.node.messages('alice')).filter((m) => m.text === 'while you were away');
    assert.equal(copies.length, 1, 'exactly once');
  });

  test('an ack that finds no path goes into the sender\'s mailbox, never to its node: delivered though the two were never online together', async () => {
    const boot = [relays[0]?.node.net.addresses()[0] as string];
    await bob.node.stop();
    const { id } = await alice.node.send('bob', 'one way, then away');
    assert.ok(await waitFor(async () => (await alice.node.messages('bob')).find((m) => m.id === id)?.status === 'held', 30_000), 'held for Bob');
    const aliceStore = alice.store;
    await alice.node.stop();
    bob = await startMesh('bob', boot, bobStore);
    nodes.push(bob);
    assert.ok(await waitFor(async () => (await bob.node.fetchMail(2)) >= 0 && (await bob.node.messages('alice')).some((m) => m.text === 'one way, then away'), 20_000), 'Bob fetched it');
    assert.ok(await waitFor(() => bob.logs.find('ack deposited in mailboxes').length >= 1, 20_000), "Alice's node is down: the ack went into her mailbox");
    assert.equal(bob.logs.find('direct ack failed').length, 0, 'no direct request to her node');
    await bob.node.stop();
    alice = await startMesh('alice', boot, aliceStore);
    nodes.push(alice);
    assert.ok(
      await waitFor(async () => (await alice.node.fetchMail(2)) >= 0 && (await alice.node.messages('bob')).find((m) => m.id === id)?.status === 'delivered', 20_000),
      'Alice fetched the ack while Bob is away: delivered',
    );
  });

  test("first contact with an inviter that went offline: the hello waits in the invite's mailbox, the inviter fetches it when back", async () => {
    const boot = [relays[0]?.node.net.addresses()[0] as string];
    const carolStore = tableStore('carol');
    let carol = await startMesh('carol', boot, carolStore);
    nodes.push(carol);
    assert.ok(await waitFor(() => relaysKnown(carol) >= 3, 20_000), 'Carol knows the relays');
    assert.ok((await carol.node.publishBundle()) > 0, "Carol's bundle is in the DHT");
    const { invite } = await carol.node.id();
    await carol.node.stop(); // she handed the invite over and left
    const added = await alice.node.addContact(invite);
    const { id } = await alice.node.send(added.userId, 'found you through the DHT');
    const status = async (): Promise<string | undefined> => (await alice.node.messages(added.userId)).find((m) => m.id === id)?.status;
    // The session from the bundle in the DHT; the hello (with Alice's addresses and inbox) deposited in
    // the invite's mailbox; the text waits behind the hello until Carol has it.
    const deposited = (): boolean => alice.logs.find('deposited in mailboxes').some((l) => l.contact === added.userId);
    assert.ok(await waitFor(deposited, 30_000), "the hello went into the invite's mailbox");
    assert.equal(await status(), 'queued');
    carol = await startMesh('carol', boot, carolStore);
    nodes.push(carol);
    assert.ok(
      await waitFor(async () => (await carol.node.fetchMail(2)) >= 0 && (await carol.node.contacts()).some((c) => c.userId === alice.node.userId), 20_000),
      'Carol fetched the hello from the invite mailbox: Alice is her contact',
    );
    assert.ok(await waitFor(async () => (await carol.node.messages('alice')).some((m) => m.text === 'found you through the DHT'), 20_000), 'the text followed');
    assert.ok(await waitFor(async () => (await status()) === 'delivered', 20_000), `delivered at Alice (${await status()})`);
    assert.equal((await carol.node.messages('alice')).filter((m) => m.text === 'found you through the DHT').length, 1, 'exactly once');
  });
});

describe('node: many messages held at once', () => {
  const nodes: TestNode[] = [];
  after(async () => {
    for (const n of nodes) await n.node.stop().catch(() => {});
  });

  test('300 messages sent while the recipient is away are all fetched and delivered once', async () => {
    const r1 = await startMesh('r1', []);
    const boot = [r1.node.net.addresses()[0] as string];
    const relays = [r1, await startMesh('r2', boot), await startMesh('r3', boot)];
    const alice = await startMesh('alice', boot);
    const bobStore = tableStore('bob');
    let bob = await startMesh('bob', boot, bobStore);
    nodes.push(...relays, alice, bob);
    assert.ok(await waitFor(() => relaysKnown(alice) >= 4 && relaysKnown(bob) >= 4, 20_000));
    await alice.node.addContact((await bob.node.id()).invite);
    assert.ok(await waitFor(() => alice.store.meta.keys('node.inbox-of/').length === 1 && bob.store.meta.keys('node.inbox-of/').length === 1, 10_000));
    await bob.node.stop();
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) ids.push((await alice.node.send('bob', `away ${i}`)).id);
    const status = async (): Promise<Map<string, number>> => {
      const m = new Map<string, number>();
      for (const x of await alice.node.messages('bob')) if (ids.includes(x.id)) m.set(x.status, (m.get(x.status) ?? 0) + 1);
      return m;
    };
    assert.ok(await waitFor(async () => (await status()).get('held') === 300, 60_000), `all held: ${JSON.stringify([...(await status())])}`);
    bob = await startMesh('bob', boot, bobStore);
    nodes.push(bob);
    const got = async (): Promise<number> => (await bob.node.messages('alice')).filter((m) => m.text.startsWith('away ')).length;
    assert.ok(await waitFor(async () => (await bob.node.fetchMail(2)) >= 0 && (await got()) === 300, 60_000), `fetched ${await got()} of 300`);
    assert.ok(await waitFor(async () => (await status()).get('delivered') === 300, 60_000), `delivered: ${JSON.stringify([...(await status())])}`);
  });
});
