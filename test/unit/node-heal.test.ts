/**
 * The node's heal (src/node/heal.ts) on a fake network and a fake clock, with the real partition
 * detector (network-state.ts) and the in-memory store: while cut it redials the peers it had and the
 * contact's node, on the backoff; when a redial gets through, the detector leaves local-only at once
 * (the open connections are reported as reached peers), the outbox backoff grown during the cut is
 * reset (held entries excepted), the contact is flushed and the mailboxes fetched — once: a second heal
 * inside the interval does nothing at once. A contact's node connecting resets its held entries too.
 * A LAN-only node (no remote peer since start) treats losing every connection as the cut.
 * A partial cut (the node keeps a peer, so none of that starts): the node of a contact whose mail could
 * not reach it is redialled on its own backoff; reached, its entries (held too) go now, the mailboxes
 * are fetched, and the other waiting contacts are redialled at once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { silentLogger } from '../../src/lib/log.ts';
import { systemRng } from '../../src/lib/system.ts';
import type { ConnectionInfo } from '../../src/net/index.ts';
import { peerIdFromNodeKey } from '../../src/net/index.ts';
import { startHeal, type Heal } from '../../src/node/heal.ts';
import { createNetworkState } from '../../src/node/network-state.ts';
import { memoryNodeStore } from '../../src/node/node-store.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { MAILBOX_DAY_MS } from '../../src/protocol/mailbox/keys.ts';
import { CONNECTED_RETRY_JITTER_MS, HEAL_FETCH_SKEW_MS, HEAL_MIN_INTERVAL_MS, MIN_CUT_MS, PROBE_MAX_MS } from '../../src/routing/heal.ts';

const peerId = (): Promise<string> => peerIdFromNodeKey(randomBytes(32));
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** `n` inbound connections from distinct remote peers, at 203.0.113.(first + i). */
async function inboundPeers(n: number, first: number): Promise<ConnectionInfo[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const id = await peerId();
      return { peerId: id, address: `/ip4/203.0.113.${first + i}/tcp/4001/p2p/${id}`, direction: 'inbound' as const, limited: false };
    }),
  );
}

/** A second contact, Carol, with one address; returns it. */
async function addCarol(t: Awaited<ReturnType<typeof setup>>): Promise<string> {
  const carolAddr = `/ip4/203.0.113.11/tcp/4003/p2p/${await peerId()}`;
  t.store.contacts.add({ userId: 'caroluserid', name: 'carol', publicKey: new Uint8Array(32), createdAt: t.now(), addresses: [carolAddr] });
  return carolAddr;
}

/** `start`: the clock's first reading (default 02:46 UTC of 1 Jan 1970). */
async function setup(start = 10_000_000) {
  let now = start;
  const clock = (): number => now;
  const [relay, bob] = [await peerId(), await peerId()];
  const relayAddr = `/ip4/203.0.113.7/tcp/4001/p2p/${relay}`;
  const bobAddr = `/ip4/203.0.113.9/tcp/4002/p2p/${bob}`;
  let conns: ConnectionInfo[] = [{ peerId: relay, address: relayAddr, direction: 'outbound', limited: false }];
  let reachable = false;
  /** Addresses whose dials hang until the test ends them (a slow handshake on a loaded node). */
  const hanging = new Map<string, () => void>();
  const dials: string[] = [];
  /** Peers our own trim closed lately (NetNode.trimmedRecently). */
  const trimmed = new Set<string>();
  const net = {
    peerId: await peerId(),
    connections: () => conns,
    trimmedRecently: (p: string) => trimmed.has(p),
    async dial(addr: string): Promise<string> {
      dials.push(addr);
      if (hanging.has(addr)) await new Promise<void>((r) => hanging.set(addr, r));
      if (!reachable) throw new Error('no carrier');
      const id = addr.slice(addr.lastIndexOf('/p2p/') + 5);
      conns = [...conns.filter((c) => c.peerId !== id), { peerId: id, address: addr, direction: 'outbound', limited: false }];
      return id;
    },
  };
  const store = memoryNodeStore(generateIdentity(systemRng), 'alice');
  store.contacts.add({ userId: 'bobuserid', name: 'bob', publicKey: new Uint8Array(32), createdAt: now, addresses: [bobAddr] });
  const entry = (messageId: string, state: 'queued' | 'held', attempts: number, nextAttemptAt: number): void =>
    store.outbox.enqueue({ messageId, contact: 'bobuserid', wire: new Uint8Array(0), attempts, nextAttemptAt, expiresAt: now + 86_400_000, state, createdAt: now });
  entry('a'.repeat(32), 'queued', 7, now + 128_000);
  entry('b'.repeat(32), 'held', 1, now + 240_000);
  const network = createNetworkState(net, clock, silentLogger, () => []);
  const flushes: [string, boolean][] = [];
  /** The days each mailbox fetch asked for. */
  const fetchDays: number[] = [];
  /** retrySessions' calls: the contact named, or undefined (every waiting setup). */
  const sessionRetries: (string | undefined)[] = [];
  /** Contacts with mail waiting that may go on paths only (send --hops N). */
  const strict = new Set<string>();
  const heal = startHeal({
    store,
    net,
    network,
    clock,
    log: silentLogger,
    random: () => 0.5,
    flush: (c, force) => void flushes.push([c, force]),
    fetchNow: (days) => void fetchDays.push(days),
    retrySessions: (contact) => void sessionRetries.push(contact),
    strictWaiting: (contact) => strict.has(contact),
    tickMs: 3600_000, // the test samples by hand
  });
  return {
    heal,
    store,
    network,
    dials,
    flushes,
    fetches: () => fetchDays.length,
    fetchDays: () => fetchDays,
    sessionRetried: () => sessionRetries,
    relayAddr,
    bobAddr,
    cut: () => (conns = []),
    setConns: (c: ConnectionInfo[]) => (conns = c),
    trimmed,
    strict,
    heal_: () => (reachable = true),
    hanging,
    advance: (ms: number) => (now += ms),
    now: () => now,
    outbox: (id: string) => store.outbox.get(id.repeat(32)),
  };
}

describe('node heal', () => {
  let heal: Heal | undefined;
  afterEach(() => heal?.stop());

  it('cut: redials on the backoff; heal: local-only left at once, backoff reset (not held), flushed and fetched, once', async () => {
    const t = await setup();
    heal = t.heal;
    t.heal.check(); // the relay is connected: remembered as a peer to redial
    assert.equal(t.dials.length, 0, 'nothing to redial while connected');

    t.cut();
    for (let i = 0; i < 6; i++) {
      t.advance(PROBE_MAX_MS * 1.2);
      t.heal.check();
      await settle();
      t.network.sampleConnections();
    }
    assert.equal(t.network.assess().state, 'local-only', 'the failed redials and samples: local-only');
    assert.ok(t.dials.includes(t.relayAddr), 'the last connected peer is redialled');
    assert.ok(t.dials.includes(t.bobAddr), "and the contact's node");
    const whileCut = t.dials.length;
    t.advance(100);
    t.heal.check();
    await settle();
    assert.equal(t.dials.length, whileCut, 'not before the backoff is due');
    assert.deepEqual([t.flushes.length, t.fetches()], [0, 0], 'no heal while cut');

    t.heal_();
    t.advance(PROBE_MAX_MS * 1.2);
    t.heal.check();
    await settle();
    await settle();
    assert.notEqual(t.network.assess().state, 'local-only', 'two peers reached and a sample: the detector left local-only at once');
    assert.equal(t.heal.count(), 1);
    assert.deepEqual(t.flushes, [['bobuserid', true]]);
    assert.equal(t.fetches(), 1, 'mailboxes fetched now');
    assert.deepEqual(t.fetchDays(), [1], 'the days the cut covered: today only');
    assert.ok(t.sessionRetried().includes(undefined), 'every session setup waiting for a bundle retried now');
    assert.deepEqual([t.outbox('a')?.attempts, t.outbox('a')?.nextAttemptAt], [0, t.now()], 'the backoff grown during the cut is reset');
    assert.deepEqual([t.outbox('b')?.attempts, t.outbox('b')?.state], [1, 'held'], 'held entries keep theirs: the recipient fetches them');

    // The link flaps: cut and back inside the interval. No second heal now.
    t.cut();
    t.heal.check();
    t.advance(3_000);
    t.heal.check();
    await settle();
    await settle();
    assert.equal(t.heal.count(), 1, 'one heal per interval');
    assert.equal(t.fetches(), 1);
  });

  it("cut: the node of a contact with mail sent on paths only waiting is not among the peers redialled", async () => {
    const t = await setup();
    heal = t.heal;
    t.strict.add('bobuserid');
    t.heal.check();
    t.cut();
    for (let i = 0; i < 8; i++) {
      t.advance(PROBE_MAX_MS * 1.2);
      t.heal.check();
      await settle();
    }
    assert.ok(t.dials.filter((a) => a === t.relayAddr).length >= 2, `the relay redialled (${t.dials.length} dials)`);
    assert.equal(t.dials.filter((a) => a === t.bobAddr).length, 0, "Bob's node never");
  });

  it('a LAN-only node (loopback / RFC 1918 peers) has nothing to redial: no dials, no heal', async () => {
    const t = await setup();
    heal = t.heal;
    const lanPeer = await peerId();
    t.store.contacts.add({ userId: 'carol', name: 'carol', publicKey: new Uint8Array(32), createdAt: t.now(), addresses: [`/ip4/192.168.1.20/tcp/4001/p2p/${lanPeer}`] });
    t.store.contacts.remove('bobuserid');
    t.setConns([{ peerId: lanPeer, address: `/ip4/127.0.0.1/tcp/4001/p2p/${lanPeer}`, direction: 'outbound', limited: false }]);
    for (let i = 0; i < 5; i++) {
      t.advance(PROBE_MAX_MS * 1.2);
      t.heal.check();
      await settle();
    }
    assert.deepEqual(t.dials, [], 'no LAN peer dialled');
    assert.equal(t.heal.count(), 0);
  });

  it('a LAN-only node that lost every connection redials its LAN peers; back: a heal, local-only or not', async () => {
    const t = await setup();
    heal = t.heal;
    const lanPeer = await peerId();
    const lanAddr = `/memory/${lanPeer}/p2p/${lanPeer}`;
    t.store.contacts.setAddresses('bobuserid', [lanAddr]); // Bob on the same LAN: nothing remote at all
    t.setConns([{ peerId: lanPeer, address: lanAddr, direction: 'outbound', limited: false }]);
    t.heal.check(); // remembered as the peer to redial
    t.cut();
    for (let i = 0; i < 4; i++) {
      t.advance(PROBE_MAX_MS * 1.2);
      t.heal.check();
      await settle();
    }
    assert.ok(t.dials.includes(lanAddr), 'the LAN peer it had is redialled');
    assert.equal(t.heal.count(), 0, 'no heal while cut');
    t.heal_();
    t.advance(PROBE_MAX_MS * 1.2);
    t.heal.check();
    await settle();
    await settle();
    assert.equal(t.heal.count(), 1, 'connectivity back: one heal');
    assert.equal(t.fetches(), 1, 'mailboxes fetched now');
  });

  it("a contact's node connecting: all its entries due now, held included; reset once per interval, flushed each time", async () => {
    const t = await setup();
    heal = t.heal;
    t.heal.contactConnected('bobuserid');
    assert.deepEqual([t.outbox('b')?.attempts, t.outbox('b')?.nextAttemptAt], [0, t.now()]);
    assert.deepEqual([t.outbox('a')?.attempts, t.outbox('a')?.nextAttemptAt], [0, t.now()]);
    t.store.outbox.update('b'.repeat(32), { attempts: 2, nextAttemptAt: t.now() + 60_000 });
    t.advance(1_000);
    t.heal.contactConnected('bobuserid');
    assert.equal(t.outbox('b')?.attempts, 2, 'not reset again inside the interval');
    assert.deepEqual(t.flushes, [
      ['bobuserid', true],
      ['bobuserid', true],
    ]);
  });

  it('a partial cut: the waiting contact is redialled while the node keeps its peer; reached, its held mail goes and the mailboxes are fetched', async () => {
    const t = await setup();
    heal = t.heal;
    t.heal.check(); // the relay stays connected throughout: no full cut, no redial round
    t.network.contactReach('bobuserid', false); // an attempt could not reach Bob's node (outbound.ts)
    assert.deepEqual(t.heal.waitingContacts(), ['bobuserid']);
    for (let i = 0; i < 6; i++) {
      t.advance(PROBE_MAX_MS * 1.2);
      t.heal.check();
      await settle();
    }
    assert.ok(t.dials.length >= 4, `Bob's node redialled on its backoff (${t.dials.length})`);
    assert.ok(t.dials.every((a) => a === t.bobAddr), "only Bob's node: the relay is connected");
    assert.deepEqual([t.flushes.length, t.fetches(), t.heal.count()], [0, 0, 0], 'nothing while Bob is cut off');

    t.heal_();
    t.advance(PROBE_MAX_MS * 1.2);
    t.heal.check();
    await settle();
    await settle();
    assert.deepEqual(t.flushes, [['bobuserid', true]], "Bob's queue flushed");
    assert.deepEqual([t.outbox('b')?.attempts, t.outbox('b')?.nextAttemptAt, t.outbox('a')?.nextAttemptAt], [0, t.now(), t.now()], 'held mail due now too');
    assert.equal(t.fetches(), 1, 'mail for us may wait on the far side: fetched now');
    assert.deepEqual(t.sessionRetried(), ['bobuserid'], "no session with Bob yet (his bundle was out of reach): his setup is retried now, his alone");
    assert.deepEqual(t.heal.waitingContacts(), [], 'Bob no longer redialled');
    const dials = t.dials.length;
    t.advance(PROBE_MAX_MS * 3);
    t.heal.check();
    await settle();
    assert.equal(t.dials.length, dials, 'no redial once reached');
  });

  it('a partial cut: a peer lost for MIN_CUT_MS or more connecting again has the waiting contact redialled at once', async () => {
    const t = await setup();
    heal = t.heal;
    const dave = await peerId();
    const daveConn: ConnectionInfo = { peerId: dave, address: `/ip4/203.0.113.13/tcp/4005/p2p/${dave}`, direction: 'inbound', limited: false };
    const relayConn: ConnectionInfo = { peerId: (t.relayAddr.split('/p2p/')[1] as string), address: t.relayAddr, direction: 'outbound', limited: false };
    t.setConns([relayConn, daveConn]);
    t.heal.check();
    t.setConns([relayConn]); // dave is across the cut now; the relay stays
    t.network.contactReach('bobuserid', false);
    for (let i = 0; i < 10; i++) {
      t.advance(1_000);
      t.heal.check();
      await settle();
    }
    const before = t.dials.length;
    t.advance(100);
    t.heal.check();
    await settle();
    assert.equal(t.dials.length, before, "Bob's next redial is not due yet");
    t.setConns([relayConn, daveConn]); // dave is back: maybe the cut healed
    t.heal.check();
    await settle();
    assert.equal(t.dials.length, before + 1, 'Bob redialled at once');
    assert.equal(t.dials.at(-1), t.bobAddr);
    t.advance(PROBE_MAX_MS * 1.5); // past the nudge's rate limit (Bob's own redial may come meanwhile)
    t.heal.check();
    await settle();
    const later = t.dials.length;
    t.setConns([relayConn]);
    t.heal.check();
    t.advance(100);
    t.setConns([relayConn, daveConn]); // back after 100 ms: churn, not a cut
    t.heal.check();
    await settle();
    assert.equal(t.dials.length, later, 'a peer gone for less than MIN_CUT_MS is no sign');
  });

  it('a cut of part of the network ends: a waiting contact whose node is connected already has its entries due again within the jitter (held too), once per interval, without a redial; a lost peer alone does not', async () => {
    const t = await setup();
    heal = t.heal;
    const bob = t.bobAddr.split('/p2p/')[1] as string;
    const far = await Promise.all(
      [0, 1, 2].map(async (i): Promise<ConnectionInfo> => {
        const id = await peerId();
        return { peerId: id, address: `/ip4/203.0.113.${30 + i}/tcp/4005/p2p/${id}`, direction: 'inbound', limited: false };
      }),
    );
    const relayConn: ConnectionInfo = { peerId: t.relayAddr.split('/p2p/')[1] as string, address: t.relayAddr, direction: 'outbound', limited: false };
    const bobConn: ConnectionInfo = { peerId: bob, address: t.bobAddr, direction: 'outbound', limited: false };
    const [d0] = far as [ConnectionInfo];
    t.setConns([relayConn, bobConn, ...far]);
    t.heal.check();
    const far2 = t.now() + 100_000;
    const backoff = (a: number, b: number): void => {
      t.store.outbox.update('a'.repeat(32), { attempts: a, nextAttemptAt: far2 });
      t.store.outbox.update('b'.repeat(32), { attempts: b, nextAttemptAt: far2 });
    };
    // One peer lost and back (a trim, churn): redials only, and Bob's node is connected — nothing.
    t.network.contactReach('bobuserid', false);
    backoff(7, 5);
    t.setConns([relayConn, bobConn, ...far.slice(1)]);
    t.heal.check();
    t.advance(MIN_CUT_MS * 2);
    t.setConns([relayConn, bobConn, ...far]);
    t.heal.check();
    await settle();
    assert.deepEqual([t.outbox('a')?.attempts, t.outbox('a')?.nextAttemptAt], [7, far2], 'a lost peer alone: left on its backoff');

    t.setConns([relayConn, bobConn]); // the far side is cut off; Bob's node stays connected, his paths fail
    t.heal.check();
    for (let i = 0; i < 10; i++) {
      t.advance(1_000);
      t.heal.check();
      await settle();
    }
    assert.deepEqual(t.dials, [], "Bob's node is connected: never redialled");
    backoff(7, 5);
    t.setConns([relayConn, bobConn, d0]); // one of the far side is back: the cut healed
    t.heal.check();
    await settle();
    for (const id of ['a', 'b']) {
      const e = t.outbox(id);
      assert.equal(e?.attempts, 0, `${id}: backoff from the start`);
      assert.ok(e !== undefined && e.nextAttemptAt >= t.now() && e.nextAttemptAt < t.now() + CONNECTED_RETRY_JITTER_MS, `${id}: due within the jitter`);
    }
    assert.deepEqual(t.dials, [], 'still no redial');

    // Another cut and heal inside the interval: left on its backoff.
    backoff(3, 3);
    t.setConns([relayConn, bobConn]);
    t.heal.check();
    t.advance(PROBE_MAX_MS * 1.5);
    t.setConns([relayConn, bobConn, ...far]);
    t.heal.check();
    await settle();
    assert.deepEqual([t.outbox('a')?.attempts, t.outbox('a')?.nextAttemptAt], [3, far2], 'once per HEAL_MIN_INTERVAL_MS per contact');
    t.setConns([relayConn, bobConn]);
    t.heal.check();
    t.advance(HEAL_MIN_INTERVAL_MS);
    t.setConns([relayConn, bobConn, ...far]);
    t.heal.check();
    await settle();
    assert.equal(t.outbox('a')?.attempts, 0, 'after the interval: again');
  });

  it('a cut of part of the network (many peers lost at once, others kept): when one of them is back, our mailboxes are fetched now (mail may wait on the far side); one peer lost and back is not a cut', async () => {
    const t = await setup();
    heal = t.heal;
    const peers = await inboundPeers(6, 20);
    const [p0, p1, p2, p3] = peers as [ConnectionInfo, ConnectionInfo, ConnectionInfo, ConnectionInfo];
    t.setConns(peers);
    t.heal.check();
    // One peer cut (a trim) and back after a while: churn, not a cut of the network.
    t.setConns(peers.filter((c) => c !== p0));
    t.heal.check();
    t.advance(MIN_CUT_MS * 2);
    t.setConns(peers);
    t.heal.check();
    await settle();
    assert.equal(t.fetches(), 0, 'one peer lost and back: no fetch');

    // Three of six gone in one sample: a cut; the node keeps the others, so no heal runs.
    t.setConns(peers.filter((c) => c !== p1 && c !== p2 && c !== p3));
    t.heal.check();
    for (let i = 0; i < 5; i++) {
      t.advance(1_000);
      t.heal.check();
    }
    assert.deepEqual([t.fetches(), t.heal.count()], [0, 0], 'nothing while cut');
    const p4 = peers[4] as ConnectionInfo;
    t.setConns(peers.filter((c) => c !== p1 && c !== p2 && c !== p3 && c !== p4)); // churn on our side meanwhile
    t.heal.check();
    t.advance(MIN_CUT_MS * 2);
    t.setConns(peers.filter((c) => c !== p1 && c !== p2 && c !== p3));
    t.heal.check();
    await settle();
    assert.equal(t.fetches(), 0, 'a peer lost after the cut and back is not the cut healing');
    t.setConns(peers.filter((c) => c !== p2 && c !== p3)); // p1 is back: the cut healed
    t.heal.check();
    await settle();
    assert.equal(t.fetches(), 1, 'mailboxes fetched now');
    assert.deepEqual(t.fetchDays(), [1], "today's boxes only: the cut (seconds, mid-day) put nothing in yesterday's");
    assert.equal(t.heal.count(), 0, 'not a heal of a node that lost every peer');
    t.advance(1_000);
    t.setConns(peers); // the others come back too: the same heal
    t.heal.check();
    await settle();
    assert.equal(t.fetches(), 1, 'once per cut');
  });

  it("peers closed by our own trim, many at once, are not a cut: their return fetches nothing; the same peers lost otherwise are", async () => {
    const t = await setup();
    heal = t.heal;
    const peers = await inboundPeers(6, 40);
    /** The first three go in one sample and come back after 2 × MIN_CUT_MS. */
    const threeGoneAndBack = async (): Promise<void> => {
      t.setConns(peers.slice(3));
      t.heal.check();
      t.advance(MIN_CUT_MS * 2);
      t.setConns(peers);
      t.heal.check();
      await settle();
    };
    t.setConns(peers);
    t.heal.check();
    for (const c of peers.slice(0, 3)) t.trimmed.add(c.peerId); // the trim's burst
    await threeGoneAndBack();
    assert.equal(t.fetches(), 0, 'our own trim: no cut, no fetch');

    t.trimmed.clear();
    t.advance(HEAL_MIN_INTERVAL_MS);
    await threeGoneAndBack(); // the same three lost, not by us: a cut
    assert.equal(t.fetches(), 1, 'a cut: mailboxes fetched when its peers are back');
  });

  it('the fetch when a cut ends asks the days the cut covered: yesterday too when it began within HEAL_FETCH_SKEW_MS after midnight', async () => {
    const day = 20_000 * MAILBOX_DAY_MS;
    for (const [start, want] of [
      [day + 12 * 3600_000, 1], // mid-day
      [day + HEAL_FETCH_SKEW_MS / 2, 2], // half an hour after midnight: a sender's clock may still say yesterday
    ] as const) {
      const t = await setup(start);
      heal = t.heal;
      const peers = await inboundPeers(6, 60);
      t.setConns(peers);
      t.heal.check();
      t.setConns(peers.slice(3)); // three of six gone at once: a cut of part of the network
      t.heal.check();
      t.advance(MIN_CUT_MS * 2);
      t.setConns(peers);
      t.heal.check();
      await settle();
      assert.deepEqual(t.fetchDays(), [want], `cut at ${new Date(start).toISOString()}`);
      t.heal.stop();
    }
  });

  it('a waiting contact whose mail may go on paths only (send --hops N) is not redialled: both nodes would be seen connecting; its node connecting still sends it', async () => {
    const t = await setup();
    heal = t.heal;
    const carolAddr = await addCarol(t);
    t.heal.check();
    t.strict.add('bobuserid');
    t.network.contactReach('bobuserid', false);
    t.network.contactReach('caroluserid', false);
    for (let i = 0; i < 6; i++) {
      t.advance(PROBE_MAX_MS * 1.2);
      t.heal.check();
      await settle();
    }
    assert.equal(t.dials.filter((a) => a === t.bobAddr).length, 0, "Bob's node never dialled");
    assert.ok(t.dials.filter((a) => a === carolAddr).length >= 4, 'Carol (default sends) redialled on her backoff');
    assert.deepEqual(t.heal.waitingContacts().sort(), ['bobuserid', 'caroluserid'], 'Bob still waits');
    t.strict.delete('bobuserid'); // his strict entries delivered (paths) or expired: a default one waits
    t.advance(PROBE_MAX_MS * 1.2);
    t.heal.check();
    await settle();
    assert.equal(t.dials.filter((a) => a === t.bobAddr).length, 1, 'redialled once only default mail waits');
    t.strict.add('bobuserid');
    t.heal.contactConnected('bobuserid'); // his node connected to us
    assert.deepEqual(t.flushes, [['bobuserid', true]], 'what waits for Bob goes now (on its paths: outbound.ts)');
  });

  it("one waiting contact's slow redial does not hold back another's", async () => {
    const t = await setup();
    heal = t.heal;
    const carolAddr = await addCarol(t);
    t.heal.check();
    t.hanging.set(carolAddr, () => {}); // Carol's dial will hang
    t.network.contactReach('caroluserid', false); // Bob waits already (his held mail)
    for (let i = 0; i < 6; i++) {
      t.advance(PROBE_MAX_MS * 1.2);
      t.heal.check();
      await settle();
    }
    assert.equal(t.dials.filter((a) => a === carolAddr).length, 1, "Carol's dial hangs: not redialled while it is in flight");
    assert.ok(t.dials.filter((a) => a === t.bobAddr).length >= 5, `Bob redialled on his backoff meanwhile (${t.dials.filter((a) => a === t.bobAddr).length})`);
    t.hanging.get(carolAddr)?.();
    await settle();
  });

  it('a waiting contact answering again (an attempt reached it) is reset and flushed; the others are redialled at once', async () => {
    const t = await setup();
    heal = t.heal;
    const carolAddr = await addCarol(t);
    t.heal.check();
    t.network.contactReach('bobuserid', false);
    t.network.contactReach('caroluserid', false);
    for (let i = 0; i < 20; i++) {
      t.advance(1_000);
      t.heal.check();
      await settle();
    }
    const before = t.dials.filter((a) => a === carolAddr).length;
    t.network.contactReach('bobuserid', true); // e.g. a direct request answered
    assert.deepEqual(t.flushes, [['bobuserid', true]]);
    assert.equal(t.outbox('b')?.state, 'held');
    assert.equal(t.outbox('b')?.nextAttemptAt, t.now(), "Bob's held mail due now");
    await settle();
    await settle();
    assert.equal(t.dials.filter((a) => a === carolAddr).length, before + 1, 'Carol redialled at once, not at her next backoff');
  });
});

describe('network state', () => {
  it('a reach of a peer whose addresses are unknown is no evidence: a LAN-only node stays local-only', async () => {
    let now = 5_000_000;
    const lanPeer = await peerId();
    const unknown = await peerId();
    const conns: ConnectionInfo[] = [{ peerId: lanPeer, address: `/ip4/192.168.1.20/tcp/4001/p2p/${lanPeer}`, direction: 'outbound', limited: false }];
    const network = createNetworkState({ connections: () => conns }, () => now, silentLogger, () => []);
    for (let i = 0; i < 3; i++) {
      network.sampleConnections();
      now += 1_000;
    }
    assert.equal(network.assess().state, 'local-only', 'only a LAN connection: local-only');
    for (let i = 0; i < 5; i++) network.reach(unknown, true);
    assert.equal(network.assess().state, 'local-only', 'no address, no connection: not a remote peer reached');
    for (let i = 0; i < 3; i++) network.reach(lanPeer, true);
    assert.equal(network.assess().state, 'local-only', "its connection's address says LAN");
    const remote = await peerId();
    conns.push({ peerId: remote, address: `/ip4/203.0.113.5/tcp/4001/p2p/${remote}`, direction: 'inbound', limited: false });
    for (let i = 0; i < 3; i++) network.reach(remote, true);
    assert.equal(network.assess().state, 'online', "a remote connection's address: a remote peer reached");
  });
});
