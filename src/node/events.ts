/**
 * The node's event listeners (CompeerApi.on): events go out only after the store committed what they
 * report (callers emit after their transaction); a throwing listener is logged and does not stop the others.
 */
import type { Logger } from '../lib/log.ts';
import type { CompeerEvent } from './types.ts';

export interface EventHub {
  emit(events: readonly CompeerEvent[]): void;
  /** Returns the unsubscribe function. */
  on(listener: (e: CompeerEvent) => void): () => void;
  clear(): void;
  /** Resolves at the first event for which `done` holds, or after `ms`. */
  until(done: (e: CompeerEvent) => boolean, ms: number): Promise<void>;
}

export function createEventHub(log: Logger): EventHub {
  const listeners = new Set<(e: CompeerEvent) => void>();
  return {
    emit(events) {
      for (const e of events) {
        for (const l of listeners) {
          try {
            l(e);
          } catch (err) {
            log.warn('event listener failed', { error: err instanceof Error ? err : String(err) });
          }
        }
      }
    },
    on(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    clear: () => listeners.clear(),
    until(done, ms) {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(finish, ms);
        const listener = (e: CompeerEvent): void => {
          if (done(e)) finish();
        };
        listeners.add(listener);
        function finish(): void {
          clearTimeout(timer);
          listeners.delete(listener);
          resolve();
        }
      });
    },
  };
}
