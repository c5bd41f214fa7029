/**
 * DHT records through src/net/ (dht.ts, record-store.ts) on four real nodes over TCP on 127.0.0.1:
 * A puts, C gets through B; M runs a lenient validator and tries a forged record and a rollback.
 * The record format is a toy (8-byte timestamp + HMAC over key and timestamp with a test key); the real
 * bundle validator lives above net/.
 */
import { Record as DhtRecord } from '@libp2p/kad-dht';
import { Key } from 'interface-datastore';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { concatBytes, equalBytes, utf8 } from '../../src/lib/bytes.ts';
import { CryptoError, DecodeError, ErrorCodes } from '../../src/lib/errors.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { createDhtRecords } from '../../src/net/dht.ts';
import { RecordDatastore } from '../../src/net/record-store.ts';
import type { DhtNamespace, NetNode } from '../../src/net/types.ts';
import { captureLogger, codeOf, startNode, waitFor, type Captured } from './net-helpers.ts';

const TEST_KEY = utf8('net-dht test key');

function record(key: string, ts: number, forge = false): Uint8Array {
  const t = new Uint8Array(8);
  new DataView(t.buffer).setBigUint64(0, BigInt(ts));
  const mac = createHmac('sha256', TEST_KEY).update(utf8(key)).update(t).digest();
  if (forge) mac[0] = (mac[0] ?? 0) ^ 1;
  return concatBytes(t, mac);
}
const tsOf = (v: Uint8Array): number => Number(new DataView(v.buffer, v.byteOffset, v.byteLength).getBigUint64(0));

const strict: DhtNamespace = {
  validate(key, value) {
    if (value.length !== 40) throw new DecodeError(ErrorCodes.INVALID_LENGTH, 'toy record: 40 bytes');
    if (!equalBytes(value, record(key, tsOf(value)))) throw new CryptoError(ErrorCodes.BAD_SIGNATURE, 'toy record: bad MAC');
  },
  select(_key, values) {
    let best = 0;
    values.forEach((v, i) => {
      if (tsOf(v) > tsOf(values[best] ?? v)) best = i;
    });
    return best;
  },
};
const lenient: DhtNamespace = { validate() {}, select: strict.select };

const KEY = '/ctest/alice';
const has = (values: Uint8Array[], v: Uint8Array): boolean => values.some((x) => equalBytes(x, v));

describe('net/dht', () => {
  let a: NetNode;
  let b: NetNode;
  let c: NetNode;
  let m: NetNode;
  let bLogs: Captured;

  before(async () => {
    bLogs = captureLogger();
    b = await startNode({ dht: { namespaces: { ctest: strict } }, logger: bLogs.logger });
    const bootstrap = b.addresses();
    [a, c, m] = await Promise.all([
      startNode({ dht: { namespaces: { ctest: strict } }, bootstrap }),
      startNode({ dht: { namespaces: { ctest: strict } }, bootstrap }),
      startNode({ dht: { namespaces: { ctest: lenient } }, bootstrap }),
    ]);
    const connected = (n: NetNode): boolean => n.connections().some((x) => x.peerId === b.peerId);
    assert.ok(await waitFor(() => connected(a) && connected(c) && connected(m), 5_000), 'bootstrap connections');
  });

  after(async () => {
    await Promise.all([a.stop(), b.stop(), c.stop(), m.stop()]);
  });

  test('a put on A is found on C through B; a newer value replaces it and is selected', async () => {
    const v1 = record(KEY, 1);
    assert.ok((await a.dhtPut(KEY, v1, { timeoutMs: 5_000 })) >= 1, 'stored on at least one peer');
    const got1 = await c.dhtGet(KEY, { timeoutMs: 5_000 });
    assert.ok(has(got1, v1), 'C finds the value');

    const v2 = record(KEY, 2);
    await a.dhtPut(KEY, v2, { timeoutMs: 5_000 });
    const got2 = await c.dhtGet(KEY, { timeoutMs: 5_000 });
    assert.ok(has(got2, v2));
    assert.equal(tsOf(got2[strict.select(KEY, got2)] ?? new Uint8Array(8)), 2, 'the newer value wins');
  });

  test('a replayed older record does not roll storage nodes back', async () => {
    const v2 = record(KEY, 2);
    await m.dhtPut(KEY, record(KEY, 1), { timeoutMs: 5_000 }); // validly signed, but older
    assert.ok(bLogs.find('DHT put older than the stored record; kept the stored one').length >= 1, 'B kept v2');
    const got = await c.dhtGet(KEY, { timeoutMs: 5_000 });
    assert.ok(has(got, v2), 'the newer value is still served');
    assert.equal(tsOf(got[strict.select(KEY, got)] ?? new Uint8Array(8)), 2);
  });

  test('a forged or mis-keyed record is refused at put and never returned by get', async () => {
    const forged = record(KEY, 99, true);
    await assert.rejects(a.dhtPut(KEY, forged), (e: unknown) => e instanceof CryptoError && codeOf(e) === 'BAD_SIGNATURE');
    const misKeyed = record('/ctest/bob', 98);
    await assert.rejects(a.dhtPut(KEY, misKeyed), (e: unknown) => e instanceof CryptoError && codeOf(e) === 'BAD_SIGNATURE');

    // M's lenient validator stores and spreads them; strict peers refuse them at store and at lookup.
    assert.equal(await m.dhtPut(KEY, forged, { timeoutMs: 5_000 }), 0, 'no strict peer accepts the forgery');
    const got = await c.dhtGet(KEY, { timeoutMs: 5_000 });
    assert.ok(!has(got, forged), 'the forgery is filtered out');
    assert.ok(has(got, record(KEY, 2)), 'the genuine value is still found');
  });

  test('a node without peers: put resolves to 0 and get to nothing at the deadline', async () => {
    const alone = await startNode({ dht: { namespaces: { ctest: strict } } });
    try {
      assert.equal(await alone.dhtPut(KEY, record(KEY, 1), { timeoutMs: 300 }), 0);
      assert.deepEqual(await alone.dhtGet('/ctest/nobody', { timeoutMs: 300 }), []);
    } finally {
      await alone.stop();
    }
  });

  test('oversized records, unknown namespaces and malformed keys get typed errors', async () => {
    const big = await startNode({ dht: { namespaces: { ctest: lenient }, maxRecordBytes: 16 } });
    try {
      await assert.rejects(big.dhtPut(KEY, new Uint8Array(17)), (e: unknown) => codeOf(e) === 'LIMIT_EXCEEDED');
    } finally {
      await big.stop();
    }
    await assert.rejects(a.dhtPut('/pk/abc', record('/pk/abc', 1)), (e: unknown) => codeOf(e) === 'INVALID_ARGUMENT');
    await assert.rejects(a.dhtGet('no-slash'), (e: unknown) => codeOf(e) === 'INVALID_ARGUMENT');
    await assert.rejects(a.dhtGet('/ctest/with space'), (e: unknown) => codeOf(e) === 'INVALID_ARGUMENT');
  });
});

describe('net/record-store', () => {
  const records = createDhtRecords({ ctest: strict }, 1024, silentLogger);
  const dsKey = (k: string): Key => new Key(`/dht/record/${Buffer.from(k).toString('base64url')}`);
  const raw = (k: string, v: Uint8Array): Uint8Array => new DhtRecord(utf8(k), v, new Date()).serialize();
  const valueAt = async (ds: RecordDatastore, k: string): Promise<Uint8Array> => DhtRecord.deserialize(await ds.get(dsKey(k))).value;

  test('keeps the stored record when a write ranks lower; same or newer values are written', async () => {
    const ds = new RecordDatastore(records, 10, silentLogger);
    await ds.put(dsKey(KEY), raw(KEY, record(KEY, 5)));
    await ds.put(dsKey(KEY), raw(KEY, record(KEY, 4)));
    assert.equal(tsOf(await valueAt(ds, KEY)), 5);
    await ds.put(dsKey(KEY), raw(KEY, record(KEY, 5)));
    await ds.put(dsKey(KEY), raw(KEY, record(KEY, 6)));
    assert.equal(tsOf(await valueAt(ds, KEY)), 6);
  });

  test('refuses provider records and new keys beyond the cap', async () => {
    const ds = new RecordDatastore(records, 2, silentLogger);
    await assert.rejects(Promise.resolve(ds.put(new Key('/dht/provider/x/y'), new Uint8Array(1))), (e: unknown) => codeOf(e) === 'INVALID_ARGUMENT');
    await ds.put(dsKey('/ctest/1'), raw('/ctest/1', record('/ctest/1', 1)));
    await ds.put(dsKey('/ctest/2'), raw('/ctest/2', record('/ctest/2', 1)));
    await assert.rejects(Promise.resolve(ds.put(dsKey('/ctest/3'), raw('/ctest/3', record('/ctest/3', 1)))), (e: unknown) => codeOf(e) === 'LIMIT_EXCEEDED');
    await ds.put(dsKey('/ctest/2'), raw('/ctest/2', record('/ctest/2', 2))); // updates still pass
    await ds.delete(dsKey('/ctest/1'));
    await ds.put(dsKey('/ctest/3'), raw('/ctest/3', record('/ctest/3', 1)));
    assert.equal(ds.recordCount, 2);
    await ds.put(new Key('/peers/abc'), new Uint8Array(3)); // everything else passes through
  });
});
