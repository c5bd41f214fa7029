/**
 * Fuzz of invites (src/protocol/invite.ts): the binary invite and the `compeer://invite/…` link a user
 * pastes — random text, mutated links (characters changed, cut, doubled, whitespace, other schemes) and
 * mutated binary invites decode or fail typed; a decoded invite encodes to an invite that decodes to
 * the same value. (Not byte-canonical: a peer ID without addresses is accepted and dropped.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sha256 } from '../../src/crypto/hash.ts';
import { utf8 } from '../../src/lib/bytes.ts';
import { deterministicRng } from '../../src/lib/deps.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { decodeInvite, encodeInvite, INVITE_MAX_LINK_LENGTH, INVITE_PREFIX, inviteToLink, parseInviteLink, type Invite } from '../../src/protocol/invite.ts';
import { attempt, checkEncodes, fuzzCodec, params, textArb } from './_fuzz.ts';

const rng = deterministicRng(sha256(utf8('compeer/fuzz/invite')), sha256);
const identity = generateIdentity(rng).public;
const pid = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN';
const inputs = [
  { identity, secret: rng.bytes(16), addresses: [] },
  { identity, secret: rng.bytes(16), addresses: [`/ip4/192.168.1.2/tcp/4001/p2p/${pid}`, `/ip6/::1/udp/4001/quic-v1/p2p/${pid}`], name: 'Alice' },
  {
    identity,
    secret: rng.bytes(16),
    addresses: Array.from({ length: 4 }, (_, i) => `/dns4/${String(i).repeat(180)}/tcp/1/p2p/${pid}`),
    name: 'ü'.repeat(32),
  },
];

function reencodes(v: Invite): void {
  const again = decodeInvite(encodeInvite(v));
  assert.deepEqual(again, v, 'a decoded invite round-trips');
}

describe('fuzz: invites (src/protocol/invite.ts)', () => {
  fuzzCodec(it, { name: 'binary invite', decode: decodeInvite, samples: inputs.map(encodeInvite), extra: reencodes, mutationRuns: 1600 });

  const links = inputs.map(inviteToLink);
  const linkChar = fc.constantFrom(...'ABCxyz019-_+/= \n\t:.%', '\u00e9', '\u{1F600}', '\u0000');
  const linkMutation = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), pos: fc.nat(), ch: linkChar }),
    fc.record({ kind: fc.constant('cut' as const), pos: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), pos: fc.nat(), s: fc.string({ maxLength: 8 }) }),
    fc.record({ kind: fc.constant('double' as const) }),
    fc.record({ kind: fc.constant('scheme' as const), s: fc.constantFrom('', 'COMPEER://invite/', 'compeer://invite', 'https://x/', ' compeer://invite/') }),
  );
  type LinkMutation = typeof linkMutation extends fc.Arbitrary<infer T> ? T : never;
  const applyLink = (l: string, m: LinkMutation): string => {
    const at = (p: number): number => p % (l.length + 1);
    switch (m.kind) {
      case 'set':
        return l.slice(0, at(m.pos)) + m.ch + l.slice(at(m.pos) + 1);
      case 'cut':
        return l.slice(0, at(m.pos));
      case 'insert':
        return l.slice(0, at(m.pos)) + m.s + l.slice(at(m.pos));
      case 'double':
        return l + l.slice(INVITE_PREFIX.length);
      case 'scheme':
        return m.s + l.slice(INVITE_PREFIX.length);
    }
  };
  const checkLink = (l: string): void => {
    const r = attempt(`parseInviteLink(${JSON.stringify(l.slice(0, 80))})`, () => parseInviteLink(l));
    if (r.ok) reencodes(r.value);
  };

  it('invite link: the valid links parse', () => {
    for (const l of links) assert.ok(parseInviteLink(`  ${l}\n`));
  });
  it('invite link: random text, with and without the prefix, parses or fails typed', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.string({ maxLength: 300, unit: fc.constantFrom('grapheme', 'binary', 'grapheme-ascii') }), (prefix, s) => checkLink(prefix ? INVITE_PREFIX + s : s)),
      params(400),
    );
    checkLink('x'.repeat(INVITE_MAX_LINK_LENGTH + 1));
    checkLink(INVITE_PREFIX + 'A'.repeat(INVITE_MAX_LINK_LENGTH));
  });
  it('invite link: mutated links parse or fail typed', () => {
    fc.assert(
      fc.property(fc.nat({ max: links.length - 1 }), fc.array(linkMutation, { minLength: 1, maxLength: 3 }), (i, ms) =>
        checkLink(ms.reduce(applyLink, links[i] as string)),
      ),
      params(800),
    );
  });
});

describe('fuzz: invites built from arbitrary values (encoder and decoder agree)', () => {
  it('every invite input either encodes to an invite that decodes to what it kept, or is refused typed', () => {
    const address = fc.oneof(
      textArb(40),
      fc.tuple(fc.stringMatching(/^\/[\x21-\x7e]{1,210}$/), fc.constantFrom(pid, '12D3KooWOther', '', 'not base58 0OIl')).map(([h, p]) => `${h}/p2p/${p}`),
    );
    fc.assert(
      fc.property(fc.array(address, { maxLength: 6 }), fc.option(textArb(70), { nil: null }), (addresses, name) => {
        const input = { identity, secret: rng.bytes(16), addresses, name };
        // What the invite keeps: the addresses of the first usable peer ID (at most 4), checked by decoding.
        checkEncodes('invite', input, encodeInvite, decodeInvite, (v) => ({ ...decodeInvite(encodeInvite(v)), name: v.name ?? null }));
      }),
      params(1000),
    );
  });
});
