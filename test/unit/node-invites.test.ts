/**
 * The node's outstanding invites (src/node/invites.ts): each remembers the mailbox secret derived from
 * its secret (protocol/invite.ts inviteMailboxSecret); the newest few are the boxes a fetch asks for
 * (docs/mailboxes.md "First contact"); a consumed, expired or pushed-out invite takes its box with it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toHex } from '../../src/lib/bytes.ts';
import { systemRng } from '../../src/lib/system.ts';
import { consumeInvite, FETCHED_INVITES, INVITE_TTL_MS, inviteBoxes, issueInvite, MAX_INVITES } from '../../src/node/invites.ts';
import { silentLogger } from '../../src/lib/log.ts';
import type { NetNode } from '../../src/net/index.ts';
import { createMailboxFetcher, INVITE_FETCH_EVERY_MS } from '../../src/node/mailbox-fetch.ts';
import { memoryNodeStore } from '../../src/node/node-store.ts';
import { deriveMailbox, mailboxDay } from '../../src/protocol/mailbox/keys.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { INVITE_SECRET_LENGTH, inviteMailboxSecret } from '../../src/protocol/invite.ts';

const T0 = 1_750_000_000_000;

describe('node: invites and their mailboxes', () => {
  it('the newest FETCHED_INVITES unexpired invites give their box secrets; consuming one takes its box', () => {
    const { meta } = memoryNodeStore(generateIdentity(systemRng), 'inviter');
    const secrets = Array.from({ length: FETCHED_INVITES + 2 }, (_, i) => issueInvite(meta, systemRng, T0 + i * 1000));
    const now = T0 + 60_000;
    const boxes = inviteBoxes(meta, now);
    const expected = secrets.slice(-FETCHED_INVITES).reverse().map((s) => toHex(inviteMailboxSecret(s)));
    assert.deepEqual(boxes.map((b) => toHex(b.secret)), expected, 'newest first');
    assert.equal(boxes[0]?.issuedAt, T0 + (FETCHED_INVITES + 1) * 1000);
    consumeInvite(meta, secrets.at(-1) as Uint8Array, now);
    assert.deepEqual(inviteBoxes(meta, now).map((b) => toHex(b.secret)), secrets.slice(1, -1).reverse().map((s) => toHex(inviteMailboxSecret(s))), 'consumed: its box is gone, the next older one comes in');
    assert.equal(meta.keys('node.invite-box/').length, secrets.length - 1);
  });

  it('expired invites give no box; pushed-out ones leave none behind', () => {
    const { meta } = memoryNodeStore(generateIdentity(systemRng), 'inviter');
    issueInvite(meta, systemRng, T0);
    assert.deepEqual(inviteBoxes(meta, T0 + INVITE_TTL_MS + 1), [], 'expired');
    for (let i = 1; i <= MAX_INVITES + 3; i++) issueInvite(meta, systemRng, T0 + i);
    assert.equal(meta.keys('node.invite/').length, MAX_INVITES);
    assert.equal(meta.keys('node.invite-box/').length, MAX_INVITES, 'a box per outstanding invite, no more');
  });

  it('the box secret is a one-way function of exactly a 16-byte invite secret', () => {
    const s = systemRng.bytes(INVITE_SECRET_LENGTH);
    assert.equal(inviteMailboxSecret(s).length, 32);
    assert.deepEqual(inviteMailboxSecret(s), inviteMailboxSecret(Uint8Array.from(s)));
    assert.notDeepEqual(inviteMailboxSecret(s), inviteMailboxSecret(systemRng.bytes(INVITE_SECRET_LENGTH)));
    assert.throws(() => inviteMailboxSecret(new Uint8Array(32)), (e: unknown) => e instanceof Error && /16 bytes/.test(e.message));
  });
});

describe('node: the mailbox fetch asks the invite boxes', () => {
  it('at the first fetch after start, then at most every INVITE_FETCH_EVERY_MS, only the days since the invite', async () => {
    const store = memoryNodeStore(generateIdentity(systemRng), 'inviter');
    let now = T0;
    const secret = store.transaction(() => issueInvite(store.meta, systemRng, now));
    const box = inviteMailboxSecret(secret);
    const asked: string[] = [];
    const fetcher = createMailboxFetcher({
      store,
      net: { peerId: 'self' } as unknown as NetNode,
      rng: systemRng,
      clock: () => now,
      log: silentLogger,
      holdersFor: (address) => {
        asked.push(toHex(address));
        return []; // no holder: only which boxes are asked counts here
      },
      onEnvelope: async () => {},
      timeoutMs: 1_000,
    });
    const boxOf = (at: number): string => toHex(deriveMailbox(box, mailboxDay(at)).address);
    await fetcher.fetch(8);
    assert.deepEqual(asked, [boxOf(now)], 'the invite box of its one day (no contact yet, nothing before the invite)');
    asked.length = 0;
    now += INVITE_FETCH_EVERY_MS - 1;
    await fetcher.fetch(2);
    assert.deepEqual(asked, [], 'not at every poll');
    now += 1;
    await fetcher.fetch(2);
    assert.deepEqual(asked, [boxOf(now)]);
  });
});
