/**
 * src/net/trim.ts: the trim's order (tag value, then idle, then oldest) and the cool-down of the peers
 * it cut (refused while the node is full, for TRIM_COOLDOWN_MS, in a bounded map).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTrimCooldown, TRIM_COOLDOWN_MS, trimVictims } from '../../src/net/trim.ts';

describe('net: connection trim', () => {
  it('cuts the least-valued peers first, then idle connections, then the oldest', () => {
    const c = (name: string, value: number, busy: boolean, openedAt: number) => ({ name, value, busy, openedAt });
    const all = [c('kad-close', 51, false, 1), c('busy-old', 0, true, 2), c('idle-new', 0, false, 9), c('idle-old', 0, false, 3), c('mesh', 1, false, 0)];
    assert.deepEqual(trimVictims(all, 3).map((v) => v.name), ['idle-old', 'idle-new', 'busy-old']);
    assert.deepEqual(trimVictims(all, 5).map((v) => v.name), ['idle-old', 'idle-new', 'busy-old', 'mesh', 'kad-close']);
    assert.deepEqual(trimVictims(all, 0), []);
  });

  it('refuses a peer it cut while the node is full, until the cool-down ends', () => {
    let now = 1_000;
    const cd = createTrimCooldown(() => now);
    cd.cut(['a']);
    assert.equal(cd.refuses('a', true), true, 'cut and full');
    assert.equal(cd.refuses('a', false), false, 'a free slot: no reason to refuse');
    assert.equal(cd.refuses('b', true), false, 'never cut');
    now += TRIM_COOLDOWN_MS - 1;
    assert.equal(cd.refuses('a', true), true, 'still cooling');
    now += 1;
    assert.equal(cd.refuses('a', true), false, 'cool-down over');
  });

  it('remembers a bounded number of peers, the latest cut', () => {
    const cd = createTrimCooldown(() => 0, 60_000, 2);
    cd.cut(['a', 'b', 'c']);
    assert.equal(cd.refuses('a', true), false, 'the oldest forgotten');
    assert.equal(cd.refuses('b', true), true);
    assert.equal(cd.refuses('c', true), true);
  });
});
