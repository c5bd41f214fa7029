/**
 * Store: what sealing secrets at rest costs. Ours is the real IdentityRepository (XChaCha20-Poly1305
 * sealing, row-bound associated data, typed column checks); the baseline is plain node:sqlite doing the
 * same statements on an identical table without sealing. Both databases are files with the same
 * pragmas (WAL, synchronous=FULL), so each write pays the same fsync.
 *
 * And the memory peer table's admission (issue 6): upserts of peers the table does not hold into a
 * full 2,000-peer table, ours (memoryPeerRepository: indexes by prefix, source and rank) against the
 * filter-and-sort table it replaced, kept below as the baseline. Both run the same applyUpsert under
 * the same default policy; only the table's queries differ.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { systemClock, systemRng } from '../../src/lib/system.ts';
import { createPeerPolicy } from '../../src/routing/peer-policy.ts';
import type { StoredIdentity } from '../../src/store/identity.ts';
import { applyUpsert, byWorst, isUnverified, type PeerPolicy, type PeerRecord, type PeerSighting, type PeerTableAccess, type UpsertResult } from '../../src/store/peers.ts';
import { memoryPeerRepository } from '../../src/store/peers-memory.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { defineSuite, opsPerSecond, type Prepared } from '../harness.ts';

const identity: StoredIdentity = {
  name: 'bench',
  publicKey: systemRng.bytes(129),
  secret: systemRng.bytes(65),
  createdAt: 1_700_000_000_000,
};

function fixtures(): { store: Store; plain: DatabaseSync; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'compeer-bench-'));
  const store = openStore({ dir: join(dir, 'ours'), create: true, rng: systemRng, clock: systemClock });
  const plain = new DatabaseSync(join(dir, 'plain.db'));
  plain.exec('PRAGMA journal_mode = WAL');
  plain.exec('PRAGMA synchronous = FULL');
  plain.exec(`CREATE TABLE identity (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT,
    public BLOB NOT NULL, secret BLOB NOT NULL, created_at INTEGER NOT NULL)`);
  return {
    store,
    plain,
    close() {
      store.close();
      plain.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function plainStatements(db: DatabaseSync) {
  const insert = db.prepare('INSERT INTO identity (id, name, public, secret, created_at) VALUES (1, ?, ?, ?, ?)');
  const select = db.prepare('SELECT name, public, secret, created_at FROM identity WHERE id = 1');
  const remove = db.prepare('DELETE FROM identity WHERE id = 1');
  return { insert: () => insert.run(identity.name, identity.publicKey, identity.secret, identity.createdAt), select: () => select.get(), remove: () => remove.run() };
}

/** The memory peer table before its indexes: every admission query filters (and sorts) every row. */
function naivePeerTable(policy: PeerPolicy): { upsert(s: PeerSighting): UpsertResult; table: PeerTableAccess } {
  const rows = new Map<string, PeerRecord>();
  const t: PeerTableAccess = {
    get: (id) => rows.get(id),
    byPrefix: (prefix) => [...rows.values()].filter((p) => p.prefix === prefix),
    bySource: (source) => [...rows.values()].filter((p) => p.source === source),
    total: () => rows.size,
    worst: (n, except) => [...rows.values()].filter((p) => p.peerId !== except).sort(byWorst).slice(0, n),
    unverified: () => [...rows.values()].filter(isUnverified).length,
    worstUnverified: (n, except) => [...rows.values()].filter((p) => p.peerId !== except && isUnverified(p)).sort(byWorst).slice(0, n),
    put: (p) => void rows.set(p.peerId, p),
    delete: (id) => void rows.delete(id),
  };
  return { upsert: (s) => applyUpsert(t, policy, s), table: t };
}

const TABLE_PEERS = 2000;

/**
 * 2,000 peers in 250 /16s (8 each: the prefix cap) from 100 gossip sources (20 each), seen over
 * 2,000 ms; then a stream of newcomers in fresh /16s from 50 fresh sources, so each one builds a full
 * AdmissionView (its prefix, its source, the table's worst) and meets the table cap.
 */
function peerSightings(): { table: PeerSighting[]; newcomers: PeerSighting[] } {
  const table = Array.from({ length: TABLE_PEERS }, (_, i): PeerSighting => ({
    peerId: `table-${i}`, addresses: [`/ip4/${20 + (i % 250 >> 4)}.${i % 250}.${i >> 8}.1/tcp/4001`], source: `gossip:g${i % 100}`, seenAt: 1_000 + i,
  }));
  const newcomers = Array.from({ length: 4096 }, (_, i): PeerSighting => ({
    peerId: `new-${i}`, addresses: [`/ip4/${130 + (i >> 8)}.${i & 255}.0.1/tcp/4001`], source: `gossip:n${i % 50}`, seenAt: 5_000 + i,
  }));
  return { table, newcomers };
}

function peerUpsertCase(): Prepared {
  // Every entry here is gossip-learned and never reached (unverified): minUnverified lets them fill the
  // table, so the unverified cap meets the same victims as the table cap and the outcomes stay as they were.
  const policy = createPeerPolicy({ maxPeers: TABLE_PEERS, minUnverified: TABLE_PEERS });
  const ours = memoryPeerRepository(policy);
  const naive = naivePeerTable(policy);
  const { table, newcomers } = peerSightings();
  for (const s of table) {
    if (ours.upsert(s).outcome !== 'added' || naive.upsert(s).outcome !== 'added') throw new Error(`bench: ${s.peerId} not admitted`);
  }
  // A quarter of the table has failed a probe, so the first newcomers evict them; the rest are refused
  // (table-full), and later sightings of the admitted ones are plain updates.
  for (let i = 0; i < TABLE_PEERS; i += 4) {
    ours.recordOutcome(`table-${i}`, false, 3_000);
    const failed = ours.get(`table-${i}`);
    if (failed !== undefined) naive.table.put(failed);
  }
  let a = 0;
  let b = 0;
  return {
    ours: opsPerSecond(() => ours.upsert(newcomers[a++ % newcomers.length] as PeerSighting)),
    baseline: opsPerSecond(() => naive.upsert(newcomers[b++ % newcomers.length] as PeerSighting)),
  };
}

export default defineSuite({
  description: 'sealed identity repository vs plain node:sqlite (write+read, read); peer table admission, indexed vs filter-and-sort',
  cases: [
    {
      name: 'identity write+read+delete',
      unit: 'ops/s',
      better: 'higher',
      baselineName: 'plain node:sqlite',
      prepare(): Prepared {
        const f = fixtures();
        const sql = plainStatements(f.plain);
        f.store.identities.get(); // unlock (reads the key file) outside the measurement
        return {
          ours: opsPerSecond(() => {
            f.store.identities.create(identity);
            f.store.identities.get();
            f.store.identities.remove();
          }),
          baseline: opsPerSecond(() => {
            sql.insert();
            sql.select();
            sql.remove();
          }),
          close: f.close,
        };
      },
    },
    {
      name: 'identity read',
      unit: 'ops/s',
      better: 'higher',
      baselineName: 'plain node:sqlite',
      prepare(): Prepared {
        const f = fixtures();
        const sql = plainStatements(f.plain);
        f.store.identities.create(identity);
        sql.insert();
        return { ours: opsPerSecond(() => f.store.identities.get()), baseline: opsPerSecond(sql.select), close: f.close };
      },
    },
    {
      name: 'peer upsert of a newcomer, 2,000-peer table',
      unit: 'ops/s',
      better: 'higher',
      baselineName: 'filter-and-sort table',
      prepare: peerUpsertCase,
    },
  ],
});
