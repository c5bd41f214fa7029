/**
 * SAS verification between two real nodes (src/node/sas.ts over sessions): `verify` runs the
 * commit / nonce / reveal exchange inside the session and both sides show the same SAS; both starting
 * at once still ends in one verification with one SAS.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCompeer, type TestNode } from './node-helpers.ts';
import { waitFor } from './net-helpers.ts';

async function pair(): Promise<[TestNode, TestNode]> {
  const alice = await startCompeer('alice');
  const bob = await startCompeer('bob');
  await alice.node.addContact((await bob.node.id()).invite, 'bob');
  await alice.node.send('bob', 'hi');
  assert.ok(await waitFor(async () => (await bob.node.contacts()).length === 1, 10_000));
  return [alice, bob];
}

describe('node: SAS verification', () => {
  const nodes: TestNode[] = [];
  after(async () => {
    for (const n of nodes) await n.node.stop().catch(() => {});
  });

  test('verify shows the same SAS on both sides; confirm marks the contact verified', async () => {
    const [alice, bob] = await pair();
    nodes.push(alice, bob);
    const a = await alice.node.verify('bob', false);
    assert.match(a.sas ?? '', /^.+ · \d{4}-\d{4}-\d{4}$/u, `a SAS: ${a.sas}`);
    const b = await bob.node.verify('alice', false);
    assert.equal(b.sas, a.sas);
    assert.equal(b.safetyNumber, a.safetyNumber);
    assert.equal(a.verified, false);
    assert.equal((await alice.node.verify('bob', true)).verified, true);
    assert.equal((await alice.node.contacts())[0]?.verified, true);
  });

  test('both start at once: one verification, one SAS', async () => {
    const [alice, bob] = await pair();
    nodes.push(alice, bob);
    const [a, b] = await Promise.all([alice.node.verify('bob', false), bob.node.verify('alice', false)]);
    const sa = a.sas ?? (await alice.node.verify('bob', false)).sas;
    const sb = b.sas ?? (await bob.node.verify('alice', false)).sas;
    assert.ok(sa !== null, 'alice has a SAS');
    assert.equal(sb, sa);
  });
});
