/**
 * Issue 5, multi-process test (4): what relays and mailbox holders log and store. Three relay daemons
 * (they also hold mail) at `--log-level debug`, Alice and Bob on TCP loopback. Traffic: the first
 * message (direct), streams both ways through two relays, a message held in the mailboxes while Bob
 * is away and fetched when he is back. Then every relay's stderr and every byte of every file in its
 * data folder (compeer.db, -wal, -shm, keys) is searched for Alice's and Bob's identities — the user ID
 * as shown (base32), its raw bytes and hex, both identity public keys raw / hex / base64url, the display
 * names — and for every plaintext sent. Found nowhere; docs/onion.md "What each relay learns".
 * Positive control: the same search finds each relay's own user ID in its own log ("node ready").
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { fromBase32, toBase64Url, toHex, utf8 } from '../../src/lib/bytes.ts';
import { createApiClient, resolveTarget } from '../../src/api/client.ts';
import { parseInviteLink } from '../../src/protocol/invite.ts';
import type { IdentityInfo } from '../../src/node/types.ts';
import { compeerJson, freePort, introduce, meshArgs, messageWhere, startDaemon, startMesh, stopAll, tempDirs, type Daemon } from './cli-helpers.ts';

interface Needle {
  readonly what: string;
  readonly bytes: Uint8Array;
}

/** The encodings in which a user's identity may appear. */
async function identityNeedles(dir: string, who: string): Promise<Needle[]> {
  const id = await compeerJson<IdentityInfo>(dir, ['id']);
  const { identity } = parseInviteLink(id.invite);
  const raw = fromBase32(id.userId);
  const keys: [string, Uint8Array][] = [
    ['signing key', identity.signingKey],
    ['DH key', identity.dhKey],
  ];
  return [
    { what: `${who} user ID`, bytes: utf8(id.userId) },
    { what: `${who} user ID (upper case)`, bytes: utf8(id.userId.toUpperCase()) },
    { what: `${who} user ID bytes`, bytes: raw },
    { what: `${who} user ID hex`, bytes: utf8(toHex(raw)) },
    ...keys.flatMap(([k, v]) => [
      { what: `${who} ${k}`, bytes: v },
      { what: `${who} ${k} hex`, bytes: utf8(toHex(v)) },
      { what: `${who} ${k} base64url`, bytes: utf8(toBase64Url(v)) },
    ]),
  ];
}

/** Mailbox items a holder keeps (read-only beside the running daemon). */
function mailboxItems(dir: string): number {
  const db = new DatabaseSync(join(dir, 'compeer.db'), { readOnly: true });
  try {
    return Number((db.prepare('SELECT COUNT(*) AS n FROM mailbox_items').get() as { n: number }).n);
  } finally {
    db.close();
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

/** "needle in place" for every needle found in `haystack`. */
function findings(haystack: Buffer, where: string, needles: readonly Needle[]): string[] {
  return needles.filter((n) => haystack.indexOf(n.bytes) >= 0).map((n) => `${n.what} in ${where}`);
}

describe('delivery: relays and holders learn no user IDs and no plaintext (issue 5, test 4)', { timeout: 150_000 }, () => {
  after(stopAll);

  it('relay logs (debug) and data folders contain neither identity nor plaintext', async (t) => {
    const path = tempDirs(t);
    const tag = randomBytes(6).toString('hex');
    const [nameA, nameB] = [`alice-${tag}`, `bob-${tag}`];
    const [a, b] = [path('alice'), path('bob')];
    const pb = await freePort();
    const mesh = await startMesh(
      path,
      3,
      [
        { dir: a, name: nameA, port: await freePort() },
        { dir: b, name: nameB, port: pb },
      ],
      ['--log-level', 'debug'],
    );
    const relays = { dirs: mesh.relayDirs, daemons: mesh.relays, bootstrap: mesh.bootstrap };
    const [alice, bob0] = mesh.users as [Daemon, Daemon];
    let bob: Daemon = bob0;
    // The setup's two messages, then everything through the local API (a client per call: Bob restarts).
    await introduce(a, b, 2);
    const plaintexts = ['hello bob', 'first through 2 relays'];
    const say = async (dir: string, to: string, text: string, hops?: number): Promise<void> => {
      plaintexts.push(text);
      await createApiClient(resolveTarget(dir, {})).send(to, text, hops === undefined ? {} : { hops });
    };
    const toAlice = (await compeerJson<IdentityInfo>(a, ['id'])).userId.slice(0, 8);
    for (let i = 0; i < 4; i++) await say(a, 'bob', `to bob through relays ${i} ${tag}`, 2);
    for (let i = 0; i < 4; i++) await say(b, toAlice, `to alice through relays ${i} ${tag}`, 2);
    await messageWhere(a, 'bob', `to bob through relays 3 ${tag}`, (m) => m.status === 'delivered', 'stream to Bob delivered', 45_000);
    await messageWhere(b, toAlice, `to alice through relays 3 ${tag}`, (m) => m.status === 'delivered', 'stream to Alice delivered', 45_000);
    const relayed = relays.daemons.map((d) => d.stderr().split('onion packet relayed').length - 1);
    t.diagnostic(`onion packets relayed per relay: ${JSON.stringify(relayed)}`);
    assert.ok(relayed.filter((n) => n > 0).length >= 2, 'the relays did carry the streams');

    // A message held while Bob is away, fetched when he is back.
    assert.equal(await bob.stop(), 0);
    await say(a, 'bob', `held for you ${tag}`);
    await messageWhere(a, 'bob', `held for you ${tag}`, (m) => m.status === 'held', 'held', 30_000);
    const holding = relays.dirs.filter((d) => mailboxItems(d) > 0).length;
    assert.ok(holding >= 2, `the relays hold the deposit (${holding} of 3)`);
    bob = await startDaemon(b, meshArgs(pb, [relays.bootstrap]), 60_000);
    await messageWhere(a, 'bob', `held for you ${tag}`, (m) => m.status === 'delivered', 'held message delivered', 45_000);

    // Stop the relays (their last writes reach the files), then search logs and every file.
    const needles = [
      ...(await identityNeedles(a, 'Alice')),
      ...(await identityNeedles(b, 'Bob')),
      { what: "Alice's name", bytes: utf8(nameA) },
      { what: "Bob's name", bytes: utf8(nameB) },
      ...plaintexts.flatMap((p) => [
        { what: `plaintext "${p}"`, bytes: utf8(p) },
        { what: `plaintext hex "${p}"`, bytes: utf8(toHex(utf8(p))) },
      ]),
    ];
    const own = await Promise.all(relays.dirs.map((d, i) => identityNeedles(d, `relay ${i + 1}`)));

    const found: string[] = [];
    let files = 0;
    let bytes = 0;
    const searchFiles = (when: string): void => {
      for (const dir of relays.dirs) {
        for (const f of filesUnder(dir)) {
          const content = readFileSync(f);
          files++;
          bytes += content.length;
          found.push(...findings(content, `${f} (${when})`, needles));
        }
      }
    };
    // Running (the WAL holds the latest writes), then stopped (checkpointed into compeer.db).
    searchFiles('running');
    const wal = relays.dirs.filter((d) => filesUnder(d).some((f) => f.endsWith('-wal'))).length;
    await Promise.all([alice.stop(), bob.stop(), ...relays.daemons.map((d) => d.stop())]);
    searchFiles('stopped');
    relays.daemons.forEach((d, i) => {
      const log = Buffer.from(d.stderr());
      assert.ok(log.includes('"level":"debug"'), `relay ${i + 1} logged at debug`);
      assert.ok(findings(log, 'log', own[i] ?? []).length > 0, `control: relay ${i + 1}'s own user ID is found in its log`);
      found.push(...findings(log, `relay ${i + 1} log`, needles));
    });
    t.diagnostic(`searched ${needles.length} needles in 3 logs (${relays.daemons.map((d) => d.stderr().length).join(', ')} chars) and ${files} file reads (${bytes} bytes; ${wal} relays had a -wal file while running)`);
    assert.ok(files >= 12, 'each relay has its database files');
    assert.deepEqual(found, []);
  });
});
