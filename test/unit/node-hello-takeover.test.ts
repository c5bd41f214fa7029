/**
 * Who may move a contact to a new identity (src/node/invites.ts, messaging.ts acceptHello). Found by
 * fuzz11 (27 Nov): a stranger holding ANY unused invite sent a hello named like an existing contact, and
 * that contact was rebound to the stranger's key — the stranger's texts shown as Carol's, a verified
 * contact unverified. Now only an invite issued for that contact (`id({ forContact })`, `compeer id
 * --for`) moves it; any other hello makes a new contact, without a name when its name is taken.
 * Real node over loopback; the stranger is driven by hand (its own PQXDH session, sealed envelopes).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { systemRng } from '../../src/lib/system.ts';
import type { NetNode } from '../../src/net/index.ts';
import { BUNDLE_PROTOCOL, bundleRequest } from '../../src/node/bundles.ts';
import { MSG_PROTOCOL } from '../../src/node/messaging.ts';
import { decodePrekeyBundle } from '../../src/protocol/handshake/bundle.ts';
import { encodePublicIdentity, generateIdentity, userIdOf, type IdentityKeyPair } from '../../src/protocol/identity.ts';
import { inviteToLink, parseInviteLink } from '../../src/protocol/invite.ts';
import { sealEnvelope } from '../../src/protocol/sealed/envelope.ts';
import { initiateSession, sessionEncrypt } from '../../src/protocol/session.ts';
import { encodeAppMessage } from '../../src/protocol/wire/app-message.ts';
import { startNode } from './net-helpers.ts';
import { startCompeer, type TestNode } from './node-helpers.ts';

describe('node: a hello moves a contact to a new identity only with an invite issued for it', () => {
  const stops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const s of stops) await s().catch(() => {});
  });

  /** Bob with a contact Carol (added from her invite); a bare libp2p node to talk as anyone. */
  const setup = async (): Promise<{ bob: TestNode; carrier: NetNode; carol: IdentityKeyPair }> => {
    const bob = await startCompeer('bob');
    const carrier = await startNode();
    stops.push(() => bob.node.stop(), () => carrier.stop());
    const carol = generateIdentity(systemRng);
    await bob.node.addContact(inviteToLink({ identity: carol.public, secret: systemRng.bytes(16), addresses: [], name: 'carol' }), 'carol');
    return { bob, carrier, carol };
  };

  /** `who` sends Bob a hello with `invite` under `name`, and a text, in one envelope. */
  const hello = async (bob: TestNode, carrier: NetNode, who: IdentityKeyPair, invite: string, name: string, text: string): Promise<void> => {
    const secret = parseInviteLink(invite).secret;
    const bundle = decodePrekeyBundle(await carrier.request(bob.node.peerId, bob.node.net.addresses(), BUNDLE_PROTOCOL, bundleRequest(bob.node.userId), { timeoutMs: 10_000 }));
    const session = initiateSession(who, bundle, systemRng);
    const app = encodeAppMessage({
      type: 'batch',
      messages: [
        { type: 'hello', id: systemRng.bytes(16), inviteSecret: secret, name },
        { type: 'text', id: systemRng.bytes(16), sentAt: Date.now(), text },
      ],
    });
    const envelope = sealEnvelope(who, bob.store.identity.public, sessionEncrypt(session, app, systemRng), systemRng);
    await carrier.request(bob.node.peerId, bob.node.net.addresses(), MSG_PROTOCOL, envelope, { timeoutMs: 10_000 });
  };

  test("any other invite: a stranger named like Carol becomes a new contact without a name; Carol's record untouched", async () => {
    const { bob, carrier, carol } = await setup();
    const mallory = generateIdentity(systemRng);
    await hello(bob, carrier, mallory, (await bob.node.id()).invite, 'carol', 'it is me, carol, new phone');
    const contacts = await bob.node.contacts();
    const c = contacts.find((x) => x.name === 'carol');
    assert.deepEqual([c?.userId, c?.keyChanged], [userIdOf(carol.public), false], 'Carol keeps her key');
    assert.deepEqual(bob.store.contacts.get(userIdOf(carol.public))?.publicKey, encodePublicIdentity(carol.public));
    const stranger = contacts.find((x) => x.userId === userIdOf(mallory.public));
    assert.equal(stranger?.name, null, 'a new contact, its claimed name taken');
    assert.deepEqual(await bob.node.messages('carol'), [], "nothing shown as Carol's");
    assert.equal((await bob.node.messages(userIdOf(mallory.public))).at(-1)?.text, 'it is me, carol, new phone');
    assert.equal(bob.logs.find("hello: its name is another contact's: added without a name").length, 1);
  });

  test("an invite issued for Carol: her hello from a new identity moves her contact, flagged as a key change", async () => {
    const { bob, carrier, carol } = await setup();
    const carolAgain = generateIdentity(systemRng);
    await hello(bob, carrier, carolAgain, (await bob.node.id({ forContact: 'carol' })).invite, 'whatever name', 'new keys, same carol');
    const c = (await bob.node.contacts()).find((x) => x.userId === userIdOf(carol.public));
    assert.deepEqual([c?.name, c?.keyChanged], ['carol', true]);
    assert.deepEqual(bob.store.contacts.get(userIdOf(carol.public))?.publicKey, encodePublicIdentity(carolAgain.public));
    assert.equal((await bob.node.messages('carol')).at(-1)?.text, 'new keys, same carol');
    assert.equal((await bob.node.contacts()).length, 1, 'no second contact');
  });
});
