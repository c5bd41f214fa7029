/**
 * Direct delivery (outbound.ts, route `direct`): envelopes go to the contact's known peers as
 * `/compeer/msg/1` requests, as few as the request limit allows (a message batch,
 * src/protocol/wire/msg-batch.ts: one receiver commit and one ack for all of them, docs/perf-node.md T6);
 * the response is the contact's ack, a session message in a sealed envelope, applied here.
 */
import { equalBytes } from '../lib/bytes.ts';
import type { Clock } from '../lib/deps.ts';
import { ErrorCodes, ProtocolError } from '../lib/errors.ts';
import { errorOf, type Logger } from '../lib/log.ts';
import { encodePublicIdentity } from '../protocol/identity.ts';
import { encodeSessionSet, setDecrypt } from '../protocol/session-set.ts';
import { openEnvelope, SEALED_MAX_LENGTH } from '../protocol/sealed/envelope.ts';
import { decodeAppMessage } from '../protocol/wire/app-message.ts';
import { batchSize, encodeMsgBatch, MSG_BATCH_MAX, MSG_BATCH_MAX_BYTES } from '../protocol/wire/msg-batch.ts';
import type { NetNode } from '../net/index.ts';
import type { CompeerEvent } from './types.ts';
import type { NodeStore } from './node-store.ts';
import type { SessionIo } from './session-io.ts';
import type { NetworkState } from './network-state.ts';

export const MSG_PROTOCOL = '/compeer/msg/1';

export interface DirectDeps {
  readonly store: NodeStore;
  readonly net: NetNode;
  readonly io: SessionIo;
  readonly clock: Clock;
  readonly log: Logger;
  readonly emit: (events: readonly CompeerEvent[]) => void;
  readonly requestTimeoutMs: number;
  readonly network?: Pick<NetworkState, 'reach' | 'ack'>;
}

/** Sends `envelopes` to the contact; says per envelope whether its request reached the contact's node. */
export type Direct = (contact: string, envelopes: readonly Uint8Array[]) => Promise<{ reached: boolean[]; acked: Set<string> }>;

export function createDirect(d: DirectDeps, peersOf: (contact: string) => Iterable<readonly [string, readonly string[]]>): Direct {
  const { store, net, io, clock, log } = d;
  const own = store.identity;

  /** Handles the response to a direct request; returns the ids it acked. */
  const onResponse = (contact: string, res: Uint8Array, sentAt: number): Set<string> => {
    const events: CompeerEvent[] = [];
    let done = new Set<string>();
    if (res.length === 0) return done;
    try {
      const { sender, content } = openEnvelope(own, res);
      const c = store.contacts.get(contact);
      if (!c || !equalBytes(c.publicKey, encodePublicIdentity(sender))) throw new ProtocolError(ErrorCodes.UNTRUSTED_IDENTITY, 'ack from another identity');
      const now = clock();
      done = store.transaction(() => {
        const set = io.loadSet(contact);
        if (!set) throw new ProtocolError(ErrorCodes.NO_SESSION, 'ack without a session');
        const noNewSession = (): never => {
          throw new ProtocolError(ErrorCodes.UNEXPECTED_MESSAGE, 'a response does not start a session');
        };
        const app = decodeAppMessage(setDecrypt(set, content, now, noNewSession).plaintext);
        if (app.type !== 'ack') throw new ProtocolError(ErrorCodes.UNEXPECTED_MESSAGE, 'response is not an ack');
        store.sessions.put(contact, encodeSessionSet(set), now);
        return io.applyAcks(contact, app.ids, events);
        // Not fsync'd on its own: lost in a power cut, this is an ack lost on the wire (the entries go
        // again and are deduplicated); the next send's durable commit syncs it (src/store/sql.ts).
      }, { durable: false });
      if (done.size > 0) d.network?.ack(clock() - sentAt);
    } catch (e) {
      log.warn('ack refused', { contact, error: errorOf(e) });
    }
    d.emit(events);
    return done;
  };


  /** Direct: the contact's peers one by one until one acks. */
  const directOne = async (contact: string, request: Uint8Array): Promise<{ reached: boolean; acked: Set<string> }> => {
    let reached = false;
    let acked = new Set<string>();
    for (const [peer, addrs] of peersOf(contact)) {
      const sentAt = clock();
      let res: Uint8Array;
      try {
        res = await net.request(peer, addrs, MSG_PROTOCOL, request, { timeoutMs: d.requestTimeoutMs, maxResponseBytes: SEALED_MAX_LENGTH });
      } catch (e) {
        log.debug('delivery attempt failed', { contact, peer, error: errorOf(e) });
        d.network?.reach(peer, false, addrs);
        continue;
      }
      d.network?.reach(peer, true, addrs);
      reached = true;
      acked = onResponse(contact, res, sentAt);
      if (acked.size > 0) break;
    }
    return { reached, acked };
  };

  /**
   * Direct, several envelopes: as few `/compeer/msg/1` requests as the request limit allows (a message
   * batch, src/protocol/wire/msg-batch.ts: one receiver commit and one ack for all of them, T6); says
   * per envelope whether its request reached the contact's node.
   */
  const direct = async (contact: string, envelopes: readonly Uint8Array[]): Promise<{ reached: boolean[]; acked: Set<string> }> => {
    const reached = envelopes.map(() => false);
    const acked = new Set<string>();
    let group: number[] = [];
    const send = async (): Promise<void> => {
      const r = await directOne(contact, encodeMsgBatch(group.map((i) => envelopes[i] as Uint8Array)));
      for (const i of group) reached[i] = r.reached;
      for (const id of r.acked) acked.add(id);
      group = [];
    };
    for (const [i, e] of envelopes.entries()) {
      const lengths = [...group.map((j) => (envelopes[j] as Uint8Array).length), e.length];
      if (group.length > 0 && (group.length >= MSG_BATCH_MAX || batchSize(lengths) > MSG_BATCH_MAX_BYTES)) await send();
      group.push(i);
    }
    if (group.length > 0) await send();
    return { reached, acked };
  };

  return direct;
}
