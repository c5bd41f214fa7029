/**
 * The libp2p datastore (in memory): what kad-dht stores for others goes through here, and three rules
 * kad-dht does not enforce are added.
 *
 * 1. Newer wins on storage nodes too. kad-dht's PUT_VALUE handler validates a record and then overwrites
 *    whatever it held: anyone could replay an old, validly signed record and roll a key back. Here a
 *    write that the namespace's selector ranks below the stored value is dropped (the same value is
 *    rewritten, which refreshes its age).
 * 2. No provider records. Compeer does not use them, and kad-dht would store any peer's ADD_PROVIDER for
 *    any key — memory for free.
 * 3. A cap on stored records: validly signed records are cheap to mint under fresh identities, so the
 *    number we hold for others is bounded (new keys are refused when full; existing keys still update).
 *
 * Key layout (kad-dht 16): records under /dht/record/<key>, provider records under /dht/provider/…;
 * everything else (the peer store) passes through untouched.
 */
import { Record as DhtRecord } from '@libp2p/kad-dht';
import { MemoryDatastore } from 'datastore-core';
import type { Key } from 'interface-datastore';
import { equalBytes } from '../lib/bytes.ts';
import { DecodeError, ErrorCodes, LimitError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { DhtRecords } from './dht.ts';

export const DEFAULT_MAX_STORED_RECORDS = 4096;
const RECORD_PREFIX = '/dht/record/';
const PROVIDER_PREFIX = '/dht/provider/';

interface AbortOptions {
  signal?: AbortSignal;
}

export class RecordDatastore extends MemoryDatastore {
  readonly #records: DhtRecords;
  readonly #maxRecords: number;
  readonly #log: Logger;
  readonly #recordKeys = new Set<string>();

  constructor(records: DhtRecords, maxRecords: number, log: Logger) {
    super();
    this.#records = records;
    this.#maxRecords = maxRecords;
    this.#log = log;
  }

  override async put(key: Key, val: Uint8Array, options?: AbortOptions): Promise<Key> {
    const k = key.toString();
    if (k.startsWith(PROVIDER_PREFIX)) {
      throw new DecodeError(ErrorCodes.INVALID_ARGUMENT, 'provider records are not stored');
    }
    if (!k.startsWith(RECORD_PREFIX)) return super.put(key, val, options);

    const incoming = DhtRecord.deserialize(val);
    const stored = this.#recordKeys.has(k) ? DhtRecord.deserialize(await super.get(key, options)) : undefined;
    if (stored === undefined) {
      if (this.#recordKeys.size >= this.#maxRecords) {
        this.#log.warn('DHT record refused', { err: new LimitError(ErrorCodes.LIMIT_EXCEEDED, `holding ${this.#maxRecords} records already`) });
        throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, 'record store full');
      }
    } else if (!equalBytes(stored.value, incoming.value)) {
      const best = this.#records.selectors[namespaceOf(incoming.key)];
      const i = best === undefined ? 1 : await best(incoming.key, [stored.value, incoming.value]);
      if (i === 0) {
        // Not an error for the sender's protocol (kad-dht echoes success); the stored value stays.
        this.#log.debug('DHT put older than the stored record; kept the stored one');
        return key;
      }
    }
    this.#recordKeys.add(k);
    return super.put(key, val, options);
  }

  override async delete(key: Key, options?: AbortOptions): Promise<void> {
    this.#recordKeys.delete(key.toString());
    await super.delete(key, options);
  }

  get recordCount(): number {
    return this.#recordKeys.size;
  }
}

function namespaceOf(key: Uint8Array): string {
  // Keys reaching the datastore passed kad-dht's validator lookup: "/<namespace>/…" in ASCII.
  const s = new TextDecoder().decode(key);
  return s.split('/')[1] ?? '';
}
