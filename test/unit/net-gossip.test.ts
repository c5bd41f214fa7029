/**
 * Gossip through src/net/gossip.ts on real nodes over TCP on 127.0.0.1: delivery and forwarding with the
 * origin as `from`, subscriber validation, size limits and the per-origin rate limit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { utf8 } from '../../src/lib/bytes.ts';
import type { NetNode } from '../../src/net/types.ts';
import { codeOf, sleep, startNode, waitFor } from './net-helpers.ts';

const TOPIC = '/compeer-test/announce/1';

describe('net/gossip', () => {
  let a: NetNode;
  let b: NetNode;
  let c: NetNode;

  before(async () => {
    [a, b, c] = await Promise.all([
      startNode({ gossip: { maxMessageBytes: 64 * 1024 } }),
      startNode(),
      startNode({ gossip: { perOriginRateLimit: { perSecond: 0.01, burst: 3 } } }),
    ]);
    // A line: A — B — C. C hears A only through B.
    await b.dial(a.addresses()[0] ?? '');
    await c.dial(b.addresses()[0] ?? '');
  });

  after(async () => {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  });

  test('a message published on A reaches B directly and C through B, with A as origin', async () => {
    const atB: Array<[string, string]> = [];
    const atC: Array<[string, string]> = [];
    const offB = b.subscribe(TOPIC, (data, from) => atB.push([new TextDecoder().decode(data), from]));
    const offC = c.subscribe(TOPIC, (data, from) => atC.push([new TextDecoder().decode(data), from]));
    let i = 0;
    // Subscriptions and the mesh take a heartbeat or two to form: publish until C hears one.
    const heard = await waitFor(async () => {
      await a.publish(TOPIC, utf8(`hello ${i++}`));
      return atC.length > 0;
    }, 8_000, 200);
    assert.ok(heard, 'C received a message published on A');
    assert.ok(atB.length > 0);
    assert.equal(atC[0]?.[1], a.peerId, 'from is the origin, not the forwarder');
    assert.ok(atC.every(([text]) => text.startsWith('hello ')));
    offB();
    offC();
  });

  test('a subscriber validator drops messages before delivery; oversized messages are refused', async () => {
    const got: string[] = [];
    const off = b.subscribe(TOPIC, (data) => got.push(new TextDecoder().decode(data)), {
      validate: (data) => (data[0] === 0x21 /* ! */ ? 'reject' : 'accept'),
    });
    await sleep(200);
    await a.publish(TOPIC, utf8('!bad'));
    await a.publish(TOPIC, new Uint8Array(20 * 1024).fill(0x61)); // over B's 16 KiB default
    await a.publish(TOPIC, utf8('good'));
    assert.ok(await waitFor(() => got.includes('good'), 3_000));
    assert.ok(!got.includes('!bad'));
    assert.ok(got.every((g) => g.length < 1024), 'the oversized message was not delivered');
    off();
    await assert.rejects(a.publish(TOPIC, new Uint8Array(64 * 1024 + 1)), (e: unknown) => codeOf(e) === 'LIMIT_EXCEEDED');
  });

  test('per-origin rate limit: a flooding origin is cut off at its burst', async () => {
    const got: string[] = [];
    const off = c.subscribe(TOPIC, (data) => got.push(new TextDecoder().decode(data)));
    // B has published nothing yet: C's bucket for B is full (3 tokens, refilling once per 100 s).
    assert.ok(await waitFor(async () => (await b.publish(TOPIC, utf8('probe'))) > 0, 5_000, 100), 'C subscribed');
    for (let k = 0; k < 10; k++) await b.publish(TOPIC, utf8(`flood ${k}`));
    await waitFor(() => got.length >= 3, 3_000);
    await sleep(500); // time for anything beyond the burst to (not) arrive
    const fromB = got.length;
    assert.equal(fromB, 3, `C delivered ${fromB} messages from B, its burst is 3`);
    off();
  });
});
