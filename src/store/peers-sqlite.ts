/**
 * PeerRepository on the `peers` table (migration 2). Runs the shared upsert algorithm of peers.ts
 * (policy decides, this file persists) inside one transaction, so an admission and its evictions
 * commit together. Lists are JSON text; the routing key is public and kept as is.
 * Every admission query has its index: peers_by_prefix, peers_by_source (migration 2) and
 * peers_by_worst (score, last_seen, peer_id — migration 5), so `worst` reads LIMIT rows, ties or not;
 * the unverified entries (peers.ts isUnverified: reached_at IS NULL and a gossip source) have the
 * partial index peers_unverified on the same key (migration 6), so their count and worst rows are
 * index reads; UNVERIFIED below is that index's WHERE, word for word, and the queries name the index
 * (INDEXED BY: left alone, the planner prefers peers_by_source for the GLOB, a scan of every gossip row;
 * a WHERE that stopped matching the index would fail to prepare instead of going slow).
 */
import type { DatabaseSync } from 'node:sqlite';
import { afterOutcome, applyUpsert, byRank, type PeerPolicy, type PeerRecord, type PeerRepository, type PeerSource, type PeerTableAccess } from './peers.ts';
import { blobOrNullColumn, intColumn, intOrNullColumn, realColumn, stringListColumn, textColumn, transaction, type Row, prepareCached } from './sql.ts';

const COLUMNS = 'peer_id, addresses, capabilities, routing_key, score, source, prefix, first_seen, last_seen, reached_at';
const UNVERIFIED = "reached_at IS NULL AND source GLOB 'gossip:*'";

function toPeer(row: Row): PeerRecord {
  return {
    peerId: textColumn(row, 'peer_id'),
    addresses: stringListColumn(row, 'addresses'),
    capabilities: stringListColumn(row, 'capabilities'),
    routingKey: blobOrNullColumn(row, 'routing_key'),
    score: realColumn(row, 'score'),
    source: textColumn(row, 'source') as PeerSource,
    prefix: textColumn(row, 'prefix'),
    firstSeen: intColumn(row, 'first_seen'),
    lastSeen: intColumn(row, 'last_seen'),
    reachedAt: intOrNullColumn(row, 'reached_at'),
  };
}

function atomically<T>(db: DatabaseSync, fn: () => T): T {
  return db.isTransaction ? fn() : transaction(db, fn);
}

export function sqlitePeerRepository(db: DatabaseSync, policy: PeerPolicy): PeerRepository {
  const one = db.prepare(`SELECT ${COLUMNS} FROM peers WHERE peer_id = ?`);
  const put = db.prepare(
    `INSERT INTO peers (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (peer_id) DO UPDATE SET addresses = excluded.addresses, capabilities = excluded.capabilities,
       routing_key = excluded.routing_key, score = excluded.score, source = excluded.source, prefix = excluded.prefix,
       first_seen = excluded.first_seen, last_seen = excluded.last_seen, reached_at = excluded.reached_at`,
  );
  const del = db.prepare('DELETE FROM peers WHERE peer_id = ?');
  const countAll = (): number => {
    const row = prepareCached(db, 'SELECT COUNT(*) AS n FROM peers').get();
    return row === undefined ? 0 : intColumn(row, 'n');
  };
  const access: PeerTableAccess = {
    get: (id) => {
      const row = one.get(id);
      return row === undefined ? undefined : toPeer(row);
    },
    byPrefix: (prefix) => prepareCached(db, `SELECT ${COLUMNS} FROM peers WHERE prefix = ?`).all(prefix).map(toPeer),
    bySource: (source) => prepareCached(db, `SELECT ${COLUMNS} FROM peers WHERE source = ?`).all(source).map(toPeer),
    total: countAll,
    worst: (n, except) =>
      prepareCached(db, `SELECT ${COLUMNS} FROM peers WHERE peer_id <> ? ORDER BY score, last_seen, peer_id LIMIT ?`)
        .all(except, n)
        .map(toPeer),
    unverified: () => {
      const row = prepareCached(db, `SELECT COUNT(*) AS n FROM peers INDEXED BY peers_unverified WHERE ${UNVERIFIED}`).get();
      return row === undefined ? 0 : intColumn(row, 'n');
    },
    worstUnverified: (n, except) =>
      prepareCached(db, `SELECT ${COLUMNS} FROM peers INDEXED BY peers_unverified WHERE ${UNVERIFIED} AND peer_id <> ? ORDER BY score, last_seen, peer_id LIMIT ?`)
        .all(except, n)
        .map(toPeer),
    put: (p) =>
      void put.run(
        p.peerId, JSON.stringify(p.addresses), JSON.stringify(p.capabilities), p.routingKey, p.score, p.source, p.prefix, p.firstSeen, p.lastSeen, p.reachedAt,
      ),
    delete: (id) => void del.run(id),
  };
  return {
    upsert: (s) => atomically(db, () => applyUpsert(access, policy, s)),
    recordOutcome(peerId, ok, now) {
      return atomically(db, () => {
        const p = access.get(peerId);
        if (p === undefined) return undefined;
        const next = afterOutcome(policy, p, ok, now);
        access.put(next);
        return next.score;
      });
    },
    prune(now) {
      return atomically(db, () => {
        const stale = db.prepare(`SELECT ${COLUMNS} FROM peers`).all().map(toPeer).filter((p) => policy.isStale(p, now)).map((p) => p.peerId);
        for (const id of stale) del.run(id);
        return stale;
      });
    },
    get: access.get,
    list: (limit = Number.MAX_SAFE_INTEGER) =>
      prepareCached(db, `SELECT ${COLUMNS} FROM peers ORDER BY score DESC, last_seen DESC, peer_id LIMIT ?`).all(limit).map(toPeer).sort(byRank),
    count: countAll,
    remove: (id) => del.run(id).changes > 0,
  };
}
