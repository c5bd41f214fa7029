/**
 * Compeer's records on @libp2p/kad-dht: key namespaces, validators and selectors injected by the caller,
 * and put/get with our own narrow types.
 *
 * Keys are ASCII strings `/<namespace>/<rest>` (e.g. `/cbundle/<hex>`). Every value passes, in order: the
 * size limit, then the namespace's `validate` — when we put it, when a peer asks us to store it, and when
 * a lookup returns it (kad-dht runs validators on remote records; we run them again on the way out, so
 * a value this module returns has always been validated here).
 *
 * This module does not know what a record means; the caller's validator does (signatures, key binding).
 */
import type { KadDHT, Selectors, Validators } from '@libp2p/kad-dht';
import { equalBytes, fromUtf8, utf8 } from '../lib/bytes.ts';
import { CompeerError, DecodeError, ErrorCodes, LimitError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { DhtNamespace } from './types.ts';

export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024;
export const MAX_KEY_BYTES = 512;
const NAMESPACE = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const KEY = /^\/([a-z0-9][a-z0-9_-]{0,31})\/[\x21-\x7e]+$/; // printable ASCII, no spaces

export interface DhtRecords {
  readonly validators: Validators;
  readonly selectors: Selectors;
  /** Throws a typed error unless `key` is well-formed and its namespace is registered. */
  checkKey(key: string): DhtNamespace;
  /** Size limit, then the namespace validator; throws a typed error. */
  validate(key: string, value: Uint8Array): Promise<void>;
}

export function createDhtRecords(
  namespaces: Readonly<Record<string, DhtNamespace>>,
  maxRecordBytes: number,
  log: Logger,
): DhtRecords {
  for (const ns of Object.keys(namespaces)) {
    if (!NAMESPACE.test(ns)) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, `invalid DHT namespace "${ns}"`);
  }

  const checkKey = (key: string): DhtNamespace => {
    const m = KEY.exec(key);
    if (m === null || key.length > MAX_KEY_BYTES) throw new DecodeError(ErrorCodes.INVALID_ARGUMENT, 'malformed DHT key');
    const ns = m[1] === undefined ? undefined : namespaces[m[1]];
    if (ns === undefined) throw new DecodeError(ErrorCodes.INVALID_ARGUMENT, 'DHT key in an unknown namespace');
    return ns;
  };

  const validate = async (key: string, value: Uint8Array): Promise<void> => {
    const ns = checkKey(key);
    if (value.length > maxRecordBytes) {
      throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `DHT record of ${value.length} bytes exceeds the limit of ${maxRecordBytes}`);
    }
    await ns.validate(key, value);
  };

  // kad-dht looks validators and selectors up by the key's first path segment.
  const validators: Validators = {};
  const selectors: Selectors = {};
  for (const [name] of Object.entries(namespaces)) {
    validators[name] = async (keyBytes: Uint8Array, value: Uint8Array): Promise<void> => {
      try {
        await validate(fromUtf8(keyBytes), value);
      } catch (err) {
        log.debug('DHT record rejected', { namespace: name, err: err instanceof Error ? err : String(err) });
        throw err;
      }
    };
    selectors[name] = (keyBytes: Uint8Array, values: Uint8Array[]): number => {
      try {
        const key = fromUtf8(keyBytes);
        const i = checkKey(key).select(key, values);
        return Number.isInteger(i) && i >= 0 && i < values.length ? i : 0;
      } catch (err) {
        log.warn('DHT selector failed', { namespace: name, err: err instanceof Error ? err : String(err) });
        return 0;
      }
    };
  }

  // kad-dht ships validators for /pk/ and /ipns/; a Compeer node stores neither for anyone.
  for (const builtin of ['pk', 'ipns']) {
    if (namespaces[builtin] !== undefined) continue;
    validators[builtin] = (): void => {
      throw new DecodeError(ErrorCodes.INVALID_ARGUMENT, 'DHT key in an unknown namespace');
    };
  }

  return { validators, selectors, checkKey, validate };
}

/**
 * Stores locally and on the closest peers; resolves to the number of peers that confirmed by the deadline.
 * Throws only for a key or value that fails validation. kad-dht pauses queries while the routing table is
 * empty, so on a node without peers this waits for its deadline and resolves to 0.
 */
export async function dhtPut(dht: KadDHT, records: DhtRecords, key: string, value: Uint8Array, signal: AbortSignal, log: Logger): Promise<number> {
  // kad-dht stores our own puts locally without validation: validate first so we never serve junk.
  await records.validate(key, value);
  let stored = 0;
  try {
    for await (const event of dht.put(utf8(key), value, { signal })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE' && event.record !== undefined && equalBytes(event.record.value, value)) {
        stored++;
      }
    }
  } catch (err) {
    // The deadline, or a query error: the record is stored locally and on `stored` peers; the count says it.
    log.debug('DHT put ended early', { stored, err: err instanceof Error ? err : String(err) });
  }
  return stored;
}

/**
 * Every distinct valid value found. kad-dht's `get` yields each validated remote record as a
 * PEER_RESPONSE and, at the end, the best value (which covers a local copy); both are collected.
 * A deadline or a failed "correction" put to stale peers ends the query but keeps what was found.
 */
export async function dhtGet(dht: KadDHT, records: DhtRecords, key: string, signal: AbortSignal, log: Logger): Promise<Uint8Array[]> {
  records.checkKey(key);
  const found: Uint8Array[] = [];
  const add = (v: Uint8Array): void => {
    if (!found.some((f) => equalBytes(f, v))) found.push(v);
  };
  try {
    for await (const event of dht.get(utf8(key), { signal })) {
      if (event.name === 'PEER_RESPONSE' && event.record !== undefined) add(event.record.value);
      else if (event.name === 'VALUE') add(event.value);
    }
  } catch (err) {
    if (!signal.aborted) log.debug('DHT get ended early', { err: err instanceof Error ? err : String(err) });
  }
  const valid: Uint8Array[] = [];
  for (const v of found) {
    try {
      await records.validate(key, v);
      valid.push(v);
    } catch (err) {
      log.debug('DHT record rejected', { err: err instanceof Error ? err : String(err) });
    }
  }
  return valid;
}
