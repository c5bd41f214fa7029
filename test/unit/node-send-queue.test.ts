/**
 * send-queue.ts writes a group of sends under one savepoint; when one send of the group fails (its
 * write, or the build of its message inside the transaction), the others are written all the same
 * (each in a savepoint of its own) and only that send's promise fails.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock, systemRng } from '../../src/lib/system.ts';
import { toHex } from '../../src/lib/bytes.ts';
import { encodePublicIdentity, generateIdentity, userIdOf } from '../../src/protocol/identity.ts';
import { memoryNodeStore } from '../../src/node/node-store.ts';
import { createSessionIo, newMessageId } from '../../src/node/session-io.ts';
import { createSendQueue } from '../../src/node/send-queue.ts';
import type { Messaging } from '../../src/node/messaging.ts';
import type { CompeerEvent } from '../../src/node/types.ts';

describe('node: send queue', () => {
  test('one failing send in a group fails alone; the rest are stored, queued and announced', async () => {
    const store = memoryNodeStore(generateIdentity(systemRng), 'alice');
    const bob = generateIdentity(systemRng).public;
    const contact = userIdOf(bob);
    store.contacts.add({ userId: contact, name: 'bob', publicKey: encodePublicIdentity(bob), createdAt: 1 });
    const io = createSessionIo(store, systemRng, systemClock);
    const flushed: string[] = [];
    const messaging = { enqueue: io.enqueue, prepare: () => {}, flush: async (c: string) => void flushed.push(c) } as unknown as Messaging;
    const events: CompeerEvent[] = [];
    const commitSend = createSendQueue({ store, messaging, emit: (e) => events.push(...e), clock: systemClock, toInfo: (m) => ({ ...m }) });
    const send = (to: string) => {
      const id = newMessageId(systemRng);
      const now = systemClock();
      const record = { id: toHex(id), contact: to, direction: 'out' as const, text: `to ${to}`, status: 'queued' as const, sentAt: now, receivedAt: null, expiresAt: now + 60_000 };
      return { id: record.id, done: commitSend({ build: () => ({ record, app: { type: 'text', id, sentAt: now, text: record.text } }) }) };
    };
    // The third goes to nobody we know: enqueue throws (NO_SESSION, 'no such contact').
    // The fifth one's build throws (as compeer.ts's does for an unknown or changed contact).
    const refused = commitSend({ build: () => { throw new Error('refused'); } });
    const sends = [send(contact), send(contact), send('f'.repeat(64)), send(contact), { id: '', done: refused }];
    const results = await Promise.allSettled(sends.map((s) => s.done));
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'rejected']);
    const good = sends.filter((_, i) => i !== 2 && i !== 4).map((s) => s.id);
    assert.deepEqual(store.outbox.forContact(contact).map((i) => i.messageId), good);
    assert.deepEqual(store.messages.list(contact).map((m) => m.id), good);
    assert.equal(store.messages.list('f'.repeat(64)).length, 0);
    assert.deepEqual(events.map((e) => (e.type === 'message' ? e.message.id : undefined)), good);
    assert.deepEqual(flushed, [contact]);
  });
});
