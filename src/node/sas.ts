/**
 * SAS verification between the node and a contact (docs/protocol.md "Verification"; src/protocol/verify/
 * sas.ts): `compeer verify <contact>` starts one — COMMIT, NONCE and REVEAL travel as `sas` app messages
 * inside the session, through the outbox like any message — and both sides then show the same emoji and
 * digits when no one sits in the middle. The session's PQXDH transcript hash binds the SAS to the keys
 * both sides actually hold. Kept in memory only: a restart ends a verification (start a new one).
 * When both sides start at once, the side with the smaller user ID stays the initiator and the other
 * answers its COMMIT instead (one verification, not two that fail each other).
 * This module knows nothing of the network; it turns received SAS messages into replies to queue.
 */
import type { Clock, Rng } from '../lib/deps.ts';
import type { Logger } from '../lib/log.ts';
import { userIdOf, type IdentityKeyPair, type PublicIdentity } from '../protocol/identity.ts';
import { decodeSessionSet } from '../protocol/session-set.ts';
import { decodeSasMessage, SasVerification, type SasResult } from '../protocol/verify/sas.ts';
import { formatSasDecimal, formatSasEmoji } from '../protocol/verify/sas-render.ts';
import { SAS_MSG_COMMIT } from '../protocol/wire/constants.ts';
import type { Messaging } from './messaging.ts';
import { SAS_TTL_MS } from './messaging.ts';
import type { NodeStore } from './node-store.ts';
import { newMessageId } from './session-io.ts';

export interface SasParty {
  readonly self: PublicIdentity;
  readonly selfUserId: string;
  readonly peer: PublicIdentity;
  readonly peerUserId: string;
  readonly transcriptHash: Uint8Array;
}

export interface SasCoordinator {
  /** Starts a verification with a contact; returns the COMMIT to queue (undefined: one is running or done). */
  start(contact: string, party: SasParty, restart: boolean): Uint8Array | undefined;
  /** A SAS message from a contact; returns the reply to queue, if any. Never throws (a bad one ends the verification). */
  receive(contact: string, party: () => SasParty | undefined, bytes: Uint8Array): Uint8Array | undefined;
  /** The SAS to compare, once both sides have it ("🐶 🔑 … · 1234 5678 9012"), else null. */
  result(contact: string): string | null;
  /** Resolves when the contact's verification completes or fails (or after `ms`). */
  settled(contact: string, ms: number): Promise<void>;
}

export function formatSas(r: SasResult): string {
  return `${formatSasEmoji(r.emoji)} · ${formatSasDecimal(r.decimal)}`;
}

export function createSasCoordinator(rng: Rng, log: Logger): SasCoordinator {
  const running = new Map<string, SasVerification>();
  const waiters = new Map<string, Set<() => void>>();
  const wake = (contact: string): void => {
    const v = running.get(contact);
    if (v && v.phase !== 'done' && v.phase !== 'failed') return;
    for (const w of waiters.get(contact) ?? []) w();
    waiters.delete(contact);
  };

  return {
    start(contact, party, restart) {
      const current = running.get(contact);
      if (current && !restart && current.phase !== 'failed') return undefined;
      const { verification, message } = SasVerification.initiate({ self: party.self, peer: party.peer, transcriptHash: party.transcriptHash }, rng);
      running.set(contact, verification);
      return message;
    },
    receive(contact, party, bytes) {
      let v = running.get(contact);
      let commit = false;
      try {
        commit = decodeSasMessage(bytes).type === SAS_MSG_COMMIT;
      } catch {
        // left to the verification's own decode, which fails it with the reason
      }
      const p = party();
      if (!p) return undefined;
      // A COMMIT starts the responder side — unless we are an initiator that wins the tie (smaller ID).
      const weWin = v?.role === 'initiator' && v.phase === 'awaiting-nonce' && p.selfUserId < p.peerUserId;
      if (commit && !weWin && (!v || v.role === 'initiator' || v.phase === 'done' || v.phase === 'failed')) {
        v = SasVerification.respond({ self: p.self, peer: p.peer, transcriptHash: p.transcriptHash }, rng);
        running.set(contact, v);
      }
      if (!v || (commit && weWin)) return undefined;
      try {
        return v.receive(bytes);
      } catch (e) {
        log.warn('SAS verification failed', { contact, error: e instanceof Error ? e : String(e) });
        return undefined;
      } finally {
        wake(contact);
      }
    },
    result(contact) {
      const r = running.get(contact)?.result;
      return r ? formatSas(r) : null;
    },
    settled(contact, ms) {
      const v = running.get(contact);
      if (!v || v.phase === 'done' || v.phase === 'failed') return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(done, ms);
        const set = waiters.get(contact) ?? new Set();
        set.add(done);
        waiters.set(contact, set);
        function done(): void {
          clearTimeout(timer);
          set.delete(done);
          resolve();
        }
      });
    },
  };
}

export interface RunSasDeps {
  readonly store: NodeStore;
  readonly msg: Messaging;
  readonly sas: SasCoordinator;
  readonly own: IdentityKeyPair;
  readonly rng: Rng;
  readonly clock: Clock;
}

/** Starts (or joins) a SAS verification with a contact over its active session and waits up to `waitMs`. */
export async function runSas(d: RunSasDeps, contact: string, waitMs: number): Promise<void> {
  const raw = d.store.sessions.get(contact);
  const active = raw === undefined ? undefined : decodeSessionSet(raw).active;
  if (!active) return; // no session yet: nothing to verify over (the safety number still works)
  const party = { self: d.own.public, selfUserId: userIdOf(d.own.public), peer: active.remoteIdentity, peerUserId: userIdOf(active.remoteIdentity), transcriptHash: active.transcriptHash };
  const commit = d.sas.start(contact, party, false);
  if (commit) {
    d.store.transaction(() => d.msg.enqueue(contact, { type: 'sas', id: newMessageId(d.rng), message: commit }, d.clock() + SAS_TTL_MS));
    void d.msg.flush(contact, true);
  }
  await d.sas.settled(contact, waitMs);
}
