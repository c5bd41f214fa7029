/**
 * Transactions for the in-memory repositories: an undo log. Each mutation made inside `transaction`
 * records how to undo itself; a throw undoes everything since the transaction (or the nested one)
 * began. Outside a transaction nothing is recorded. `fn` must be synchronous, as with sqlite.
 *
 * This module knows nothing about what the repositories keep.
 */
import { CompeerError, ErrorCodes } from '../lib/errors.ts';

export interface UndoLog {
  /** Records how to undo a mutation that just happened (no-op outside a transaction). */
  record(undo: () => void): void;
}

export interface MemoryTransactions extends UndoLog {
  transaction<T>(fn: () => T): T;
}

export function isThenable(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

export function asyncTransactionError(): CompeerError {
  return new CompeerError(ErrorCodes.INTERNAL, 'store transaction: fn must be synchronous (it returned a promise)');
}

export function memoryTransactions(): MemoryTransactions {
  const log: (() => void)[] = [];
  let depth = 0;
  const rollbackTo = (mark: number): void => {
    while (log.length > mark) (log.pop() as () => void)();
  };
  return {
    record(undo) {
      if (depth > 0) log.push(undo);
    },
    transaction(fn) {
      const mark = log.length;
      depth++;
      try {
        const out = fn();
        if (isThenable(out)) throw asyncTransactionError();
        return out;
      } catch (e) {
        rollbackTo(mark);
        throw e;
      } finally {
        depth--;
        if (depth === 0) log.length = 0;
      }
    },
  };
}

/** An UndoLog that records nothing: for repositories used without a transaction manager. */
export const noUndo: UndoLog = { record: () => {} };

/** map.set with its undo recorded. Values must be treated as immutable (replace, never mutate). */
export function mapSet<K, V>(log: UndoLog, map: Map<K, V>, key: K, value: V): void {
  const had = map.has(key);
  const prev = map.get(key);
  map.set(key, value);
  log.record(() => {
    if (had) map.set(key, prev as V);
    else map.delete(key);
  });
}

/** map.delete with its undo recorded; returns whether the key was there. */
export function mapDelete<K, V>(log: UndoLog, map: Map<K, V>, key: K): boolean {
  if (!map.has(key)) return false;
  const prev = map.get(key) as V;
  map.delete(key);
  log.record(() => map.set(key, prev));
  return true;
}
