/** Runs the PeerRepository compliance suite against the in-memory and the sqlite implementation. */
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { createPeerPolicy } from '../../../src/routing/peer-policy.ts';
import { MIGRATIONS, migrate } from '../../../src/store/migrations.ts';
import { sqlitePeerRepository } from '../../../src/store/peers-sqlite.ts';
import { fixedClock } from './helpers.ts';
import { peerRepositoryCompliance } from './peers-compliance.ts';
import { SUBJECTS } from './subjects.ts';

for (const [name, make] of SUBJECTS) peerRepositoryCompliance(name, make);

describe('sqlite peers: migration 6 (reached_at, unverified index)', () => {
  it('marks rows scored above the initial score as reached; the others from gossip start unverified', () => {
    const db = new DatabaseSync(':memory:');
    migrate(db, fixedClock, MIGRATIONS.filter((m) => m.version <= 5));
    const row = db.prepare("INSERT INTO peers VALUES (?, '[]', '[]', NULL, ?, ?, 'ip4:1.2', 10, ?)");
    row.run('proven', 0.625, 'gossip:a', 20);
    row.run('untested', 0.5, 'gossip:a', 30);
    row.run('boot', 0.5, 'bootstrap', 40);
    migrate(db, fixedClock);
    const peers = sqlitePeerRepository(db, createPeerPolicy());
    assert.deepEqual(['proven', 'untested', 'boot'].map((id) => peers.get(id)?.reachedAt), [20, null, null]);
    // The cap's queries name the partial index (INDEXED BY: they would not prepare if it did not apply).
    assert.equal(peers.upsert({ peerId: 'new', addresses: ['/ip4/5.6.7.8/tcp/1'], source: 'gossip:b', seenAt: 50 }).outcome, 'added');
    assert.equal(peers.get('new')?.reachedAt, null);
    db.close();
  });
});
