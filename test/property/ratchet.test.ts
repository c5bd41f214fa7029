/**
 * Property tests (fast-check) for the Double Ratchet: any interleaving of two parties sending, with
 * loss, duplication, reordering, tampering and state reloads (encode → decode) at any point. A small
 * model predicts every outcome:
 *   - a message delivered for the first time decrypts to its plaintext, unless its sending chain is more
 *     than RATCHET_MAX_OLD_CHAINS chains behind the receiver's newest (then DECRYPT_FAILED: the chain's
 *     header key is gone);
 *   - a message delivered again fails with DUPLICATE_MESSAGE (or DECRYPT_FAILED for a dropped chain);
 *   - a tampered message fails (UNSUPPORTED_VERSION for the version byte, DECRYPT_FAILED otherwise —
 *     except a tampered body of a duplicate, refused as DUPLICATE_MESSAGE before the body is opened);
 *   - after every failure the encoded state is byte-for-byte what it was before.
 * Chains arrive in order of creation at the receiver (a sender can only start chain k+1 after hearing
 * the receiver's answer to chain k), so "chains behind" is a difference of chain indices.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { equalBytes, utf8 } from '../../src/lib/bytes.ts';
import type { Rng } from '../../src/lib/deps.ts';
import { CompeerError } from '../../src/lib/errors.ts';
import {
  decodeRatchetState,
  encodeRatchetState,
  ratchetDecrypt,
  ratchetEncrypt,
  ratchetInfo,
  type RatchetState,
} from '../../src/protocol/ratchet/index.ts';
import { RATCHET_MAX_OLD_CHAINS } from '../../src/protocol/wire/constants.ts';
import { ratchetPair } from '../unit/ratchet-fixtures.ts';

const NOW = 1_750_000_000_000;
const PREFIX = 69;

type Action =
  | { readonly t: 'send'; readonly from: 0 | 1; readonly size: number }
  | { readonly t: 'deliver'; readonly pick: number; readonly dup: boolean }
  | { readonly t: 'deliverNewest'; readonly dup: boolean }
  | { readonly t: 'drop'; readonly pick: number }
  | { readonly t: 'tamper'; readonly pick: number; readonly pos: number; readonly mask: number }
  | { readonly t: 'reload'; readonly who: 0 | 1 };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('send' as const), from: fc.constantFrom(0 as const, 1 as const), size: fc.nat(40) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('deliver' as const), pick: fc.nat(), dup: fc.boolean() }) },
  // Delivering the newest message keeps conversations moving, so scenarios reach many DH steps.
  { weight: 3, arbitrary: fc.record({ t: fc.constant('deliverNewest' as const), dup: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('drop' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('tamper' as const), pick: fc.nat(), pos: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reload' as const), who: fc.constantFrom(0 as const, 1 as const) }) },
);

interface Sent {
  readonly from: 0 | 1;
  readonly chain: number;
  readonly wire: Uint8Array;
  readonly plaintext: Uint8Array;
  delivered: boolean;
}

function start(seed: number): { rng: Rng; parties: [RatchetState, RatchetState] } {
  const p = ratchetPair(`ratchet-property/${seed}`);
  return { rng: p.rng, parties: [p.alice, p.bob] };
}

/** Runs `fn` expecting a CompeerError with `code`; checks the state's encoding did not change. */
function expectFailure(state: RatchetState, fn: () => unknown, code: string): void {
  const before = encodeRatchetState(state);
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof CompeerError, `expected ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.ok(equalBytes(encodeRatchetState(state), before), 'state changed by a failed decryption');
}

function runScenario(seed: number, actions: readonly Action[]): void {
  const { rng, parties } = start(seed);
  const chain: [number, number] = [0, -1]; // each party's current sending chain index
  const newest: [number, number] = [-1, -1]; // newest peer chain each party has decrypted from
  const inFlight: Sent[] = [];
  let counter = 0;

  for (const a of actions) {
    if (a.t === 'send') {
      const s = parties[a.from];
      if (!ratchetInfo(s).canSend) continue;
      if (ratchetInfo(s).ratchetPending) chain[a.from]++;
      const plaintext = utf8(`${counter++}:`.padEnd(a.size + 4, '.'));
      inFlight.push({ from: a.from, chain: chain[a.from], wire: ratchetEncrypt(s, plaintext, rng), plaintext, delivered: false });
      continue;
    }
    if (a.t === 'reload') {
      const bytes = encodeRatchetState(parties[a.who]);
      parties[a.who] = decodeRatchetState(bytes);
      assert.ok(equalBytes(encodeRatchetState(parties[a.who]), bytes));
      continue;
    }
    if (inFlight.length === 0) continue;
    const index = a.t === 'deliverNewest' ? inFlight.length - 1 : a.pick % inFlight.length;
    const m = inFlight[index] as Sent;
    const to = m.from === 0 ? 1 : 0;
    const state = parties[to];
    const dropped = m.chain < newest[to] - RATCHET_MAX_OLD_CHAINS;
    if (a.t === 'drop') {
      inFlight.splice(index, 1);
    } else if (a.t === 'tamper') {
      const pos = a.pos % m.wire.length;
      const bad = Uint8Array.from(m.wire);
      bad[pos] = (bad[pos] as number) ^ a.mask;
      const code =
        pos === 0 ? 'UNSUPPORTED_VERSION' : pos >= PREFIX && m.delivered && !dropped ? 'DUPLICATE_MESSAGE' : 'DECRYPT_FAILED';
      expectFailure(state, () => ratchetDecrypt(state, bad, NOW), code);
    } else {
      if (!a.dup) inFlight.splice(index, 1);
      if (dropped) {
        expectFailure(state, () => ratchetDecrypt(state, m.wire, NOW), 'DECRYPT_FAILED');
      } else if (m.delivered) {
        expectFailure(state, () => ratchetDecrypt(state, m.wire, NOW), 'DUPLICATE_MESSAGE');
      } else {
        assert.ok(equalBytes(ratchetDecrypt(state, m.wire, NOW), m.plaintext));
        m.delivered = true;
        newest[to] = Math.max(newest[to], m.chain);
      }
    }
  }
}

describe('ratchet properties', () => {
  test('any interleaving with loss, duplication, reordering, tampering and reloads matches the model', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(actionArb, { minLength: 10, maxLength: 120, size: 'max' }), (seed, actions) => {
        runScenario(seed, actions);
      }),
      { numRuns: 150 },
    );
  });

  test('long one-directional bursts between replies, delivered in random order', () => {
    // Many messages per chain and few chains: exercises skipped keys within and across chains.
    const burst = fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(fc.nat(), burst, fc.array(fc.nat(), { minLength: 150, maxLength: 150 }), (seed, sizes, picks) => {
        const actions: Action[] = [];
        let p = 0;
        sizes.forEach((n, i) => {
          for (let k = 0; k < n; k++) actions.push({ t: 'send', from: (i % 2) as 0 | 1, size: 4 });
          // Deliver a random part of what is in flight, then let the other side answer next round.
          for (let k = 0; k < n; k++) actions.push({ t: 'deliver', pick: picks[p++ % picks.length] as number, dup: false });
        });
        runScenario(seed, actions);
      }),
      { numRuns: 60 },
    );
  });

  test('many DH steps with stragglers delivered late (old chains kept, then dropped)', () => {
    // Rounds alternate senders; each round's newest message is delivered at once (a DH step), the
    // others straggle and are delivered, duplicated or lost at random at the end.
    const round = fc.record({ count: fc.integer({ min: 1, max: 3 }), sizes: fc.nat(20) });
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(round, { minLength: 2, maxLength: 16, size: 'max' }),
        fc.array(fc.record({ pick: fc.nat(), dup: fc.boolean() }), { minLength: 40, maxLength: 40 }),
        (seed, rounds, tail) => {
          const actions: Action[] = [];
          rounds.forEach((r, i) => {
            for (let k = 0; k < r.count; k++) actions.push({ t: 'send', from: (i % 2) as 0 | 1, size: r.sizes });
            actions.push({ t: 'deliverNewest', dup: false });
          });
          for (const d of tail) actions.push({ t: 'deliver', pick: d.pick, dup: d.dup });
          runScenario(seed, actions);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('random bytes as a message: typed error, state unchanged', () => {
    const { parties } = start(7);
    const alice = parties[0];
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.boolean(), (bytes, versioned) => {
        if (versioned && bytes.length > 0) bytes[0] = 0x01;
        const before = encodeRatchetState(alice);
        assert.throws(() => ratchetDecrypt(alice, bytes, NOW), (e: unknown) => e instanceof CompeerError);
        assert.ok(equalBytes(encodeRatchetState(alice), before));
      }),
      { numRuns: 300 },
    );
  });
});
