/**
 * Publish/subscribe over gossipsub with our own narrow types.
 *
 * Inbound pipeline, per message: 1. size limit 2. per-origin token bucket for the topic (excess is
 * ignored — not rejected, since honest peers forward floods too) 3. the subscriber's `validate` 4. only an
 * accepted message is delivered to local callbacks and forwarded by gossipsub.
 *
 * Messages are signed by the origin's node key (gossipsub StrictSign, libp2p verifies), so `from` is the
 * origin, not the neighbour that forwarded it. This module does not know what a message means.
 */
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub';
import type { Clock } from '../lib/deps.ts';
import { CompeerError, ErrorCodes, LimitError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { createTokenBuckets, type RateLimit, type TokenBuckets } from './rate-limit.ts';
import type { GossipHandler, GossipVerdict, PeerIdString, SubscribeOptions } from './types.ts';

export const DEFAULT_MAX_GOSSIP_BYTES = 16 * 1024;
export const DEFAULT_GOSSIP_RATE_LIMIT: RateLimit = { perSecond: 10, burst: 20 };

const VERDICT: Record<GossipVerdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
};

export interface Gossip {
  publish(topic: string, bytes: Uint8Array): Promise<number>;
  /** Works before start: the subscription is made with gossipsub when the node starts. */
  subscribe(topic: string, cb: GossipHandler, opts?: SubscribeOptions): () => void;
  /** After gossipsub started (again): (re)subscribe every topic that has subscribers. */
  started(): void;
  stopped(): void;
}

interface Topic {
  readonly callbacks: Set<GossipHandler>;
  readonly validators: Set<NonNullable<SubscribeOptions['validate']>>;
  readonly buckets: TokenBuckets;
}

function originOf(msg: Message): PeerIdString | undefined {
  return msg.type === 'signed' ? msg.from.toString() : undefined;
}

export function createGossip(pubsub: GossipSub, cfg: { maxMessageBytes: number; perOrigin: RateLimit; clock: Clock; log: Logger }): Gossip {
  const topics = new Map<string, Topic>();
  const { log } = cfg;
  let running = false;

  const join = (name: string, t: Topic): void => {
    pubsub.topicValidators.set(name, (_peer, msg) => validate(t, msg));
    pubsub.subscribe(name);
  };

  const validate = async (topic: Topic, msg: Message): Promise<TopicValidatorResult> => {
    const from = originOf(msg);
    if (from === undefined) return TopicValidatorResult.Reject; // StrictSign: unsigned is malformed
    if (msg.data.length > cfg.maxMessageBytes) {
      log.debug('gossip message refused', { topic: msg.topic, err: new LimitError(ErrorCodes.LIMIT_EXCEEDED, `gossip message of ${msg.data.length} bytes`) });
      return TopicValidatorResult.Reject;
    }
    if (!topic.buckets.take(from)) {
      log.debug('gossip message refused', { topic: msg.topic, origin: from, err: new LimitError(ErrorCodes.RATE_LIMITED, 'origin over its rate') });
      return TopicValidatorResult.Ignore;
    }
    for (const v of topic.validators) {
      try {
        const verdict = await v(msg.data, from);
        if (verdict !== 'accept') return VERDICT[verdict] ?? TopicValidatorResult.Reject;
      } catch (err) {
        log.debug('gossip validator threw', { topic: msg.topic, err: err instanceof Error ? err : String(err) });
        return TopicValidatorResult.Reject;
      }
    }
    return TopicValidatorResult.Accept;
  };

  // One listener for all topics; gossipsub emits 'message' only for accepted messages.
  pubsub.addEventListener('message', (evt) => {
    const msg = evt.detail;
    const topic = topics.get(msg.topic);
    const from = originOf(msg);
    if (topic === undefined || from === undefined) return;
    for (const cb of topic.callbacks) {
      try {
        cb(msg.data, from);
      } catch (err) {
        log.error('gossip subscriber threw', { topic: msg.topic, err: err instanceof Error ? err : String(err) });
      }
    }
  });

  const publish = async (topic: string, bytes: Uint8Array): Promise<number> => {
    if (bytes.length > cfg.maxMessageBytes) {
      throw new LimitError(ErrorCodes.LIMIT_EXCEEDED, `gossip message of ${bytes.length} bytes exceeds the limit of ${cfg.maxMessageBytes}`);
    }
    const res = await pubsub.publish(topic, bytes);
    return res.recipients.length;
  };

  const subscribe = (name: string, cb: GossipHandler, opts: SubscribeOptions = {}): (() => void) => {
    if (name.length === 0 || name.length > 256) throw new CompeerError(ErrorCodes.INVALID_ARGUMENT, 'invalid topic name');
    let topic = topics.get(name);
    if (topic === undefined) {
      const t: Topic = { callbacks: new Set(), validators: new Set(), buckets: createTokenBuckets(cfg.perOrigin, cfg.clock) };
      topic = t;
      topics.set(name, t);
      if (running) join(name, t);
    }
    // Both wrapped so the same function subscribed twice is two subscriptions.
    const handler: GossipHandler = (data, from) => cb(data, from);
    const v = opts.validate;
    const validator: SubscribeOptions['validate'] = v === undefined ? undefined : (data, from) => v(data, from);
    topic.callbacks.add(handler);
    if (validator !== undefined) topic.validators.add(validator);
    const t = topic;
    return () => {
      t.callbacks.delete(handler);
      if (validator !== undefined) t.validators.delete(validator);
      if (t.callbacks.size === 0 && topics.get(name) === t) {
        topics.delete(name);
        pubsub.topicValidators.delete(name);
        if (running) pubsub.unsubscribe(name);
      }
    };
  };

  const started = (): void => {
    running = true;
    for (const [name, t] of topics) join(name, t);
  };
  const stopped = (): void => {
    running = false;
  };

  return { publish, subscribe, started, stopped };
}
