/**
 * After an outbound attempt (outbound.ts): the statuses of what was not acked (`sent` once it may have
 * arrived, `held` once deposited in mailboxes) and when each entry is tried next
 * (src/routing/delivery-policy.ts nextAttemptDelay), in one transaction; the status events after it.
 */
import type { Clock, Rng } from '../lib/deps.ts';
import { nextAttemptDelay, type AttemptOutcome } from '../routing/delivery-policy.ts';
import type { OutboxItem } from '../store/outbox.ts';
import type { NodeStore } from './node-store.ts';
import { NO_WIRE } from './session-io.ts';
import type { CompeerEvent, MessageStatus } from './types.ts';

export interface RescheduleDeps {
  readonly store: NodeStore;
  readonly rng: Rng;
  readonly clock: Clock;
  readonly emit: (events: readonly CompeerEvent[]) => void;
}

export type Reschedule = (contact: string, items: readonly OutboxItem[], acked: ReadonlySet<string>, outcome: AttemptOutcome, connected?: boolean) => void;

export function createReschedule(d: RescheduleDeps): Reschedule {
  const { store, rng, clock } = d;
  /**
   * After an attempt: statuses and the next attempt of what is still unacked (`connected`: the
   * contact's node is connected to ours now; delivery-policy.ts nextAttemptDelay).
   */
  const reschedule = (contact: string, items: readonly OutboxItem[], acked: ReadonlySet<string>, outcome: AttemptOutcome, connected = false): void => {
    const now = clock();
    const events: CompeerEvent[] = [];
    const status: MessageStatus | undefined = outcome === 'sent' || outcome === 'answered' ? 'sent' : outcome === 'held' ? 'held' : undefined;
    store.transaction(() => {
      const first = items[0] as OutboxItem;
      // It may have arrived: the next attempt is a fresh encryption (the receiver deduplicates by id).
      if (status && store.outbox.get(first.messageId)) store.outbox.update(first.messageId, { wire: NO_WIRE });
      for (const item of items) {
        if (acked.has(item.messageId)) continue;
        const current = store.outbox.get(item.messageId);
        if (!current) continue;
        const m = store.messages.get(contact, 'out', item.messageId);
        if (status && m && (m.status === 'queued' || (m.status === 'sent' && status === 'held'))) {
          store.messages.setStatus(contact, 'out', item.messageId, status);
          events.push({ type: 'status', id: item.messageId, contact, status });
        }
        const unit = (rng.bytes(1)[0] as number) / 256;
        store.outbox.update(item.messageId, {
          attempts: outcome === 'waiting' ? current.attempts : current.attempts + 1,
          nextAttemptAt: now + nextAttemptDelay(outcome, current.attempts, unit, connected),
          state: status === 'held' || current.state === 'held' ? 'held' : status === 'sent' ? 'sent' : 'queued',
        });
      }
    });
    d.emit(events);
  };
  return reschedule;
}
