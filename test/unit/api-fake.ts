/**
 * A small in-memory CompeerApi for API and CLI tests (a test double: never used by src/).
 * "Sending" stores an outgoing message and emits its events; `deliver` simulates an incoming one.
 * Contact arguments resolve like the real node's: a name, or a unique prefix of a user ID.
 */
import { CompeerError, ErrorCodes } from '../../src/lib/errors.ts';
import type { CompeerApi, CompeerEvent, ContactInfo, IdentityInfo, MessageInfo, MessagesQuery, PeerInfo, StatusInfo } from '../../src/node/types.ts';

export interface FakeApi extends CompeerApi {
  readonly calls: string[];
  deliver(contact: string, text: string): MessageInfo;
  emit(event: CompeerEvent): void;
  listeners(): number;
  /** Makes the next call throw this. */
  failNext(err: unknown): void;
}

export const FAKE_ID: IdentityInfo = {
  userId: 'aaaabbbbccccddddeeeeffffgggghhhh',
  name: 'alice',
  safetyFingerprint: '0123 4567 89ab cdef',
  invite: 'compeer://invite/fake',
  addresses: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWfake'],
};

export function fakeApi(): FakeApi {
  const contacts: ContactInfo[] = [];
  const messages: MessageInfo[] = [];
  const listeners = new Set<(e: CompeerEvent) => void>();
  const calls: string[] = [];
  let next = 0;
  let failure: unknown;

  const enter = (name: string): void => {
    calls.push(name);
    if (failure !== undefined) {
      const f = failure;
      failure = undefined;
      throw f;
    }
  };
  const emit = (e: CompeerEvent): void => {
    for (const l of listeners) l(e);
  };
  const resolve = (c: string): ContactInfo => {
    const byName = contacts.filter((x) => x.name === c);
    const found = byName.length > 0 ? byName : contacts.filter((x) => x.userId.startsWith(c));
    if (found.length === 0) throw new CompeerError(ErrorCodes.NOT_FOUND, 'no such contact');
    if (found.length > 1) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'ambiguous contact');
    return found[0] as ContactInfo;
  };
  const list = (userId: string): MessageInfo[] => messages.filter((m) => m.contact === userId);

  return {
    calls,
    listeners: () => listeners.size,
    failNext: (err) => void (failure = err),
    emit,
    async id(opts) {
      enter(opts?.forContact === undefined ? 'id' : `id:for:${opts.forContact}`);
      return FAKE_ID;
    },
    async addContact(invite, name) {
      enter('addContact');
      if (!invite.startsWith('compeer://')) throw new CompeerError(ErrorCodes.INVALID_ENCODING, 'not a compeer:// invite');
      const userId = `${invite.slice(10, 18).replace(/[^a-z2-7]/g, 'x')}${'q'.repeat(24)}`;
      if (contacts.some((c) => c.userId === userId)) throw new CompeerError(ErrorCodes.ALREADY_EXISTS, 'contact exists');
      const c: ContactInfo = { userId, name: name ?? null, verified: false, keyChanged: false };
      contacts.push(c);
      emit({ type: 'contact', contact: c });
      return { userId, name: c.name };
    },
    async contacts() {
      enter('contacts');
      return contacts;
    },
    async send(contact, text, opts) {
      enter('send');
      const c = resolve(contact);
      const m: MessageInfo = { id: `m${next++}`, contact: c.userId, direction: 'out', text, status: 'queued', sentAt: 1_700_000_000_000, receivedAt: null };
      messages.push(m);
      if (opts?.ttlMs !== undefined) calls.push(`ttl:${opts.ttlMs}`);
      queueMicrotask(() => {
        m.status = 'delivered';
        emit({ type: 'status', id: m.id, contact: c.userId, status: 'delivered' });
      });
      return { id: m.id, status: 'queued' };
    },
    async messages(contact, query?: MessagesQuery) {
      enter('messages');
      const c = resolve(contact);
      const want = query?.count ?? 1;
      const deadline = Date.now() + (query?.waitMs ?? 0);
      while (list(c.userId).length < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const all = list(c.userId);
      return query?.count === undefined ? all : all.slice(-query.count);
    },
    async verify(contact, confirm) {
      enter('verify');
      const c = resolve(contact);
      if (confirm) {
        c.verified = true;
        c.keyChanged = false;
      }
      return { safetyNumber: '12345 '.repeat(12).trim(), sas: null, verified: c.verified };
    },
    async peers(): Promise<PeerInfo[]> {
      enter('peers');
      return [{ peerId: '12D3KooWpeer', addresses: ['/ip4/127.0.0.1/tcp/1'], lastSeen: 1_700_000_000_000, score: 0.5 }];
    },
    async status(): Promise<StatusInfo> {
      enter('status');
      return { state: 'online', reason: 'fake', peers: 1, outbox: { queued: 0, held: 0 } };
    },
    on(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    deliver(contact, text) {
      const c = resolve(contact);
      const m: MessageInfo = { id: `m${next++}`, contact: c.userId, direction: 'in', text, status: 'delivered', sentAt: 1_700_000_000_000, receivedAt: 1_700_000_000_500 };
      messages.push(m);
      emit({ type: 'message', message: m });
      return m;
    },
  };
}
