/**
 * Human-readable text for the API's DTOs (what commands print without --json).
 * Everything that came from the network (names, message text, addresses) goes through `safe`, so a
 * contact cannot rewrite the terminal with escape sequences. JSON output needs none of this:
 * JSON.stringify escapes control characters.
 */
import type { ContactInfo, IdentityInfo, MessageInfo, PeerInfo, StatusInfo, VerifyInfo } from '../node/types.ts';

/** Control characters (except newline and tab) shown as U+FFFD, and bidi overrides removed. */
export function safe(s: string): string {
  return s.replace(/\p{Cc}/gu, (c) => (c === '\n' || c === '\t' ? c : '\uFFFD')).replace(/[\u202a-\u202e\u2066-\u2069]/g, '');
}

const time = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'));

export function formatId(i: IdentityInfo): string {
  const addrs = i.addresses.length === 0 ? ['(none yet)'] : i.addresses.map(safe);
  return [
    `user ID      ${i.userId}`,
    `name         ${i.name === null ? '(none)' : safe(i.name)}`,
    `fingerprint  ${i.safetyFingerprint}`,
    `addresses    ${addrs.join('\n             ')}`,
    `invite       ${i.invite}`,
  ].join('\n');
}

export function contactLabel(c: { userId: string; name: string | null }): string {
  return c.name === null ? c.userId : `${safe(c.name)} (${c.userId})`;
}

export function formatContacts(list: readonly ContactInfo[]): string {
  if (list.length === 0) return '(no contacts; add one with `compeer add <invite>`)';
  return list
    .map((c) => {
      const flags = [c.verified ? 'verified' : 'unverified', ...(c.keyChanged ? ['KEY CHANGED: run `compeer verify`'] : [])];
      return `${(c.name === null ? '-' : safe(c.name)).padEnd(16)} ${c.userId}  ${flags.join(', ')}`;
    })
    .join('\n');
}

export function formatMessage(m: MessageInfo): string {
  const arrow = m.direction === 'out' ? '→' : '←';
  const when = time(m.direction === 'out' ? m.sentAt : m.receivedAt);
  const status = m.direction === 'out' ? `  [${m.status}]` : '';
  return `${when} ${arrow} ${safe(m.text)}${status}`;
}

export function formatMessages(list: readonly MessageInfo[]): string {
  return list.length === 0 ? '(no messages)' : list.map(formatMessage).join('\n');
}

export function formatVerify(v: VerifyInfo, contact: string): string {
  const groups = v.safetyNumber.match(/\d{5}/g) ?? [v.safetyNumber];
  const rows = [groups.slice(0, 4), groups.slice(4, 8), groups.slice(8, 12)].map((r) => `  ${r.join(' ')}`);
  return [
    `Safety number with ${safe(contact)}:`,
    ...rows,
    ...(v.sas === null ? [] : [`SAS: ${safe(v.sas)}`]),
    v.verified ? 'Verified.' : 'Not verified. Compare the number with your contact (in person or on a call), then run `compeer verify <contact> --confirm`.',
  ].join('\n');
}

export function formatPeers(list: readonly PeerInfo[]): string {
  if (list.length === 0) return '(no peers known)';
  return list.map((p) => `${p.peerId}  score ${p.score.toFixed(2)}  seen ${time(p.lastSeen)}\n  ${p.addresses.map(safe).join('\n  ')}`).join('\n');
}

export function formatStatus(s: StatusInfo): string {
  return [`state   ${s.state} (${safe(s.reason)})`, `peers   ${s.peers}`, `outbox  ${s.outbox.queued} queued, ${s.outbox.held} held`].join('\n');
}
