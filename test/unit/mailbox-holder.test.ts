/**
 * The mailbox holder (src/routing/mailbox-holder.ts) over the memory and the sqlite store: deposits,
 * duplicates, per-mailbox quota and total caps (a refused deposit stores nothing), expiry and TTL
 * bounds, paging, and the proof checks — a peer without the rendezvous secret, or with a proof made for
 * another address, holder, challenge, operation or peer, can neither fetch nor delete. Also challenge
 * validity and eviction, and `handle` over the wire codecs (malformed input answered, never thrown).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { sha256 } from '../../src/crypto/hash.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { deriveMailbox, signMailboxProof, type Mailbox, type MailboxOp } from '../../src/protocol/mailbox/keys.ts';
import { decodeMailboxResponse, encodeMailboxRequest, type MailboxResponse } from '../../src/protocol/mailbox/wire.ts';
import { createMailboxHolder, mailboxItemId, type MailboxHolder, type MailboxHolderLimits } from '../../src/routing/mailbox-holder.ts';
import { SUBJECTS, type StoreSubject } from './store/subjects.ts';

const SELF = '12D3KooWHolderSelf';
const ALICE = '12D3KooWAlice';
const MALLORY = '12D3KooWMallory';
const DAY = 86_400_000;
const T0 = 20_000 * DAY + 5_000;
const mine = deriveMailbox(new Uint8Array(32).fill(1), 20_000);
const theirs = deriveMailbox(new Uint8Array(32).fill(2), 20_000);
const blob = (n: number, len = 100): Uint8Array => Uint8Array.from({ length: len }, (_, i) => (i * 7 + n) & 0xff);

for (const [name, make] of SUBJECTS) {
  describe(`mailbox holder on ${name}`, () => {
    let s: StoreSubject;
    let now: number;
    let holder: MailboxHolder;
    const build = (limits: Partial<MailboxHolderLimits> = {}): MailboxHolder =>
      createMailboxHolder({
        repo: s.store.mailboxes,
        transaction: (fn) => s.store.transaction(fn),
        clock: () => now,
        rng: deterministicRng(Uint8Array.of(9), sha256),
        selfPeerId: SELF,
        limits,
      });
    beforeEach(() => {
      s = make();
      now = T0;
      holder = build();
    });
    afterEach(() => s.close());

    const proofFor = (peer: string, box: Mailbox, op: MailboxOp): Uint8Array => signMailboxProof(box, SELF, holder.challenge(peer), op);
    const fetchAll = (box: Mailbox = mine, limit = 64) => {
      const r = holder.fetch(ALICE, box.address, proofFor(ALICE, box, 'fetch'), limit);
      assert.equal(r.outcome, 'items');
      return r;
    };

    it('stores a deposit, answers a duplicate, and hands items out oldest first with their ids', () => {
      assert.deepEqual(holder.deposit(mine.address, blob(1), T0 + DAY), { outcome: 'stored' });
      now += 1;
      assert.deepEqual(holder.deposit(mine.address, blob(2), T0 + DAY), { outcome: 'stored' });
      assert.deepEqual(holder.deposit(mine.address, blob(1), T0 + 2 * DAY), { outcome: 'duplicate' });
      const r = fetchAll();
      assert.deepEqual(r, {
        outcome: 'items',
        more: false,
        items: [
          { id: mailboxItemId(blob(1)), blob: blob(1), expiresAt: T0 + DAY },
          { id: mailboxItemId(blob(2)), blob: blob(2), expiresAt: T0 + DAY },
        ],
      });
      assert.deepEqual(sha256(blob(1)).subarray(0, 16), mailboxItemId(blob(1)));
    });

    it('pages with `more`, reusing one challenge; a delete consumes it', () => {
      for (let i = 0; i < 5; i++) holder.deposit(mine.address, blob(i), T0 + DAY);
      const nonce = holder.challenge(ALICE);
      const fetchProof = signMailboxProof(mine, SELF, nonce, 'fetch');
      const first = holder.fetch(ALICE, mine.address, fetchProof, 3);
      assert.ok(first.outcome === 'items' && first.more && first.items.length === 3);
      const del = holder.delete(ALICE, mine.address, signMailboxProof(mine, SELF, nonce, 'delete'), first.items.map((i) => i.id));
      assert.deepEqual(del, { outcome: 'deleted', count: 3 });
      assert.deepEqual(holder.fetch(ALICE, mine.address, fetchProof, 3), { outcome: 'refused', reason: 'no-challenge' });
      const rest = fetchAll(mine, 3);
      assert.ok(rest.outcome === 'items' && !rest.more);
      assert.deepEqual(rest.items.map((i) => i.blob), [blob(3), blob(4)]);
      assert.deepEqual(s.store.mailboxes.totals(), { count: 2, bytes: 200 });
    });

    it('refuses past the per-mailbox quota (items and bytes) and stores nothing', () => {
      holder = build({ maxItemsPerMailbox: 3, maxBytesPerMailbox: 1_000 });
      for (let i = 0; i < 3; i++) assert.equal(holder.deposit(mine.address, blob(i), T0 + DAY).outcome, 'stored');
      assert.deepEqual(holder.deposit(mine.address, blob(9), T0 + DAY), { outcome: 'refused', reason: 'quota' });
      assert.deepEqual(holder.deposit(mine.address, blob(0), T0 + DAY), { outcome: 'duplicate' }, 'a duplicate is not a new item');
      assert.deepEqual(s.store.mailboxes.usage(mine.address), { count: 3, bytes: 300 });
      assert.equal(holder.deposit(theirs.address, blob(1, 900), T0 + DAY).outcome, 'stored');
      assert.deepEqual(holder.deposit(theirs.address, blob(2, 101), T0 + DAY), { outcome: 'refused', reason: 'quota' });
      assert.equal(holder.deposit(theirs.address, blob(2, 100), T0 + DAY).outcome, 'stored', 'exactly at the byte quota');
    });

    it('refuses past the total caps (items and bytes) in any mailbox', () => {
      holder = build({ maxTotalItems: 4, maxTotalBytes: 1_000 });
      const boxes = [1, 2, 3, 4, 5].map((n) => deriveMailbox(new Uint8Array(32).fill(n), 20_000).address);
      for (let i = 0; i < 4; i++) assert.equal(holder.deposit(boxes[i] as Uint8Array, blob(i), T0 + DAY).outcome, 'stored');
      assert.deepEqual(holder.deposit(boxes[4] as Uint8Array, blob(7), T0 + DAY), { outcome: 'refused', reason: 'full' });
      assert.deepEqual(s.store.mailboxes.totals(), { count: 4, bytes: 400 });
      holder = build({ maxTotalItems: 10, maxTotalBytes: 1_000 });
      assert.deepEqual(holder.deposit(boxes[4] as Uint8Array, blob(7, 601), T0 + DAY), { outcome: 'refused', reason: 'full' });
      assert.equal(holder.deposit(boxes[4] as Uint8Array, blob(7, 600), T0 + DAY).outcome, 'stored');
    });

    it('bounds sizes and expiry times; expired items are neither counted nor handed out', () => {
      assert.deepEqual(holder.deposit(mine.address, blob(1, 3_201), T0 + DAY), { outcome: 'refused', reason: 'too-large' });
      assert.deepEqual(holder.deposit(mine.address, new Uint8Array(0), T0 + DAY), { outcome: 'refused', reason: 'too-large' });
      assert.deepEqual(holder.deposit(mine.address, blob(1), T0), { outcome: 'refused', reason: 'expired' });
      assert.deepEqual(holder.deposit(mine.address, blob(1), T0 + 30 * DAY + 1), { outcome: 'refused', reason: 'ttl-too-long' });
      assert.equal(holder.deposit(mine.address, blob(1), T0 + 30 * DAY).outcome, 'stored');
      assert.equal(holder.deposit(mine.address, blob(2), T0 + 10).outcome, 'stored');
      assert.equal(holder.deposit(mine.address, blob(3), T0 + 20).outcome, 'stored');
      now = T0 + 10;
      assert.deepEqual(fetchAll().items.map((i) => i.blob), [blob(1), blob(3)]);
      now = T0 + 20;
      assert.equal(holder.expire(), 1);
      assert.equal(holder.expire(), 0);
      assert.deepEqual(s.store.mailboxes.totals(), { count: 1, bytes: 100 });
      assert.deepEqual(holder.deposit(mine.address, blob(1), T0 + 40), { outcome: 'duplicate' });
      now = T0 + 30 * DAY;
      assert.deepEqual(holder.deposit(mine.address, blob(1), T0 + 31 * DAY), { outcome: 'stored' }, 'an expired copy is not a duplicate');
      assert.deepEqual(s.store.mailboxes.list(mine.address, 9).map((i) => i.expiresAt), [T0 + 31 * DAY]);
      holder = build({ maxItemsPerMailbox: 1 });
      now = T0 + 31 * DAY;
      assert.equal(holder.deposit(mine.address, blob(4), T0 + 32 * DAY).outcome, 'stored', 'an expired item frees its quota');
    });

    it('a peer without the secret, or with a proof made for something else, can neither fetch nor delete', () => {
      holder.deposit(mine.address, blob(1), T0 + DAY);
      const id = mailboxItemId(blob(1));
      const bad = { outcome: 'refused', reason: 'bad-proof' };
      const tryBoth = (peer: string, proof: (op: MailboxOp) => Uint8Array): void => {
        assert.deepEqual(holder.fetch(peer, mine.address, proof('fetch'), 64), bad);
        assert.deepEqual(holder.delete(peer, mine.address, proof('delete'), [id]), bad);
      };
      // Another mailbox's key (Mallory's own secret).
      tryBoth(MALLORY, (op) => proofFor(MALLORY, theirs, op));
      // Mallory's own key signing over this address.
      tryBoth(MALLORY, (op) => proofFor(MALLORY, { ...theirs, address: mine.address }, op));
      // Another day's key of the right secret.
      tryBoth(ALICE, (op) => proofFor(ALICE, deriveMailbox(new Uint8Array(32).fill(1), 20_001), op));
      // Made for another holder.
      tryBoth(ALICE, (op) => signMailboxProof(mine, '12D3KooWOtherHolder', holder.challenge(ALICE), op));
      // Made over another challenge (an earlier one of the same peer).
      tryBoth(ALICE, (op) => {
        const old = holder.challenge(ALICE);
        holder.challenge(ALICE);
        return signMailboxProof(mine, SELF, old, op);
      });
      // Made for the other operation.
      tryBoth(ALICE, (op) => proofFor(ALICE, mine, op === 'fetch' ? 'delete' : 'fetch'));
      // Made over another peer's challenge: Alice's valid proof replayed by Mallory.
      tryBoth(MALLORY, (op) => {
        holder.challenge(MALLORY);
        return proofFor(ALICE, mine, op);
      });
      // Random bytes.
      tryBoth(MALLORY, () => {
        holder.challenge(MALLORY);
        return new Uint8Array(96).fill(5);
      });
      assert.deepEqual(s.store.mailboxes.usage(mine.address), { count: 1, bytes: 100 });
      assert.equal(fetchAll().items.length, 1, 'the owner still can');
    });

    it('wants a live challenge of the asking peer; a bad proof consumes it', () => {
      holder.deposit(mine.address, blob(1), T0 + DAY);
      const never = signMailboxProof(mine, SELF, new Uint8Array(32), 'fetch');
      assert.deepEqual(holder.fetch(ALICE, mine.address, never, 1), { outcome: 'refused', reason: 'no-challenge' });
      const nonce = holder.challenge(ALICE);
      const proof = signMailboxProof(mine, SELF, nonce, 'fetch');
      now += 59_999;
      assert.equal(holder.fetch(ALICE, mine.address, proof, 1).outcome, 'items');
      now += 1;
      assert.deepEqual(holder.fetch(ALICE, mine.address, proof, 1), { outcome: 'refused', reason: 'no-challenge' });
      assert.equal(holder.challenges(), 0);
      const n2 = holder.challenge(ALICE);
      assert.equal(holder.fetch(ALICE, mine.address, signMailboxProof(theirs, SELF, n2, 'fetch'), 1).outcome, 'refused');
      assert.deepEqual(holder.fetch(ALICE, mine.address, signMailboxProof(mine, SELF, n2, 'fetch'), 1), { outcome: 'refused', reason: 'no-challenge' });
    });

    it('keeps one challenge per peer and evicts the oldest peer past the bound', () => {
      holder = build({ maxChallenges: 3 });
      const peers = ['p1', 'p2', 'p3', 'p4'];
      const nonces = new Map(peers.slice(0, 3).map((p) => [p, holder.challenge(p)]));
      nonces.set('p1', holder.challenge('p1')); // p1 refreshed: now the newest
      nonces.set('p4', holder.challenge('p4')); // evicts p2
      assert.equal(holder.challenges(), 3);
      const outcome = (p: string) => holder.fetch(p, mine.address, signMailboxProof(mine, SELF, nonces.get(p) as Uint8Array, 'fetch'), 1);
      assert.deepEqual(outcome('p2'), { outcome: 'refused', reason: 'no-challenge' });
      for (const p of ['p1', 'p3', 'p4']) assert.equal(outcome(p).outcome, 'items', p);
      assert.notDeepEqual(nonces.get('p1'), nonces.get('p3'));
    });

    it('handle: the whole exchange over the wire; malformed requests are answered, never thrown', () => {
      holder.deposit(mine.address, blob(1), T0 + DAY);
      const ask = (req: Uint8Array): MailboxResponse => decodeMailboxResponse(holder.handle(ALICE, req));
      const c = ask(encodeMailboxRequest({ type: 'challenge' }));
      assert.equal(c.type, 'challenge');
      const nonce = c.type === 'challenge' ? c.nonce : new Uint8Array(32);
      const items = ask(encodeMailboxRequest({ type: 'fetch', address: mine.address, proof: signMailboxProof(mine, SELF, nonce, 'fetch'), limit: 8 }));
      assert.deepEqual(items, { type: 'items', more: false, items: [{ id: mailboxItemId(blob(1)), blob: blob(1), expiresAt: T0 + DAY }] });
      const del = { type: 'delete', address: mine.address, proof: signMailboxProof(mine, SELF, nonce, 'delete'), ids: [mailboxItemId(blob(1))] } as const;
      assert.deepEqual(ask(encodeMailboxRequest(del)), { type: 'deleted', count: 1 });
      assert.deepEqual(ask(encodeMailboxRequest(del)), { type: 'refused', reason: 'no-challenge' });
      assert.deepEqual(ask(Uint8Array.of(1, 9)), { type: 'refused', reason: 'malformed' });
      assert.deepEqual(ask(new Uint8Array(0)), { type: 'refused', reason: 'malformed' });
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
          const r = decodeMailboxResponse(holder.handle(MALLORY, bytes));
          assert.ok(r.type === 'refused' || r.type === 'challenge');
        }),
        { numRuns: 300 },
      );
    });
  });
}
