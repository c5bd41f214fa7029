/**
 * The onion replay journal (src/node/onion-replay-store.ts) across a real kill -9: a relay daemon
 * relays a packet, is killed with SIGKILL once its journal holds the packet's tag (it never stopped
 * cleanly: there is no snapshot), and refuses the same packet once started again on its data folder.
 * Before the journal it took it (the cache was saved at a clean stop only). Two daemons on 127.0.0.1
 * (the relay and Bob, its next hop); the test process sends, as a bare net node.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import type { X25519PublicKey } from '../../src/crypto/x25519.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { systemClock, systemRng } from '../../src/lib/system.ts';
import { createNetNode, type NetNode } from '../../src/net/index.ts';
import { ONION_PROTOCOL } from '../../src/node/delivery.ts';
import { loadOnionKeys } from '../../src/node/onion-keys.ts';
import { REPLAY_JOURNAL_PREFIX, REPLAY_SNAPSHOT_PREFIX } from '../../src/node/onion-replay-store.ts';
import { nodeStoreFrom } from '../../src/node/store-adapter.ts';
import { buildOnion } from '../../src/protocol/onion/packet.ts';
import { chunkPayload } from '../../src/routing/chunks.ts';
import { decodeHopAnswer, encodeExit, type HopAnswer } from '../../src/routing/exit-frame.ts';
import { CHUNK_CAPACITY } from '../../src/routing/router.ts';
import { DB_FILE, openStore } from '../../src/store/store.ts';
import { compeerJson, eventually, freePort, startDaemon, stopAll, tempDirs, type Daemon } from './cli-helpers.ts';

const args = (port: number, boot: string[] = []): string[] => ['--no-mdns', '--listen', `/ip4/127.0.0.1/tcp/${port}`, ...boot.flatMap((b) => ['--bootstrap', b])];

/** The onion key a daemon started on `dir` loads (loaded here first, with the daemon down: the same keys). */
function onionKeyOf(dir: string): X25519PublicKey {
  const store = nodeStoreFrom(openStore({ dir, create: false, rng: systemRng, clock: systemClock }));
  try {
    return loadOnionKeys(store, systemRng, systemClock).current();
  } finally {
    store.close();
  }
}

/** Meta keys under `prefix` in the daemon's database, read beside it (WAL: a reader does not block it). */
function keysUnder(dir: string, prefix: string): number {
  const db = new DatabaseSync(join(dir, DB_FILE), { readOnly: true });
  try {
    const row = db.prepare('SELECT count(*) AS n FROM kv WHERE substr(key, 1, length(?)) = ?').get(prefix, prefix) as { n: number };
    return Number(row.n);
  } finally {
    db.close();
  }
}

describe('onion replay journal: a relay killed with SIGKILL', { timeout: 120_000 }, () => {
  let sender: NetNode | undefined;
  after(async () => {
    stopAll();
    await sender?.stop();
  });

  it('refuses, started again on its data folder, a packet it relayed before the kill', async (t) => {
    const path = tempDirs(t);
    const dirs = { relay: path('relay'), bob: path('bob') };
    await compeerJson(dirs.relay, ['init', '--name', 'relay']);
    await compeerJson(dirs.bob, ['init', '--name', 'bob']);
    const keys = { relay: onionKeyOf(dirs.relay), bob: onionKeyOf(dirs.bob) };
    const ports = { relay: await freePort(), bob: await freePort() };
    const bob = await startDaemon(dirs.bob, args(ports.bob));
    const boot = [bob.addresses.find((a) => a.includes(`/tcp/${ports.bob}/`)) as string];
    const bobPeer = (boot[0] as string).split('/p2p/')[1] as string;
    let relay: Daemon = await startDaemon(dirs.relay, args(ports.relay, boot));
    const relayPeer = () => (relay.addresses[0] as string).split('/p2p/')[1] as string;

    sender = await createNetNode({ nodeKey: systemRng.bytes(32), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, allowPrivateAddresses: true });
    await sender.start();
    const packet = (text: string): Uint8Array => {
      const [chunk] = chunkPayload(utf8(text), CHUNK_CAPACITY, systemRng);
      return buildOnion(
        [
          { routingKey: keys.relay, instruction: { kind: 'forward', next: bobPeer } },
          { routingKey: keys.bob, instruction: { kind: 'exit' } },
        ],
        encodeExit({ kind: 'deliver', chunk: chunk as Uint8Array }),
        systemRng,
      );
    };
    const hand = async (p: Uint8Array): Promise<HopAnswer> =>
      decodeHopAnswer(await (sender as NetNode).request(relayPeer(), relay.addresses, ONION_PROTOCOL, p, { timeoutMs: 5_000, maxResponseBytes: 2 }));
    /** Fresh packets until one goes through: the relay is up and reaches Bob. */
    const relaying = (what: string) =>
      eventually(async () => ((await hand(packet(`probe ${Math.random()}`)).catch(() => undefined))?.status === 'ok' ? true : undefined), what, 30_000);

    await relaying('the relay relays to Bob');
    const recorded = packet('before the kill');
    assert.deepEqual(await hand(recorded), { status: 'ok', depth: 0 }, 'relayed, and Bob took it');
    const rowsBefore = keysUnder(dirs.relay, REPLAY_JOURNAL_PREFIX);
    // The next flush (about a second later) writes the row that holds its tag.
    await eventually(async () => (keysUnder(dirs.relay, REPLAY_JOURNAL_PREFIX) > rowsBefore ? true : undefined), 'journalled', 15_000);

    relay.proc.kill('SIGKILL');
    assert.equal(await relay.stop(), null, 'killed, not stopped');
    assert.equal(keysUnder(dirs.relay, REPLAY_SNAPSHOT_PREFIX), 0, 'no snapshot: the relay never stopped cleanly');

    relay = await startDaemon(dirs.relay, args(ports.relay, boot));
    await relaying('the restarted relay relays to Bob');
    assert.deepEqual(await hand(recorded), { status: 'refused', depth: 0 }, 'the replay after the kill is refused');
    assert.equal(await relay.stop(), 0);
    assert.ok(keysUnder(dirs.relay, REPLAY_SNAPSHOT_PREFIX) >= 1, 'the clean stop wrote the snapshot');
    assert.equal(keysUnder(dirs.relay, REPLAY_JOURNAL_PREFIX), 0, 'and cleared the journal');
  });
});
