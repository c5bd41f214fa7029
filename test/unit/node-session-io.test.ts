/**
 * session-io.ts's in-memory handoff (docs/perf-node.md T1, L5) is a cache, never the record: past its
 * bounds (count and text) the oldest entries drop out, and then the plaintext and the path length come
 * from the store again; an ack forgets the kv rows whether or not the entry was still in memory.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock, systemRng } from '../../src/lib/system.ts';
import { toHex } from '../../src/lib/bytes.ts';
import { encodePublicIdentity, generateIdentity, userIdOf } from '../../src/protocol/identity.ts';
import { memoryNodeStore } from '../../src/node/node-store.ts';
import { createSessionIo, newMessageId, newTextMessageId } from '../../src/node/session-io.ts';
import type { CompeerEvent } from '../../src/node/types.ts';

describe('node: session-io handoff', () => {
  test('beyond its bounds the plaintext and hops come from the store; acks forget every kv row', () => {
    const store = memoryNodeStore(generateIdentity(systemRng), 'alice');
    const bob = generateIdentity(systemRng).public;
    const contact = userIdOf(bob);
    store.contacts.add({ userId: contact, name: 'bob', publicKey: encodePublicIdentity(bob), createdAt: 1 });
    const io = createSessionIo(store, systemRng, systemClock);
    // 200 texts of 60,000 characters: 12 M characters, past the handoff's 8 M.
    const sent: { id: Uint8Array; text: string }[] = [];
    store.transaction(() => {
      for (let i = 0; i < 200; i++) {
        const id = newMessageId(systemRng);
        const text = `${String(i).padStart(3, '0')}${'y'.repeat(59_997)}`;
        const now = systemClock();
        store.messages.add({ id: toHex(id), contact, direction: 'out', text, status: 'queued', sentAt: now, receivedAt: null, expiresAt: now + 60_000 });
        io.enqueue(contact, { type: 'text', id, sentAt: now, text }, now + 60_000, undefined, i % 2);
        sent.push({ id, text });
      }
    });
    const items = store.outbox.forContact(contact);
    assert.equal(items.length, 200);
    for (const [i, item] of items.entries()) {
      const app = io.plaintextOf(item);
      assert.equal(app?.type, 'text');
      assert.equal(app?.type === 'text' ? app.text : undefined, sent[i]?.text);
      assert.equal(io.hopsOf(item.messageId), i % 2);
    }
    const events: CompeerEvent[] = [];
    const done = store.transaction(() => io.applyAcks(contact, sent.map((s) => s.id), events));
    assert.equal(done.size, 200);
    assert.equal(events.length, 200);
    assert.deepEqual(store.outbox.forContact(contact), []);
    assert.deepEqual(store.meta.keys('node.hops/'), []);
    // Acked again: nothing left to do, no second event.
    assert.equal(store.transaction(() => io.applyAcks(contact, sent.map((s) => s.id), [])).size, 0);
  });

  test('text message ids: the send time (ms, big-endian) first, then 10 random bytes; hex order is time order', () => {
    const t0 = 1_764_000_000_000;
    const offsets = [0, 1, 1, 255, 256, 70_000, 2 ** 40];
    const ids = offsets.map((dt) => newTextMessageId(systemRng, t0 + dt));
    for (const [i, id] of ids.entries()) {
      assert.equal(id.length, 16);
      assert.equal(id.subarray(0, 6).reduce((n, b) => n * 256 + b, 0), t0 + (offsets[i] as number));
    }
    const hex = ids.map(toHex);
    assert.notEqual(hex[1], hex[2]); // the same millisecond: the random part tells them apart
    const byTime = [hex[0], ...[hex[1], hex[2]].sort(), ...hex.slice(3)];
    assert.deepEqual([...hex].sort(), byTime);
  });
});
