/**
 * Issue 5, multi-process test (2): a relay on the path dies mid-stream. Four relay daemons, Alice and
 * Bob on TCP loopback; Alice streams 30 messages to Bob with `--hops 2` (strict: always two relays),
 * and after the first third the relay that carried most of them so far is killed with SIGKILL. Three
 * relays are left, enough for a fresh two-hop path: the sender penalises the failed hop and re-selects
 * (src/routing/router.ts), unacked messages are retried (src/node/outbound.ts), the receiver
 * deduplicates by message id. Bob shows every message exactly once; Alice ends with all `delivered`.
 * The stream goes through the local API client (what every CLI command uses) to keep the test fast.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createApiClient, resolveTarget } from '../../src/api/client.ts';
import { aliceAndBob, compeerJson, eventually, introduce, stopAll } from './cli-helpers.ts';

const STREAM = 30;
const relayedCount = (stderr: string): number => stderr.split('onion packet relayed').length - 1;

describe('delivery: a relay killed mid-stream (issue 5, test 2)', { timeout: 150_000 }, () => {
  after(stopAll);

  it('every message arrives once and is delivered after a path relay is killed', async (t) => {
    // Relays log at debug: "onion packet relayed" tells which of them carry Alice's paths.
    // Alice and Bob log at info: "path failed, re-selecting" is the router's word for a re-selection.
    const info = ['--log-level', 'info'];
    const { a, b, mesh, alice, bob, mark } = await aliceAndBob(t, 4, { alice: info, bob: info, relays: ['--log-level', 'debug'] });
    const relays = { daemons: mesh.relays };
    mark('6 daemons up');
    await introduce(a, b, 2);
    mark('mesh ready');

    const api = createApiClient(resolveTarget(a, {}));
    const texts = Array.from({ length: STREAM }, (_, i) => `stream ${String(i).padStart(2, '0')}`);
    const base = relays.daemons.map((d) => relayedCount(d.stderr()));
    for (const text of texts.slice(0, STREAM / 3)) {
      await api.send('bob', text, { hops: 2 });
      await new Promise((r) => setTimeout(r, 150));
    }
    // Kill the relay that carried most of the stream so far (it is on the current paths).
    await eventually(async () => (relays.daemons.some((d, i) => relayedCount(d.stderr()) > (base[i] ?? 0)) ? true : undefined), 'a relay carried the stream', 20_000);
    const carried = relays.daemons.map((d, i) => relayedCount(d.stderr()) - (base[i] ?? 0));
    const victim = carried.indexOf(Math.max(...carried));
    relays.daemons[victim]?.proc.kill('SIGKILL');
    mark(`relay ${victim + 1} killed (packets relayed per relay so far: ${JSON.stringify(carried)})`);
    // Spaced so that most go on paths of their own: each path has even odds of holding the dead relay.
    for (const text of texts.slice(STREAM / 3)) {
      await api.send('bob', text, { hops: 2 });
      await new Promise((r) => setTimeout(r, 300));
    }
    mark('stream sent');

    // Bob: every message, at least once so far.
    const want = ['hello bob', 'first through 2 relays', ...texts];
    const apiB = createApiClient(resolveTarget(b, {}));
    const toAlice = (await api.id()).userId.slice(0, 8);
    const shown = await eventually(
      async () => {
        const list = await apiB.messages(toAlice);
        const inbound = list.filter((m) => m.direction === 'in').map((m) => m.text);
        return want.every((w) => inbound.includes(w)) ? inbound : undefined;
      },
      'Bob has the whole stream',
      60_000,
    );
    mark('Bob has them all');
    // Alice: all delivered (acked end to end).
    await eventually(
      async () => {
        const list = await api.messages('bob');
        return list.every((m) => m.status === 'delivered') && list.length === want.length ? true : undefined;
      },
      'all delivered at Alice',
      60_000,
    );
    mark('all delivered');
    // Look again a little later: a retry of an envelope that had arrived must not show it twice.
    await new Promise((r) => setTimeout(r, 2_000));
    const final = (await compeerJson<{ direction: string; text: string }[]>(b, ['messages', toAlice])).filter((m) => m.direction === 'in').map((m) => m.text);
    // Each exactly once (order is not asserted: a retried batch may land after later ones).
    assert.deepEqual([...final].sort(), [...want].sort(), `each once (first complete read: ${shown.length} messages)`);
    const after = relays.daemons.map((d, i) => relayedCount(d.stderr()) - (base[i] ?? 0));
    t.diagnostic(`packets relayed per relay over the whole stream: ${JSON.stringify(after)} (relay ${victim + 1} killed)`);
    assert.ok(after.filter((n, i) => i !== victim && n > 0).length >= 2, 'the surviving relays carried the rest');
    const reselections = [alice, bob].map((d) => d.stderr().split('path failed, re-selecting').length - 1);
    t.diagnostic(`path re-selections logged [Alice, Bob]: ${JSON.stringify(reselections)}`);
    assert.ok(reselections.some((n) => n > 0), 'a path through the dead relay failed and was re-selected');

    assert.deepEqual(await Promise.all([alice.stop(), bob.stop()]), [0, 0]);
    await Promise.all(relays.daemons.filter((_, i) => i !== victim).map((d) => d.stop()));
  });
});
