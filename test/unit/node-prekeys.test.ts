import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { systemRng } from '../../src/lib/system.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { decodePrekeyBundle } from '../../src/protocol/handshake/bundle.ts';
import { ONE_TIME_PREKEY_LOW_WATERMARK, ONE_TIME_PREKEY_TARGET, SIGNED_PREKEY_GRACE_MS, SIGNED_PREKEY_ROTATION_MS } from '../../src/protocol/wire/constants.ts';
import { memoryNodeStore } from '../../src/node/node-store.ts';
import { createPrekeyManager } from '../../src/node/prekeys.ts';
import { bundleDhtKey, bundleNamespace } from '../../src/node/bundles.ts';

describe('node: prekey lifecycle', () => {
  test('first start, served vs published bundles, refill, rotation, grace period', () => {
    const store = memoryNodeStore(generateIdentity(systemRng), 'p');
    const pm = createPrekeyManager(store, systemRng);
    let now = 1_700_000_000_000;
    assert.equal(pm.maintain(now), true, 'first run makes an SPK');
    assert.equal(store.prekeys.availableOneTimePrekeys(), ONE_TIME_PREKEY_TARGET);
    assert.equal(store.prekeys.availableOneTimeKemPrekeys(), ONE_TIME_PREKEY_TARGET);
    assert.equal(pm.maintain(now), false, 'nothing due');

    const served = decodePrekeyBundle(pm.served(now));
    assert.ok(served.oneTimePrekey, 'a served bundle names a one-time prekey');
    assert.equal(served.kemPrekey.kind, 'one-time');
    const published = decodePrekeyBundle(pm.published(now));
    assert.equal(published.oneTimePrekey, undefined, 'the DHT bundle names no one-time prekey');
    assert.equal(published.kemPrekey.kind, 'last-resort');
    assert.doesNotThrow(() => bundleNamespace.validate(bundleDhtKey(published.userId), pm.published(now)));

    // Drain below the watermark: the next maintenance refills to the target.
    while (store.prekeys.availableOneTimePrekeys() >= ONE_TIME_PREKEY_LOW_WATERMARK) pm.served(now);
    pm.maintain(now);
    assert.equal(store.prekeys.availableOneTimePrekeys(), ONE_TIME_PREKEY_TARGET);

    // Rotation after a week: new SPK and last-resort key; the old SPK stays through the grace period.
    const oldSpk = published.signedPrekey.id;
    now += SIGNED_PREKEY_ROTATION_MS;
    assert.equal(pm.maintain(now), true);
    const rotated = decodePrekeyBundle(pm.published(now));
    assert.notEqual(rotated.signedPrekey.id, oldSpk);
    assert.notEqual(rotated.kemPrekey.id, published.kemPrekey.id);
    assert.ok(store.prekeys.getSignedPrekey(oldSpk), 'kept during the grace period');
    now += SIGNED_PREKEY_GRACE_MS + 1;
    pm.maintain(now);
    assert.equal(store.prekeys.getSignedPrekey(oldSpk), undefined, 'deleted after the grace period');
    assert.ok(store.prekeys.getSignedPrekey(rotated.signedPrekey.id), 'the next one is kept');
  });
});
