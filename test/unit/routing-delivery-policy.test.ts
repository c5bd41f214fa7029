import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ACK_TIMEOUT_MS,
  chooseRoute,
  DEFAULT_HOPS,
  FETCH_BACKOFF_MAX,
  FETCH_BASE_MS,
  HELD_RETRY_MAX_MS,
  HELD_RETRY_MS,
  nextAttemptDelay,
  nextFetchDelay,
  RETRY_BASE_MS,
  RETRY_MAX_MS,
  retryDelay,
} from '../../src/routing/delivery-policy.ts';

/** The delay without jitter (unit 0.5 → factor 1). */
const mid = 0.5;

describe('delivery policy', () => {
  it('chooseRoute: hops 0 direct; explicit hops strict or waiting; default up to DEFAULT_HOPS as known', () => {
    assert.deepEqual(chooseRoute({ hops: 0, haveInbox: false, relaysKnown: 0 }), { kind: 'direct' });
    assert.equal(chooseRoute({ hops: 3, haveInbox: false, relaysKnown: 9 }).kind, 'wait');
    assert.equal(chooseRoute({ hops: 3, haveInbox: true, relaysKnown: 2 }).kind, 'wait');
    assert.deepEqual(chooseRoute({ hops: 3, haveInbox: true, relaysKnown: 3 }), { kind: 'onion', hops: 3, strict: true });
    assert.deepEqual(chooseRoute({ hops: undefined, haveInbox: true, relaysKnown: 0 }), { kind: 'direct' });
    assert.deepEqual(chooseRoute({ hops: undefined, haveInbox: false, relaysKnown: 5 }), { kind: 'direct' });
    assert.deepEqual(chooseRoute({ hops: undefined, haveInbox: true, relaysKnown: 2 }), { kind: 'onion', hops: 2, strict: false });
    assert.deepEqual(chooseRoute({ hops: undefined, haveInbox: true, relaysKnown: 50 }), { kind: 'onion', hops: DEFAULT_HOPS, strict: false });
  });

  it('retryDelay doubles from the base to the cap, jitter within ±20 %', () => {
    assert.equal(retryDelay(0, mid), RETRY_BASE_MS);
    assert.equal(retryDelay(3, mid), 8 * RETRY_BASE_MS);
    assert.equal(retryDelay(60, mid), RETRY_MAX_MS);
    for (const unit of [0, 0.25, 0.999]) {
      const d = retryDelay(4, unit);
      assert.ok(d >= 0.8 * 16 * RETRY_BASE_MS && d <= 1.2 * 16 * RETRY_BASE_MS, String(d));
    }
  });

  it('nextAttemptDelay: a sent message waits for its ack, a held one for the fetch', () => {
    assert.equal(nextAttemptDelay('sent', 0, mid), ACK_TIMEOUT_MS);
    assert.equal(nextAttemptDelay('sent', 30, mid), RETRY_MAX_MS);
    assert.equal(nextAttemptDelay('held', 0, mid), HELD_RETRY_MS);
    assert.equal(nextAttemptDelay('held', 1, mid), 2 * HELD_RETRY_MS);
    assert.equal(nextAttemptDelay('held', 30, mid), HELD_RETRY_MAX_MS);
    for (const o of ['answered', 'unreachable', 'waiting'] as const) assert.equal(nextAttemptDelay(o, 2, mid), retryDelay(2, mid));
  });

  it("nextAttemptDelay: held while the recipient's node is connected to ours — the retry backoff, not minutes", () => {
    assert.equal(nextAttemptDelay('held', 0, mid, true), retryDelay(0, mid));
    assert.equal(nextAttemptDelay('held', 3, mid, true), retryDelay(3, mid));
    assert.ok(nextAttemptDelay('held', 0, mid, true) < nextAttemptDelay('held', 0, mid) / 10);
    assert.equal(nextAttemptDelay('sent', 1, mid, true), nextAttemptDelay('sent', 1, mid), 'only held changes');
  });

  it('nextFetchDelay: the base after mail, doubling per empty round, capped at FETCH_BACKOFF_MAX × base', () => {
    assert.equal(nextFetchDelay(0, mid), FETCH_BASE_MS);
    assert.equal(nextFetchDelay(1, mid), 2 * FETCH_BASE_MS);
    assert.equal(nextFetchDelay(3, mid), 8 * FETCH_BASE_MS);
    assert.equal(nextFetchDelay(4, mid), FETCH_BACKOFF_MAX * FETCH_BASE_MS);
    assert.equal(nextFetchDelay(1_000, mid), FETCH_BACKOFF_MAX * FETCH_BASE_MS);
    // A node configured with a shorter base (tests, the full simulator) backs off from it.
    assert.equal(nextFetchDelay(2, mid, 5_000), 20_000);
    assert.equal(nextFetchDelay(9, mid, 5_000), FETCH_BACKOFF_MAX * 5_000);
    for (const unit of [0, 0.999]) {
      const d = nextFetchDelay(2, unit);
      assert.ok(d >= 0.8 * 4 * FETCH_BASE_MS && d <= 1.2 * 4 * FETCH_BASE_MS, String(d));
    }
  });
});
