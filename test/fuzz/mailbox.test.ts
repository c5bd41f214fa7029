/**
 * Fuzz of the mailbox protocol: the `/compeer/mailbox/1` codecs and the deposit frame
 * (src/protocol/mailbox/wire.ts), the holder's proof check (keys.ts: no mutated proof passes), and
 * the holder's network entry point `handle(peerId, bytes)` (src/routing/mailbox-holder.ts) fed random
 * and mutated requests from several peers: it never throws, always answers a decodable response within
 * the response limit, keeps its challenges bounded, and a real deposit–fetch–delete afterwards works.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sha256 } from '../../src/crypto/hash.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { deriveMailbox, signMailboxProof, verifyMailboxProof } from '../../src/protocol/mailbox/keys.ts';
import { decodeDeposit, decodeMailboxRequest, decodeMailboxResponse, encodeDeposit, encodeMailboxRequest, encodeMailboxResponse, MAILBOX_BLOB_MAX_BYTES, MAILBOX_RESPONSE_MAX_BYTES, type MailboxRequest, type MailboxResponse } from '../../src/protocol/mailbox/wire.ts';
import { deposits, fill, requests, responses } from '../unit/mailbox-fixtures.ts';
import { createMailboxHolder, mailboxItemId } from '../../src/routing/mailbox-holder.ts';
import { memoryMailboxRepository } from '../../src/store/mailboxes.ts';
import { memoryTransactions } from '../../src/store/memory-tx.ts';
import { assertRejected, bytesArb, checkEncodes, fuzzCodec, mutateAll, mutationsArb, params, sameBytes } from './_fuzz.ts';

// The codec samples are the unit tests' (every shape, smallest and largest counts); the holder's
// mailbox is a real one, so proofs can be made for it.
const box = deriveMailbox(fill(32, 1), 20_000);
/** The full 64-item response (206 KB) is left out: every truncation of it would take minutes. */
const responseSamples = responses.map(encodeMailboxResponse).filter((b) => b.length < 16_384);

describe('fuzz: mailbox wire (src/protocol/mailbox/wire.ts)', () => {
  fuzzCodec(it, { name: 'mailbox request', decode: decodeMailboxRequest, encode: encodeMailboxRequest, samples: requests.map(encodeMailboxRequest), mutationRuns: 1600 });
  fuzzCodec(it, { name: 'mailbox response', decode: decodeMailboxResponse, encode: encodeMailboxResponse, samples: responseSamples, mutationRuns: 1200, maxRandom: 4096 });
  fuzzCodec(it, {
    name: 'mailbox deposit',
    decode: decodeDeposit,
    encode: encodeDeposit,
    samples: deposits.map(encodeDeposit),
    mutationRuns: 1200,
  });
});

describe('fuzz: mailbox messages built from arbitrary values (encoder and decoder agree)', () => {
  const bytes = (n: number) => fc.oneof(fc.uint8Array({ minLength: n, maxLength: n }), fc.uint8Array({ maxLength: n + 2 }));
  const count = (max: number) => fc.oneof(fc.nat({ max }), fc.integer({ min: -1, max: max + 2 }));
  const request: fc.Arbitrary<MailboxRequest> = fc.oneof(
    fc.constant({ type: 'challenge' as const }),
    fc.record({ type: fc.constant('fetch' as const), address: bytes(32), proof: bytes(96), limit: count(64) }),
    fc.record({ type: fc.constant('delete' as const), address: bytes(32), proof: bytes(96), ids: fc.array(bytes(16), { maxLength: 66 }) }),
  );
  const item = fc.record({ id: bytes(16), blob: fc.uint8Array({ maxLength: MAILBOX_BLOB_MAX_BYTES + 1 }), expiresAt: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(-1)) });
  const response: fc.Arbitrary<MailboxResponse> = fc.oneof(
    fc.record({ type: fc.constant('challenge' as const), nonce: bytes(32) }),
    fc.record({ type: fc.constant('items' as const), items: fc.array(item, { maxLength: 5 }), more: fc.boolean() }),
    fc.record({ type: fc.constant('deleted' as const), count: count(64) }),
    fc.record({ type: fc.constant('refused' as const), reason: fc.constantFrom('bad-proof' as const, 'no-challenge' as const, 'rate-limited' as const, 'malformed' as const) }),
  );
  const deposit = fc.record({ address: bytes(32), expiresAt: fc.oneof(fc.nat(), fc.constant(-1)), blob: fc.uint8Array({ maxLength: MAILBOX_BLOB_MAX_BYTES + 1 }) });
  it('requests, responses and deposits encode to bytes that decode back to them, or are refused typed', () => {
    fc.assert(fc.property(request, (m) => checkEncodes('mailbox request', m, encodeMailboxRequest, decodeMailboxRequest)), params(500));
    fc.assert(fc.property(response, (m) => checkEncodes('mailbox response', m, encodeMailboxResponse, decodeMailboxResponse)), params(300));
    fc.assert(fc.property(deposit, (m) => checkEncodes('mailbox deposit', m, encodeDeposit, decodeDeposit)), params(300));
  });
});

describe('fuzz: mailbox proofs (src/protocol/mailbox/keys.ts)', () => {
  it('a mutated proof, challenge, address or holder never verifies', () => {
    const challenge = fill(32, 5);
    const good = signMailboxProof(box, 'holder', challenge, 'fetch');
    verifyMailboxProof(box.address, 'holder', challenge, 'fetch', good);
    fc.assert(
      fc.property(fc.constantFrom('proof', 'challenge', 'address'), mutationsArb, (which, ms) => {
        const p = which === 'proof' ? mutateAll(good, ms) : good;
        const c = which === 'challenge' ? mutateAll(challenge, ms) : challenge;
        const a = which === 'address' ? mutateAll(box.address, ms) : box.address;
        if (sameBytes(p, good) && sameBytes(c, challenge) && sameBytes(a, box.address)) return;
        assertRejected(`mailbox proof (${which} mutated)`, () => verifyMailboxProof(a, 'holder', c, 'fetch', p));
      }),
      params(400),
    );
    assertRejected('mailbox proof for another op', () => verifyMailboxProof(box.address, 'holder', challenge, 'delete', good));
    assertRejected('mailbox proof for another holder', () => verifyMailboxProof(box.address, 'holder2', challenge, 'fetch', good));
  });
});

describe('fuzz: the mailbox holder handler (src/routing/mailbox-holder.ts handle)', () => {
  it('random and mutated requests from several peers: never throws, answers within limits, and real use works afterwards', () => {
    const T0 = 20_000 * 86_400_000 + 5_000;
    const peers = ['12D3KooWAlice', '12D3KooWMallory', '12D3KooWEve'];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            peer: fc.constantFrom(...peers),
            // A proof made with the real key over the peer's live challenge, then mutated: gets past decoding.
            kind: fc.constantFrom('random', 'mutated', 'proof'),
            random: bytesArb(300),
            sample: fc.nat({ max: requests.length - 1 }),
            ms: mutationsArb,
            dt: fc.nat({ max: 90_000 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        (steps) => {
          let now = T0;
          const tx = memoryTransactions();
          const holder = createMailboxHolder({
            repo: memoryMailboxRepository(tx),
            transaction: (fn) => tx.transaction(fn),
            clock: () => now,
            rng: deterministicRng(Uint8Array.of(9), sha256),
            selfPeerId: 'holder',
            limits: { maxChallenges: 2 },
          });
          for (let i = 0; i < 3; i++) holder.deposit(box.address, fill(50, i), T0 + 86_400_000);
          for (const s of steps) {
            now += s.dt;
            let req: Uint8Array;
            if (s.kind === 'random') req = s.random;
            else if (s.kind === 'mutated') req = mutateAll(encodeMailboxRequest(requests[s.sample] as MailboxRequest), s.ms);
            else {
              const nonce = decodeMailboxResponse(holder.handle(s.peer, encodeMailboxRequest({ type: 'challenge' })));
              assert.equal(nonce.type, 'challenge');
              const p = signMailboxProof(box, 'holder', nonce.type === 'challenge' ? nonce.nonce : new Uint8Array(32), 'fetch');
              req = mutateAll(encodeMailboxRequest({ type: 'fetch', address: box.address, proof: p, limit: 64 }), s.ms);
            }
            const res = holder.handle(s.peer, req); // must not throw
            assert.ok(res.length <= MAILBOX_RESPONSE_MAX_BYTES);
            const decoded = decodeMailboxResponse(res);
            // Only a request that decodes as a fetch with a valid proof may get items.
            if (decoded.type === 'items') assert.equal(decodeMailboxRequest(req).type, 'fetch');
            assert.ok(holder.challenges() <= 2, 'challenges stay within their limit');
          }
          // Real use afterwards: a fresh deposit is fetched and deleted with real proofs.
          now = T0 + 1000;
          const blob = fill(77, 0xee);
          assert.notEqual(holder.deposit(box.address, blob, T0 + 86_400_000).outcome, 'refused');
          const peer = 'holder-user';
          const nonceRes = decodeMailboxResponse(holder.handle(peer, encodeMailboxRequest({ type: 'challenge' })));
          assert.equal(nonceRes.type, 'challenge');
          const nonce = nonceRes.type === 'challenge' ? nonceRes.nonce : new Uint8Array(32);
          const got = decodeMailboxResponse(holder.handle(peer, encodeMailboxRequest({ type: 'fetch', address: box.address, proof: signMailboxProof(box, 'holder', nonce, 'fetch'), limit: 64 })));
          assert.equal(got.type, 'items');
          const id = mailboxItemId(blob);
          assert.ok(got.type === 'items' && got.items.some((x) => sameBytes(x.id, id)), 'the fresh deposit is there');
          const del = decodeMailboxResponse(holder.handle(peer, encodeMailboxRequest({ type: 'delete', address: box.address, proof: signMailboxProof(box, 'holder', nonce, 'delete'), ids: [id] })));
          assert.deepEqual(del, { type: 'deleted', count: 1 });
        },
      ),
      params(60),
    );
  });
});
