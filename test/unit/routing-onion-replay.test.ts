/** The relay's onion replay cache (src/routing/onion-replay.ts): once per tag, two epochs kept, full means refuse. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createReplayCache } from '../../src/routing/onion-replay.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';

const rng = deterministicRng(utf8('compeer/test/onion-replay'), sha256);

describe('onion replay cache', () => {
  it('records a new tag and reports its second sighting as a replay, per epoch', () => {
    const c = createReplayCache();
    const t = rng.bytes(16);
    assert.equal(c.seen(t, 5), false);
    assert.equal(c.seen(t, 5), true);
    assert.equal(c.seen(Uint8Array.from(t), 5), true, 'by value, not by identity');
    assert.equal(c.seen(t.subarray(0), 5), true);
    assert.equal(c.size(), 1);
    const other = Uint8Array.from(t);
    other[15] = (other[15] as number) ^ 1;
    assert.equal(c.seen(other, 5), false, 'one bit different is another tag');
  });

  it('keeps the previous epoch after one rotation and forgets it after two; older epochs are refused', () => {
    const c = createReplayCache();
    const a = rng.bytes(16);
    const b = rng.bytes(16);
    assert.equal(c.seen(a, 1), false);
    assert.equal(c.seen(b, 2), false, 'rotates to epoch 2');
    assert.equal(c.seen(a, 1), true, 'epoch 1 is the previous epoch: still remembered');
    assert.equal(c.seen(rng.bytes(16), 1), false, 'new tags of the previous epoch are still accepted');
    assert.equal(c.seen(rng.bytes(16), 0), true, 'epoch 0 is retired');
    assert.equal(c.size(), 3);
    assert.equal(c.seen(rng.bytes(16), 3), false, 'rotates to 3: epoch 1 dropped');
    assert.equal(c.size(), 2);
    assert.equal(c.seen(a, 1), true, 'a tag of a retired epoch is refused, not accepted anew');
    assert.equal(c.seen(b, 2), true);
    assert.equal(c.seen(rng.bytes(16), 10), false, 'a jump of more than one epoch drops both sets');
    assert.equal(c.size(), 1);
    assert.equal(c.seen(b, 9), false, 'epoch 9 is now the (empty) previous epoch');
  });

  it('when an epoch is full it refuses new tags instead of forgetting old ones, until rotation', () => {
    const c = createReplayCache({ maxPerEpoch: 100 });
    const tags = Array.from({ length: 100 }, () => rng.bytes(16));
    for (const t of tags) assert.equal(c.seen(t, 7), false);
    for (let i = 0; i < 1000; i++) assert.equal(c.seen(rng.bytes(16), 7), true, 'full: refused');
    assert.equal(c.size(), 100, 'bounded');
    for (const t of tags) assert.equal(c.seen(t, 7), true, 'no flood flushed a recorded tag');
    assert.equal(c.seen(rng.bytes(16), 8), false, 'the next epoch has room');
    for (let i = 0; i < 150; i++) c.seen(rng.bytes(16), 8);
    assert.equal(c.size(), 200, 'at most two full epochs');
    assert.equal(c.seen(tags[0] as Uint8Array, 7), true, 'the previous epoch still refuses its tags');
  });

  it('rejects tags that are not 16 bytes and bad epochs', () => {
    const c = createReplayCache();
    assert.throws(() => c.seen(new Uint8Array(15), 0), { code: 'INVALID_LENGTH' });
    assert.throws(() => c.seen(new Uint8Array(16), -1), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => c.seen(new Uint8Array(16), 1.5), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => createReplayCache({ maxPerEpoch: 0 }), { code: 'INVALID_ARGUMENT' });
  });
});
