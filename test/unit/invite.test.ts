import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { systemRng } from '../../src/lib/system.ts';
import { fromBase64Url, toBase64Url } from '../../src/lib/bytes.ts';
import { CompeerError } from '../../src/lib/errors.ts';
import { code } from './throws.ts';
import { generateIdentity, userIdOf } from '../../src/protocol/identity.ts';
import { decodeInvite, encodeInvite, inviteToLink, INVITE_PREFIX, parseInviteLink, renderQr } from '../../src/protocol/invite.ts';

const id = generateIdentity(systemRng);
const PID = '12D3KooWGzDqQ3k8ZfYk5y8A7bqpVJkzQm6d9b8gSwx3u7c1X2Yz';
const secret = new Uint8Array(16).fill(7);


describe('invite', () => {
  test('round trip: identity, secret, addresses (same peer, max 4), name', () => {
    const addrs = [
      `/ip4/127.0.0.1/tcp/4001/p2p/${PID}`,
      `/ip4/192.168.1.5/tcp/4001/p2p/${PID}`,
      '/ip4/10.0.0.1/tcp/1', // no /p2p/: skipped
      `/ip4/10.0.0.2/tcp/1/p2p/12D3KooWOther1111111111111111111111111111111111111`, // another peer: skipped
      `/ip6/::1/tcp/4001/p2p/${PID}`,
      `/ip4/127.0.0.1/tcp/4002/ws/p2p/${PID}`,
      `/dns4/example.org/tcp/4001/p2p/${PID}`, // fifth of the peer: skipped
    ];
    const link = inviteToLink({ identity: id.public, secret, addresses: addrs, name: 'Alice ✓' });
    assert.ok(link.startsWith(INVITE_PREFIX));
    const inv = parseInviteLink(`  ${link}\n`);
    assert.equal(inv.userId, userIdOf(id.public));
    assert.deepEqual(inv.secret, secret);
    assert.deepEqual(inv.addresses, [addrs[0], addrs[1], addrs[4], addrs[5]]);
    assert.equal(inv.name, 'Alice ✓');
    assert.ok(link.length < 600, `link is ${link.length} chars`);
  });

  test('no addresses, no name: small', () => {
    const link = inviteToLink({ identity: id.public, secret, addresses: [] });
    const inv = parseInviteLink(link);
    assert.deepEqual(inv.addresses, []);
    assert.equal(inv.name, null);
    assert.ok(link.length < 230);
  });

  test('strict decode: version, truncation, trailing bytes, bad identity, bad name, limits', () => {
    const good = encodeInvite({ identity: id.public, secret, addresses: [`/ip4/127.0.0.1/tcp/1/p2p/${PID}`], name: 'a' });
    assert.ok(decodeInvite(good));
    const v = good.slice();
    v[0] = 2;
    assert.equal(code(() => decodeInvite(v)), 'UNSUPPORTED_VERSION');
    assert.equal(code(() => decodeInvite(good.subarray(0, good.length - 1))), 'INVALID_LENGTH');
    assert.equal(code(() => decodeInvite(new Uint8Array([...good, 0]))), 'INVALID_LENGTH');
    const badSig = good.slice();
    badSig[100] = (badSig[100] as number) ^ 1; // inside the binding signature
    assert.ok(['BAD_SIGNATURE', 'INVALID_KEY'].includes(code(() => decodeInvite(badSig))));
    const ctl = good.slice();
    ctl[ctl.length - 1] = 0x07; // name "\a"
    assert.equal(code(() => decodeInvite(ctl)), 'MALFORMED_MESSAGE');
    assert.equal(code(() => parseInviteLink('https://example.org')), 'INVALID_ENCODING');
    assert.equal(code(() => parseInviteLink(INVITE_PREFIX + '!!')), 'INVALID_ENCODING');
    assert.equal(code(() => parseInviteLink(INVITE_PREFIX + 'A'.repeat(5000))), 'LIMIT_EXCEEDED');
    assert.equal(code(() => parseInviteLink(INVITE_PREFIX)), 'INVALID_LENGTH');
    assert.equal(code(() => encodeInvite({ identity: id.public, secret, addresses: [], name: 'x'.repeat(65) })), 'INVALID_ARGUMENT');
    assert.equal(code(() => encodeInvite({ identity: id.public, secret: new Uint8Array(15), addresses: [] })), 'INVALID_LENGTH');
    // An address count above 4 is refused.
    const noAddr = encodeInvite({ identity: id.public, secret, addresses: [] });
    const many = noAddr.slice();
    many[146] = 0; // peer id length stays 0
    many[147] = 5;
    assert.equal(code(() => decodeInvite(many)), 'MALFORMED_MESSAGE');
  });

  test('every truncation and single-byte flip of a link fails with a typed error or decodes', () => {
    const good = encodeInvite({ identity: id.public, secret, addresses: [`/ip4/127.0.0.1/tcp/1/p2p/${PID}`], name: 'bob' });
    for (let i = 0; i < good.length; i++) {
      code(() => decodeInvite(good.subarray(0, i)));
      const f = good.slice();
      f[i] = (f[i] as number) ^ 0x80;
      try {
        decodeInvite(f);
      } catch (e) {
        assert.ok(e instanceof CompeerError);
      }
    }
    assert.ok(toBase64Url(fromBase64Url(toBase64Url(good))));
  });

  test('renderQr draws half blocks, 2 rows per line', () => {
    const link = inviteToLink({ identity: id.public, secret, addresses: [`/ip4/127.0.0.1/tcp/4001/p2p/${PID}`] });
    const qr = renderQr(link);
    const lines = qr.split('\n');
    assert.ok(lines.length > 10);
    assert.ok(/^[█▀▄ ]+$/u.test(lines.join('')));
    assert.equal(new Set(lines.map((l) => [...l].length)).size, 1);
  });
});
