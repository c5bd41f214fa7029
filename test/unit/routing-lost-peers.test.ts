import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_CUT_MS } from '../../src/routing/heal.ts';
import { createLostPeers } from '../../src/routing/lost-peers.ts';

const set = (...p: string[]): Set<string> => new Set(p);

describe('routing: lost peers', () => {
  it('a cut (many lost in one sample) is reported back once one of its peers returns after MIN_CUT_MS; churn is only "back"', () => {
    const lp = createLostPeers(() => false);
    lp.sample(set('a', 'b', 'c', 'd', 'e', 'f'), 0);
    assert.deepEqual(lp.sample(set('d', 'e', 'f'), 1_000), { back: false, cutBackSince: undefined }, 'the cut');
    assert.deepEqual(lp.sample(set('a', 'd', 'e', 'f'), 1_000 + MIN_CUT_MS - 1), { back: false, cutBackSince: undefined }, 'too soon: churn');
    lp.sample(set('d', 'e', 'f'), 1_000 + MIN_CUT_MS);
    assert.deepEqual(lp.sample(set('b', 'd', 'e', 'f'), 1_000 + 2 * MIN_CUT_MS), { back: true, cutBackSince: 1_000 });
    lp.endCut();
    assert.deepEqual(lp.sample(set('b', 'c', 'd', 'e', 'f'), 1_000 + 3 * MIN_CUT_MS), { back: true, cutBackSince: undefined }, 'acted on: churn now');
  });

  it('peers we closed ourselves are not lost: neither a cut nor back', () => {
    const ours = set('a', 'b', 'c');
    const lp = createLostPeers((p) => ours.has(p));
    lp.sample(set('a', 'b', 'c', 'd', 'e', 'f'), 0);
    lp.sample(set('d', 'e', 'f'), 1_000);
    assert.deepEqual(lp.sample(set('a', 'b', 'c', 'd', 'e', 'f'), 1_000 + MIN_CUT_MS), { back: false, cutBackSince: undefined });
  });
});
