/**
 * Differential test: random sequences of operations on the peer table, the outbox and messages give
 * the same answers from the memory reference and the sqlite implementation (fast-check; small caps
 * so the Sybil admission and eviction paths are exercised often), including inside transactions that
 * throw.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { PeerPolicyOptions } from '../../../src/routing/peer-policy.ts';
import type { Store } from '../../../src/store/store.ts';
import { memorySubject, sqliteSubject } from './subjects.ts';

const POLICY: PeerPolicyOptions = { maxPerPrefix: 3, maxPerGossipSource: 4, maxFromDht: 5, maxPeers: 10, maxAgeMs: 50 };

type Op =
  | { kind: 'upsert'; peer: number; net: number; source: number; at: number }
  | { kind: 'outcome'; peer: number; ok: boolean; at: number }
  | { kind: 'prune'; at: number }
  | { kind: 'remove'; peer: number }
  | { kind: 'enqueue'; msg: number; next: number; expires: number }
  | { kind: 'ack'; msg: number }
  | { kind: 'retry'; msg: number; next: number }
  | { kind: 'expire'; at: number }
  | { kind: 'message'; msg: number; dir: boolean; at: number }
  | { kind: 'status'; msg: number }
  | { kind: 'failingTx'; peer: number; msg: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('upsert' as const), peer: fc.nat(24), net: fc.nat(5), source: fc.nat(4), at: fc.nat(100) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('outcome' as const), peer: fc.nat(24), ok: fc.boolean(), at: fc.nat(100) }) },
  fc.record({ kind: fc.constant('prune' as const), at: fc.nat(150) }),
  fc.record({ kind: fc.constant('remove' as const), peer: fc.nat(24) }),
  fc.record({ kind: fc.constant('enqueue' as const), msg: fc.nat(15), next: fc.nat(100), expires: fc.nat(200) }),
  fc.record({ kind: fc.constant('ack' as const), msg: fc.nat(15) }),
  fc.record({ kind: fc.constant('retry' as const), msg: fc.nat(15), next: fc.nat(100) }),
  fc.record({ kind: fc.constant('expire' as const), at: fc.nat(200) }),
  fc.record({ kind: fc.constant('message' as const), msg: fc.nat(15), dir: fc.boolean(), at: fc.nat(100) }),
  fc.record({ kind: fc.constant('status' as const), msg: fc.nat(15) }),
  fc.record({ kind: fc.constant('failingTx' as const), peer: fc.nat(24), msg: fc.nat(15) }),
);

const SOURCES = ['dht', 'gossip:a', 'gossip:b', 'direct', 'mdns'] as const;
const id = (n: number): string => n.toString(16).padStart(32, '0');
const C = 'c'.repeat(32);

/** Applies one operation and returns what an observer would see of its result. */
function apply(s: Store, o: Op): unknown {
  const peer = (n: number): string => `p${n}`;
  switch (o.kind) {
    case 'upsert':
      return s.peers.upsert({ peerId: peer(o.peer), addresses: [`/ip4/${20 + o.net}.1.${o.peer}.1/tcp/1`], source: SOURCES[o.source] ?? 'dht', seenAt: o.at });
    case 'outcome':
      return s.peers.recordOutcome(peer(o.peer), o.ok, o.at);
    case 'prune':
      return s.peers.prune(o.at).sort();
    case 'remove':
      return s.peers.remove(peer(o.peer));
    case 'enqueue':
      try {
        s.outbox.enqueue({ messageId: id(o.msg), contact: C, wire: Uint8Array.of(o.msg), attempts: 0, nextAttemptAt: o.next, expiresAt: o.expires, state: 'queued', createdAt: o.next });
        return 'ok';
      } catch (e) {
        return (e as { code?: string }).code;
      }
    case 'ack':
      return s.outbox.remove(C, id(o.msg));
    case 'retry':
      return s.outbox.update(id(o.msg), { state: 'sent', attempts: 1, nextAttemptAt: o.next });
    case 'expire':
      return s.outbox.removeExpired(o.at).map((i) => i.messageId).sort();
    case 'message':
      return s.messages.add({
        id: id(o.msg), contact: C, direction: o.dir ? 'in' : 'out', text: `t${o.msg}`, status: 'queued',
        sentAt: o.at, receivedAt: o.dir ? o.at : null, expiresAt: 50,
      });
    case 'status':
      return [s.messages.setStatus(C, 'out', id(o.msg), 'delivered'), s.messages.expire(60).map((m) => m.id)];
    case 'failingTx':
      try {
        s.transaction(() => {
          s.peers.upsert({ peerId: peer(o.peer), addresses: ['/ip4/99.1.1.1/tcp/1'], source: 'direct', seenAt: 1 });
          s.outbox.remove(C, id(o.msg));
          s.messages.add({ id: id(o.msg), contact: C, direction: 'in', text: 'x', status: 'delivered', sentAt: 1, receivedAt: 1, expiresAt: null });
          throw new Error('rollback');
        });
      } catch {
        return 'rolled back';
      }
      return 'committed?';
  }
}

/** Everything observable, in a canonical order (ties broken by id where the contract leaves them open). */
function observe(s: Store): unknown {
  return {
    peers: s.peers.list().map((p) => [p.peerId, p.score, p.prefix, p.source, p.lastSeen]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    count: s.peers.count(),
    outbox: [...s.outbox.due(1_000)].map((i) => [i.messageId, i.state, i.nextAttemptAt]).sort(),
    counts: s.outbox.counts(),
    messages: s.messages.list(C).map((m) => [m.id, m.direction, m.status]).sort(),
  };
}

describe('memory and sqlite agree', () => {
  it('on random operation sequences', () => {
    const seen = { refused: 0, evicted: 0, ops: 0 };
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 80, size: 'max' }), (ops) => {
        const a = memorySubject(POLICY);
        const b = sqliteSubject(POLICY);
        try {
          for (const [i, o] of ops.entries()) {
            seen.ops++;
            const result = apply(a.store, o);
            assert.deepEqual(apply(b.store, o), result, `result of op ${i} (${o.kind})`);
            if (typeof result === 'object' && result !== null && 'outcome' in result) {
              if (result.outcome === 'refused') seen.refused++;
              if ('evicted' in result && Array.isArray(result.evicted) && result.evicted.length > 0) seen.evicted++;
            }
            assert.deepEqual(observe(b.store), observe(a.store), `state after op ${i} (${o.kind})`);
          }
        } finally {
          a.close();
          b.close();
        }
      }),
      { numRuns: 40, seed: 20261125 },
    );
    // The caps are small so that both admission paths really ran.
    assert.ok(seen.refused > 0 && seen.evicted > 0, `ops ${seen.ops}, refused ${seen.refused}, evicted ${seen.evicted}`);
  });
});
