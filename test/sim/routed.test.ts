/**
 * The routed node model (sim/node-routed.ts): the product's router, onion keys, mailbox holders and
 * delivery policy over the simulated network. With relays known every message goes through relays;
 * recipients that are off get their messages out of mailboxes (held → delivered); all of it exactly once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runScenario } from '../../sim/simulate.ts';
import { scenario } from './helpers.ts';

const routed = { bootstrapNodes: 5, startWindowMs: 20_000, gossipFanout: 6, maxPeers: 2000, relayFraction: 0.3, retryOnContact: false, model: 'routed' };
const noTargets = { deliveryRatio: 1, duplicates: 0, knows8PeersMs: null, healFlushMs: null, honestTableFraction: null, survivorsReachable: null, wallTimeMs: null };

describe('virtual mode, routed model, 60 nodes', () => {
  it('churn: every message delivered once, through relays, offline recipients served from mailboxes', async () => {
    const s = scenario({ nodes: 60, durationMs: 480_000, node: routed, faults: [{ type: 'churn', fraction: 0.5, meanOnMs: 150_000, meanOffMs: 90_000, startMs: 60_000 }], targets: noTargets });
    const r = await runScenario(s);
    const g = r.routing;
    assert.ok(g !== null);
    assert.equal(r.model, 'routed');
    assert.ok(r.messages.created > 400, `created ${r.messages.created}`);
    assert.equal(r.messages.delivered, r.messages.created);
    assert.equal(r.messages.deliveryRatio, 1);
    assert.equal(r.messages.duplicates, 0);
    assert.equal(r.messages.lost, 0);
    assert.equal(g.errors, 0);
    // Through relays: paths of up to 3 relays carried the messages, and relays forwarded packets.
    assert.ok(g.pathSendsOk >= r.messages.created * 0.5, JSON.stringify(g));
    assert.ok(g.relayed >= 2 * g.pathSendsOk, `relayed ${g.relayed} packets for ${g.pathSendsOk} sends`);
    // Mailboxes: some messages were held for an offline recipient and every one of them was delivered,
    // some straight out of a mailbox (the real holder's challenge / fetch / delete with real proofs).
    assert.ok(g.held > 0 && g.holderCopies >= g.held, JSON.stringify(g));
    assert.equal(g.heldDelivered, g.held);
    assert.ok(g.deliveredFromMailbox > 0 && g.fetchedItems > 0, JSON.stringify(g));
    assert.ok(g.fetchRounds > g.emptyFetches, 'some fetches found mail and were made with a real proof');
    assert.equal(g.mailboxModel.runLostOfHeld, 0);
    assert.ok((r.transmissionsByKind.onion ?? 0) > 0 && (r.transmissionsByKind['mailbox-answer'] ?? 0) > 0);
  });

  it('is reproducible: the same seed gives the same results (the router\'s promises settle in event order)', async () => {
    const s = scenario({ nodes: 30, durationMs: 180_000, node: routed, traffic: { messagesPerNodePerMinute: 2, ttlMs: 3_600_000, messageBytes: 512, contactsPerNode: 5, startMs: 40_000, drainMs: 120_000 }, faults: [{ type: 'churn', fraction: 0.5, meanOnMs: 60_000, meanOffMs: 30_000, startMs: 40_000 }], targets: noTargets });
    const a = await runScenario(s);
    const b = await runScenario(s);
    assert.ok((a.routing?.held ?? 0) > 0 && (a.routing?.relayed ?? 0) > 0, JSON.stringify(a.routing));
    assert.deepEqual({ ...a, wallTimeMs: 0, memoryPerNodeBytes: 0 }, { ...b, wallTimeMs: 0, memoryPerNodeBytes: 0 });
  });

  it('pending at the end: accounted for by where each message stands; none dropped by its sender undelivered', async () => {
    // A drain shorter than the off sessions: some recipients are still off when the run ends.
    const s = scenario({ nodes: 40, durationMs: 240_000, node: routed, traffic: { messagesPerNodePerMinute: 2, ttlMs: 3_600_000, messageBytes: 512, contactsPerNode: 5, startMs: 40_000, drainMs: 30_000 }, faults: [{ type: 'churn', fraction: 1, meanOnMs: 60_000, meanOffMs: 120_000, startMs: 40_000 }], targets: noTargets });
    const r = await runScenario(s);
    const p = r.pendingAtEnd;
    assert.ok(p !== undefined && p.outbox !== null);
    assert.equal(p.total, r.messages.pending);
    assert.ok(p.recipientOffline > 0, JSON.stringify(p));
    assert.ok(p.recipientNeverUpSince <= p.recipientOffline);
    assert.equal(p.recipientOffline + p.senderOffline + p.bothUp, p.total);
    assert.equal(p.outbox.held + p.outbox.queued + p.outbox.absent, p.total);
    // A sender forgets a message only on its ack (after delivery) or at its TTL (lost): never while pending.
    assert.equal(p.outbox.absent, 0, JSON.stringify(p));
    assert.equal(p.recipientUpSinceCreatedMs.count, p.total);
  });

  it('partition then heal: the queues flush at the heal, within 10 s', async () => {
    const s = scenario({ nodes: 60, durationMs: 300_000, node: routed, traffic: { messagesPerNodePerMinute: 2, ttlMs: 3_600_000, messageBytes: 512, contactsPerNode: 5, startMs: 60_000, drainMs: 120_000 }, faults: [{ type: 'partition', atMs: 150_000, healAtMs: 210_000, fraction: 0.2 }], targets: noTargets });
    const r = await runScenario(s);
    const [heal] = r.messages.healFlushMs;
    assert.ok(heal !== undefined && heal.queued > 0, JSON.stringify(r.messages.healFlushMs));
    assert.equal(heal.undelivered, 0);
    assert.ok(heal.flushMs !== null && heal.flushMs <= 10_000, `heal flush ${heal.flushMs} ms`);
    assert.equal(r.messages.deliveryRatio, 1);
    assert.equal(r.messages.duplicates, 0);
  });
});
