/**
 * A partial cut in full mode (docs/delivery.md "Heal", item 5): both sides keep connections among
 * themselves, so no node ever has "no connection" and the full-cut redial never starts. The sender's
 * message across the cut is held in mailboxes; after the heal the sender redials the waiting contact's
 * node itself (src/node/heal.ts, ContactProbes in src/routing/heal.ts) — before that, nothing on either
 * side reconnected across the cut for it, and the message waited for the held re-send (2 min · 2ⁿ) or
 * the recipient's mailbox poll. The test asserts what happened (the sender's redial reached the
 * contact, the message arrived once), not how fast: deadlines only bound the waits on a loaded machine.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createLogger, silentLogger } from '../../src/lib/log.ts';
import type { CompeerEvent } from '../../src/node/types.ts';
import { createMetrics } from '../../sim/engine/metrics.ts';
import { seededRandom } from '../../sim/engine/random.ts';
import { createCluster, type Cluster } from '../../sim/full/cluster.ts';
import { createFullFaults, type FullFaults } from '../../sim/full/faults.ts';
import { storeRoot } from '../../sim/full/simulate-full.ts';
import { createTimeline } from '../../sim/full/timeline.ts';
import { sleep, until } from './helpers.ts';

const memoryAddr = (peer: string): string => `/memory/${peer}/p2p/${peer}`;

describe('sim full mode: a partial cut heals', () => {
  const clusters: Cluster[] = [];
  after(async () => {
    for (const c of clusters) await c.close();
  });

  test("the sender redials the held message's recipient after the heal; the message lands once", async () => {
    const received = new Map<number, string[]>();
    // Node 1's log lines ('msg' and the contact only: no text is logged).
    const senderLog: { msg: string; contact?: unknown }[] = [];
    const logger = createLogger({
      level: 'info',
      sink: (line) => {
        const r = JSON.parse(line) as { msg: string; node?: number; contact?: unknown };
        if (r.node === 1) senderLog.push({ msg: r.msg, contact: r.contact });
      },
    });
    const gate: { faults?: FullFaults } = {};
    const cluster = createCluster({
      size: 6,
      baseDir: mkdtempSync(join(storeRoot(), 'compeer-full-heal-test-')),
      latencyMs: 0,
      maxPeers: 2000,
      relay: () => true,
      allow: (i, peer) => gate.faults?.allow(i, peer) ?? true,
      onEvent: (i: number, e: CompeerEvent) => {
        if (e.type === 'message' && e.message.direction === 'in') received.set(i, [...(received.get(i) ?? []), e.message.text]);
      },
      logger,
      // Product defaults otherwise: the mailbox poll is the product's (60 s, backing off), as is the held re-send.
    });
    clusters.push(cluster);
    const faults = createFullFaults({ cluster, timeline: createTimeline(silentLogger), metrics: createMetrics(1000), random: seededRandom('t'), faults: [], isRelay: () => true, bootstrap: [0] });
    gate.faults = faults;

    await cluster.boot(0, [0]);
    await Promise.all([1, 2, 3, 4, 5].map((i) => cluster.boot(i, [0])));
    const alice = cluster.node(1);
    const bobNode = cluster.node(4);
    assert.ok(alice && bobNode);
    await alice.addContact((await bobNode.id()).invite, 'bob');
    const bob = bobNode.userId;
    await alice.send(bob, 'before');
    assert.ok(await until(() => (received.get(4) ?? []).includes('before'), 60_000), 'delivered before the cut');

    // The cut side (4, 5) keeps a connection between its two nodes, the other side (0–3) its own: a
    // partial cut, where no node loses every connection.
    await cluster.node(5)?.net.dial(memoryAddr(cluster.peerId(4) ?? ''), { timeoutMs: 10_000 });
    await faults.partition([4, 5]);
    assert.ok(cluster.neighbours(4).includes(5), 'the cut side keeps its own connection');
    assert.ok(cluster.neighbours(1).length > 0, "the sender's side keeps its connections");

    await alice.send(bob, 'across');
    await sleep(10_000); // attempts fail across the cut: held in mailboxes on Alice's side, or queued
    assert.equal((received.get(4) ?? []).filter((t) => t === 'across').length, 0, 'not delivered while cut');

    faults.heal();
    assert.ok(await until(() => (received.get(4) ?? []).includes('across'), 180_000), 'delivered after the heal');
    assert.ok(
      senderLog.some((l) => (l.msg === 'heal: redial reached a waiting contact' || l.msg === 'heal: contact reachable again') && l.contact === bob),
      `the sender reached the waiting contact itself (${[...new Set(senderLog.map((l) => l.msg))].join('; ')})`,
    );
    await sleep(3_000);
    assert.equal((received.get(4) ?? []).filter((t) => t === 'across').length, 1, 'exactly once');
  });
});
