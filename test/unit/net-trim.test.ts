/**
 * src/net/trim.ts: the trim's order (tag value, then idle, then oldest), the connections it protects (in
 * use by us, or repaired by our own redial) and the cool-down of the peers it cut (refused while the node
 * is full: every one for TRIM_WATCH_MS, one back at once — the reconnect queue — for TRIM_COOLDOWN_MS;
 * a bounded map); src/net/connection-trim.ts on a fake libp2p: the count it trims to is taken after the
 * peer-store reads, not before them, and a read held up by the peer store's lock does not hold up the cut;
 * work in flight (a Compeer request not answered yet) is spared, and cut last when the cap forces a cut;
 * the tags come from libp2p's `peer:update` events, the peer store read only for a peer never seen.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Libp2p } from '@libp2p/interface';
import { createConnectionTrim, inboundReserve, TAG_MIRROR_MAX, TRIM_TAGS_READ_MS } from '../../src/net/connection-trim.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { createTrimCooldown, inUse, TRIM_ACTIVE_MS, TRIM_COOLDOWN_MS, TRIM_GRACE_MS, trimVictims } from '../../src/net/trim.ts';

type FakeConn = { remotePeer: { toString(): string }; timeline: { open: number }; streams: unknown[]; close(): Promise<void>; abort(): void };

/** libp2p connections as the trim sees them, opened long ago with no streams; a close drops one at once and returns `closed()`. */
function fakeConnections(closed: () => Promise<void>): { conns: FakeConn[]; conn(name: string): FakeConn } {
  const fake = {
    conns: [] as FakeConn[],
    conn(name: string): FakeConn {
      const c: FakeConn = {
        remotePeer: { toString: () => name },
        timeline: { open: 0 },
        streams: [],
        close: () => {
          fake.conns = fake.conns.filter((x) => x !== c);
          return closed();
        },
        abort: () => {},
      };
      return c;
    },
  };
  return fake;
}

/** A fake libp2p node over `fake`'s connections; `open()` fires its connection:open listener (the trim's). */
function fakeNode(fake: { conns: FakeConn[] }, peerStore: object = { get: async () => ({ tags: new Map() }), merge: async () => {} }): { node: Libp2p; open: () => void } {
  let onOpen: () => void = () => {};
  const node = {
    getConnections: () => [...fake.conns], // a new array each time, as libp2p's
    peerStore,
    addEventListener: (_: string, fn: () => void) => {
      onOpen = fn;
    },
  };
  return { node: node as unknown as Libp2p, open: () => onOpen() };
}

/** Lets a trim's closes run until at most `max` connections are left (the bound only ends a failing run). */
async function settle(fake: { conns: FakeConn[] }, max: number): Promise<void> {
  for (let i = 0; i < 20 && fake.conns.length > max; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('net: connection trim', () => {
  it('cuts the least-valued peers first, then idle connections, then the oldest', () => {
    const c = (name: string, value: number, busy: boolean, openedAt: number) => ({ name, value, busy, openedAt, inUse: false, kept: false, inFlight: 0 });
    const all = [c('kad-close', 51, false, 1), c('busy-old', 0, true, 2), c('idle-new', 0, false, 9), c('idle-old', 0, false, 3), c('mesh', 1, false, 0)];
    assert.deepEqual(trimVictims(all, 3).map((v) => v.name), ['idle-old', 'idle-new', 'busy-old']);
    assert.deepEqual(trimVictims(all, 5).map((v) => v.name), ['idle-old', 'idle-new', 'busy-old', 'mesh', 'kad-close']);
    assert.deepEqual(trimVictims(all, 0), []);
  });

  it('a node whose connections are all valued keeps the new one in use and cuts an old idle one', () => {
    // full-baseline-100's node 75: kad-close (51, KEEP_ALIVE) and gossip-mesh (100) peers only; a sender's
    // direct request arrives on a new connection from a kad routing-table peer (value 1).
    const c = (name: string, value: number, openedAt: number, o: { inUse?: boolean; kept?: boolean } = {}) => ({ name, value, busy: true, openedAt, inUse: o.inUse ?? false, kept: o.kept ?? false, inFlight: 0 });
    const close1 = c('close-1', 51, 1, { kept: true });
    const close2 = c('close-2', 51, 2, { kept: true });
    const sender = c('sender', 1, 99, { inUse: true });
    const all = [close1, close2, c('mesh-1', 100, 3), c('mesh-2', 100, 4), sender];
    assert.deepEqual(trimVictims(all, 1).map((v) => v.name), ['mesh-1'], 'by value alone the sender would go');
    assert.deepEqual(trimVictims(all, 3).map((v) => v.name), ['mesh-1', 'mesh-2', 'close-1'], 'kept peers after the idle ones');
    // Only connections in use over max: none cut until libp2p's limit would leave no inbound slot.
    const busyNew = c('walk', 0, 98, { inUse: true });
    assert.deepEqual(trimVictims([sender, busyNew], 1), []);
    // Not in use any more: the lowest-valued goes, kept peers after every idle one.
    assert.deepEqual(trimVictims([close1, close2, { ...sender, inUse: false }], 1).map((v) => v.name), ['sender']);
    assert.deepEqual(trimVictims([close1, close2, c('mesh', 100, 5)], 2).map((v) => v.name), ['mesh', 'close-1']);
    // libp2p's limit less one inbound slot: cut whatever it must, kept ones, then those in use.
    assert.deepEqual(trimVictims([sender, busyNew], 1, 1).map((v) => v.name), ['walk']);
    assert.deepEqual(trimVictims([close1, sender, busyNew], 3, 3).map((v) => v.name), ['close-1', 'walk', 'sender']);
  });

  it('spares connections with work in flight, and cuts them last (fewest requests first) when it must', () => {
    const c = (name: string, value: number, openedAt: number, o: { inUse?: boolean; kept?: boolean; inFlight?: number } = {}) => ({
      name,
      value,
      busy: true,
      openedAt,
      inUse: o.inUse ?? false,
      kept: o.kept ?? false,
      inFlight: o.inFlight ?? 0,
    });
    // Idle by the clock (no request for 30 s, long open) but a request on it now: not an idle victim.
    const relayed = c('relayed', 0, 1, { inFlight: 1 });
    assert.deepEqual(trimVictims([relayed, c('idle', 5, 2)], 1).map((v) => v.name), ['idle']);
    assert.deepEqual(trimVictims([relayed], 1), [], 'over max with work in flight only: wait');
    // The sender's forced cut (every connection in use): its path's first relay, with the packet on it, goes last.
    const firstRelay = c('first-relay', 0, 1, { inUse: true, inFlight: 1 });
    const busier = c('busier', 0, 0, { inUse: true, inFlight: 3 });
    const all = [firstRelay, busier, c('used-a', 51, 5, { inUse: true }), c('used-b', 100, 6, { inUse: true })];
    assert.deepEqual(trimVictims(all, 4, 2).map((v) => v.name), ['used-a', 'used-b'], 'by value alone the first relay would go first');
    // The cap holds when everything is busy: the fewest requests lost.
    assert.deepEqual(trimVictims(all, 4, 3).map((v) => v.name), ['used-a', 'used-b', 'first-relay']);
    assert.deepEqual(trimVictims(all, 4, 4).map((v) => v.name), ['used-a', 'used-b', 'first-relay', 'busier']);
  });

  it('a forced cut takes connections in use by past requests before a new one still in its grace', () => {
    // full-partition under load (heal6): node 2 at libp2p's limit, every connection in use, a sender's
    // redial just connected (a stranger: no tags, no pooled stream yet) — by value and streams it went first.
    const c = (name: string, value: number, openedAt: number, o: { busy?: boolean; fresh?: boolean; inFlight?: number } = {}) => ({
      name,
      value,
      busy: o.busy ?? true,
      openedAt,
      inUse: true,
      kept: false,
      inFlight: o.inFlight ?? 0,
      ...(o.fresh !== undefined && { fresh: o.fresh }),
    });
    const redial = c('redial', 0, 99, { busy: false, fresh: true });
    const all = [c('kad', 1, 3, { fresh: false }), redial, c('mesh', 5, 2, { fresh: false }), c('relay', 0, 4, { fresh: false, inFlight: 1 })];
    assert.deepEqual(trimVictims(all, 4, 1).map((v) => v.name), ['kad'], 'an old connection in use by a past request goes, not the new one');
    assert.deepEqual(trimVictims(all, 4, 3).map((v) => v.name), ['kad', 'mesh', 'redial'], 'the new one before work in flight');
    assert.deepEqual(trimVictims([redial, c('new-too', 1, 98, { fresh: true })], 2, 1).map((v) => v.name), ['redial'], 'between new ones: value, streams, age as before');
  });

  it('a connection is in use while new, and for a while after a request with its peer', () => {
    const now = 1_000_000;
    assert.equal(inUse(now, now - TRIM_GRACE_MS + 1, undefined), true, 'new');
    assert.equal(inUse(now, now - TRIM_GRACE_MS, undefined), false, 'grace over, no request');
    assert.equal(inUse(now, 0, now - TRIM_ACTIVE_MS + 1), true, 'a request lately');
    assert.equal(inUse(now, 0, now - TRIM_ACTIVE_MS), false, 'the last request too long ago');
  });

  it('lets a cut peer in once (a relay, a new contact), then refuses it until the cool-down ends', () => {
    let now = 1_000;
    const cd = createTrimCooldown(() => now);
    cd.cut(['a']);
    assert.equal(cd.refuses('b', true), false, 'never cut');
    assert.equal(cd.refuses('a', false), false, 'a free slot: no reason to refuse, admission not used');
    now += 200;
    assert.equal(cd.refuses('a', true), false, 'back once: let in (a relay forwarding 1.7 s after its cut)');
    assert.equal(cd.refuses('a', true), true, 'a second time inside the window: the reconnect queue');
    now = 1_000 + TRIM_COOLDOWN_MS - 1;
    assert.equal(cd.refuses('a', true), true, 'still cooling');
    now += 1;
    assert.equal(cd.refuses('a', true), false, 'cool-down over');
  });

  it('a peer cut again inside its window gets no second admission, and its window restarts', () => {
    let now = 1_000;
    const cd = createTrimCooldown(() => now);
    cd.cut(['a']);
    assert.equal(cd.refuses('a', true), false, 'its one admission');
    now += 10_000;
    cd.cut(['a']); // cut again once its grace was over
    now += 1;
    assert.equal(cd.refuses('a', true), true, 'the redial right after: refused');
    now = 11_000 + TRIM_COOLDOWN_MS - 1;
    assert.equal(cd.refuses('a', true), true, 'the queue retries for 31 s: all refused (window from the latest cut)');
    now += 1;
    assert.equal(cd.refuses('a', true), false, 'window over');
    cd.cut(['a']);
    assert.equal(cd.refuses('a', true), false, 'a cut after a whole window: a new admission');
  });

  it("tells whether a peer was cut within a span (the heal leaves the trim's own closes out of its cut detection)", () => {
    let now = 1_000;
    const cd = createTrimCooldown(() => now);
    assert.equal(cd.cutWithin('a', 10_000), false, 'never cut');
    cd.cut(['a']);
    now += 9_999;
    assert.equal(cd.cutWithin('a', 10_000), true);
    now += 1;
    assert.equal(cd.cutWithin('a', 10_000), false, 'older than the span');
    cd.cut(['a']);
    assert.equal(cd.cutWithin('a', 10_000), true, 'the latest cut counts');
  });

  it('remembers a bounded number of peers, the latest cut', () => {
    const cd = createTrimCooldown(() => 0, 2);
    cd.cut(['a', 'b', 'c']);
    for (const p of ['a', 'b', 'c']) cd.refuses(p, true); // each one's admission
    assert.equal(cd.refuses('a', true), false, 'the oldest forgotten');
    assert.equal(cd.refuses('b', true), true);
    assert.equal(cd.refuses('c', true), true);
  });

  it('counts the connections opened while it read the peer store (a heal: 25 → 33 during the reads)', async () => {
    const max = 24;
    // A close drops the connection at once and ends only after the test: the first trim is still running.
    const fake = fakeConnections(() => new Promise(() => {}));
    let openGate: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const { node, open } = fakeNode(fake, { get: async () => gate.then(() => ({ tags: new Map() })), merge: async () => {} });
    fake.conns = Array.from({ length: max + 1 }, (_, i) => fake.conn(`old${i}`));
    const trim = createConnectionTrim(max, () => 100_000, silentLogger); // all idle: opened long ago, no requests
    trim.attach(node);
    open();
    // The peer store is slow; meanwhile 8 more peers connect (their events find the trim running).
    for (let i = 0; i < 8; i++) {
      fake.conns.push(fake.conn(`new${i}`));
      open();
    }
    assert.equal(fake.conns.length, max + 9);
    openGate();
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    // The first trim alone (its closes still pending) is back at max, inside libp2p's max + reserve.
    assert.ok(fake.conns.length < max + inboundReserve(max), `${fake.conns.length} connections after the first trim`);
    assert.equal(fake.conns.length, max);
  });

  it('cuts even when the peer store does not answer (its per-peer lock held for seconds after a heal)', async () => {
    const max = 24;
    const fake = fakeConnections(async () => {});
    const hang = async (_: unknown, opts?: { signal?: AbortSignal }): Promise<never> =>
      new Promise((_resolve, reject) => opts?.signal?.addEventListener('abort', () => reject(opts.signal?.reason as Error)));
    const { node, open } = fakeNode(fake, { get: hang, merge: hang });
    fake.conns = Array.from({ length: max + 6 }, (_, i) => fake.conn(`p${i}`));
    const trim = createConnectionTrim(max, () => 100_000, silentLogger);
    trim.attach(node);
    open();
    // Wait for the closes (each read gives up after TRIM_TAGS_READ_MS); the bound only ends a failing run.
    for (let i = 0; i < 40 && fake.conns.length > max; i++) await new Promise((resolve) => setTimeout(resolve, TRIM_TAGS_READ_MS / 4));
    assert.equal(fake.conns.length, max, 'the peers whose tags could not be read are cut all the same');
  });

  it('does not cut a connection with a request in flight on it, however idle it looks', async () => {
    const max = 4;
    const { fake, open, trim } = attachedTrim(max, () => 100_000);
    // All opened long ago, none touched: by age alone 'p0' (the oldest) is the first to go.
    const opened = (name: string, at: number): FakeConn => Object.assign(fake.conn(name), { timeline: { open: at } });
    fake.conns = Array.from({ length: max + 1 }, (_, i) => opened(`p${i}`, i));
    let answer: (v: string) => void = () => {};
    const pending = trim.inFlight('p0', async () => new Promise<string>((resolve) => (answer = resolve)));
    open();
    await settle(fake, max);
    assert.deepEqual(fake.conns.map((c) => c.remotePeer.toString()).sort(), ['p0', 'p2', 'p3', 'p4'], 'the next oldest went instead');
    answer('done');
    assert.equal(await pending, 'done');
    // Answered: no longer in flight, so the oldest goes at the next trim.
    fake.conns.push(opened('p5', 5));
    open();
    await settle(fake, max);
    assert.deepEqual(fake.conns.map((c) => c.remotePeer.toString()).sort(), ['p2', 'p3', 'p4', 'p5']);
  });

  /** A trim of `max` slots attached to a fake libp2p whose closes end at once; its clock is `clock`. */
  function attachedTrim(max: number, clock: () => number) {
    const fake = fakeConnections(async () => {});
    const { node, open } = fakeNode(fake);
    const trim = createConnectionTrim(max, clock, silentLogger);
    trim.attach(node);
    return { fake, open, trim };
  }

  /** Two slots over a fake libp2p, a settable clock, and connections opened with the given streams. */
  function streamsCase() {
    const max = 2;
    let now = 100_000;
    const { fake, open, trim } = attachedTrim(max, () => now);
    const opened = (name: string, at: number, protocols: string[]): FakeConn =>
      Object.assign(fake.conn(name), { timeline: { open: at }, streams: protocols.map((protocol) => ({ protocol })) });
    const advance = (ms: number): number => (now += ms);
    return { max, fake, open, trim, opened, advance };
  }

  it("does not take a connection's open streams for work in flight (request.ts pools them between requests)", async () => {
    const { max, fake, open, trim, advance, opened } = streamsCase();
    // Over libp2p's limit: a forced cut among connections in use. Two old ones hold pooled, idle request
    // streams; the newest (in its grace) has none yet, its sender's request still to come.
    fake.conns = [opened('pooled-a', 0, ['/meshsub/1.1.0', '/compeer/msg/1']), opened('pooled-b', 1, ['/meshsub/1.1.0', '/compeer/onion/1'])];
    trim.touch('pooled-a');
    trim.touch('pooled-b');
    const now = advance(1);
    fake.conns.push(opened('newcomer', now, ['/meshsub/1.1.0']));
    for (let i = 0; i < 2; i++) fake.conns.push(opened(`filler${i}`, now, ['/meshsub/1.1.0']));
    trim.touch('filler0');
    trim.touch('filler1');
    open();
    await settle(fake, max);
    // All in use, none with a request in flight: the oldest go, not the newcomer for lacking a pooled stream.
    assert.ok(fake.conns.some((c) => c.remotePeer.toString() === 'newcomer'), fake.conns.map((c) => c.remotePeer.toString()).join(','));
  });
  it('a forced cut spares a connection still in its grace, streams or none, before old ones in use by past requests', async () => {
    const { max, fake, open, trim, advance, opened } = streamsCase();
    // heal6's trace: a stranger's redial just connected (no stream yet) to a node whose connections are
    // all in use by requests of the last 30 s, each keeping a pooled stream.
    fake.conns = ['a', 'b', 'c', 'd'].map((n, i) => opened(n, i, ['/compeer/onion/1']));
    for (const n of ['a', 'b', 'c', 'd']) trim.touch(n);
    fake.conns.push(opened('redial', advance(TRIM_GRACE_MS + 1), []));
    open();
    await settle(fake, max);
    assert.ok(fake.conns.some((c) => c.remotePeer.toString() === 'redial'), fake.conns.map((c) => c.remotePeer.toString()).join(','));
  });
  it('a connection with a Compeer stream opened within the grace is in use (a request still inside libp2p); a pooled old one is not', async () => {
    const max = 1;
    const now = 100_000;
    const { fake, open } = attachedTrim(max, () => now);
    const stream = (protocol: string, at: number) => ({ protocol, timeline: { open: at } });
    const opened = (name: string, streams: object[]): FakeConn => Object.assign(fake.conn(name), { timeline: { open: 0 }, streams });
    // heal6's trace: a relay's forward to a recipient, its stream negotiated on a connection opened long
    // ago, not yet handed to the handler — the trim took the relay for idle and the path failed there.
    fake.conns = [
      opened('relay-forwarding', [stream('/compeer/onion/1', now - 100)]),
      opened('pooled', [stream('/compeer/msg/1', now - TRIM_GRACE_MS - 1)]),
      opened('kad', [stream('/ipfs/kad/1.0.0', now - 100)]),
    ];
    open();
    await settle(fake, max);
    assert.deepEqual(fake.conns.map((c) => c.remotePeer.toString()), ['relay-forwarding'], 'an old pooled stream, or a new stream of another protocol, is no reason to keep a connection');
  });

  it("never refuses a contact's node, nor a peer we sent a request to lately; a peer that only sent us requests is refused as before", async () => {
    const max = 2;
    let now = 100_000;
    const { fake, open, trim } = attachedTrim(max, () => now);
    const id = (name: string) => ({ toString: () => name }) as unknown as Parameters<typeof trim.cooling>[0];
    const opened = (name: string, at: number): FakeConn => Object.assign(fake.conn(name), { timeline: { open: at } });
    const cutOldest = async (names: string[]): Promise<void> => {
      fake.conns = names.map((n, i) => opened(n, i));
      open();
      await settle(fake, max);
      fake.conns.push(opened('filler', now)); // full again (max held): the cool-down applies
    };
    await cutOldest(['stranger', 'x', 'y']);
    assert.equal(trim.cooling(id('stranger')), false, 'its one admission');
    assert.equal(trim.cooling(id('stranger')), true, 'a stranger back a second time: refused, as before');
    await cutOldest(['contact', 'x', 'y']);
    trim.keepPeers(['contact']); // became a contact's node since
    assert.equal(trim.cooling(id('contact')), false);
    assert.equal(trim.cooling(id('contact')), false, "a contact's node is never refused");
    await cutOldest(['asker', 'x', 'y']);
    assert.equal(trim.cooling(id('asker')), false, 'its one admission');
    trim.touch('asker'); // we served its request (maybe junk): that alone must not keep it exempt
    assert.equal(trim.cooling(id('asker')), true, 'a peer that only sent us requests: refused, as a stranger');
    await cutOldest(['asked', 'x', 'y']);
    assert.equal(trim.cooling(id('asked')), false, 'its one admission');
    now += 1_000;
    trim.asked('asked'); // we send it a request (a first contact's bundle fetch): our dial, its redial welcome
    assert.equal(trim.cooling(id('asked')), false, 'a peer we are asking is let in');
    now += TRIM_ACTIVE_MS;
    assert.equal(trim.cooling(id('asked')), true, 'no request for TRIM_ACTIVE_MS: the cool-down again');
  });

  it('values peers by the tags of their latest peer:update, reading the peer store only for a peer the mirror forgot', async () => {
    const setup = (mirrorMax?: number) => {
      const fake = fakeConnections(async () => {});
      const listeners = new Map<string, (e: unknown) => void>();
      const reads: string[] = [];
      const stored = new Map<string, Map<string, { value: number }>>();
      const node = {
        getConnections: () => [...fake.conns],
        peerStore: {
          get: async (id: { toString(): string }) => {
            reads.push(id.toString());
            return { tags: stored.get(id.toString()) ?? new Map() };
          },
          merge: async () => {},
        },
        addEventListener: (name: string, fn: (e: unknown) => void) => listeners.set(name, fn),
      };
      const trim = createConnectionTrim(2, () => 100_000, silentLogger, { tagMirrorMax: mirrorMax });
      trim.attach(node as unknown as Libp2p);
      const update = (peer: string, tags: Record<string, number>): void => {
        const map = new Map(Object.entries(tags).map(([k, value]) => [k, { value }]));
        stored.set(peer, map);
        listeners.get('peer:update')?.({ detail: { peer: { id: { toString: () => peer }, tags: map } } });
      };
      const trimAt = async (names: [string, number][]): Promise<string[]> => {
        fake.conns = names.map(([n, at]) => Object.assign(fake.conn(n), { timeline: { open: at } }));
        listeners.get('connection:open')?.({});
        for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
        return fake.conns.map((c) => c.remotePeer.toString());
      };
      return { reads, update, trimAt };
    };
    // The oldest is a kad-close peer (tagged after it connected), then an untagged one, then one never updated.
    const a = setup();
    a.update('close', {});
    a.update('close', { 'kad-close': 50 });
    a.update('plain', {});
    assert.deepEqual(await a.trimAt([['close', 0], ['plain', 1], ['unseen', 2]]), ['close', 'unseen'], 'the oldest untagged peer went, by its latest update');
    assert.deepEqual(a.reads, [], 'no peer-store read: a peer never updated has no tags');
    a.update('close', {}); // the tag dropped: valued so at the next trim
    assert.deepEqual(await a.trimAt([['close', 0], ['unseen', 2], ['new', 50_000]]), ['unseen', 'new']);
    assert.deepEqual(a.reads, []);
    // A mirror of one peer forgets: a peer not in it is read from the store (and remembered).
    const b = setup(1);
    b.update('kept', { 'compeer-keep': 100 });
    b.update('plain', {}); // 'kept' forgotten
    assert.deepEqual(await b.trimAt([['kept', 0], ['plain', 1], ['other', 2]]), ['kept', 'other'], 'its tags read from the store: kept');
    assert.deepEqual(b.reads.sort(), ['kept', 'other']);
    assert.ok(TAG_MIRROR_MAX >= 1_024, "bounded, far above a node's connections");
  });
});
