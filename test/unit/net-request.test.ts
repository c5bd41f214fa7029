/**
 * Request/response between real libp2p nodes over TCP on 127.0.0.1 (src/net/request.ts): echo, limits,
 * timeouts, rate limits and misbehaving peers — each refused with a typed error and a log line, the
 * connection and the node surviving. The misbehaving peer is a bare libp2p node writing raw bytes.
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Libp2p } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { utf8 } from '../../src/lib/bytes.ts';
import { CompeerError, LimitError, NetworkError } from '../../src/lib/errors.ts';
import type { NetNode } from '../../src/net/types.ts';
import { captureLogger, codeOf, sleep, startNode, waitFor, type Captured } from './net-helpers.ts';

const ECHO = '/test/echo/1';
const SMALL = '/test/small/1';
const SLOW = '/test/slow/1';
const LIMITED = '/test/limited/1';
const THROWS = '/test/throws/1';
const SHORT_IDLE = '/test/short-idle/1';

const rejectsWith = async (p: Promise<unknown>, cls: typeof CompeerError, code: string): Promise<void> => {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    assert.equal(codeOf(e), code);
    return true;
  });
};

describe('net/request', () => {
  let a: NetNode;
  let b: NetNode;
  let c: NetNode;
  let raw: Libp2p;
  let logs: Captured;

  before(async () => {
    logs = captureLogger();
    [a, b, c] = await Promise.all([startNode({ logger: logs.logger }), startNode(), startNode()]);
    await a.handle(ECHO, async (req, from) => (req.length === 0 ? utf8(from) : req), { rateLimit: false });
    await a.handle(SMALL, async (req) => req, { maxRequestBytes: 1024, idleTimeoutMs: 300 });
    await a.handle(SLOW, async (req, _from, { signal }) => {
      await sleep(Number(new TextDecoder().decode(req)));
      return signal.aborted ? new Uint8Array(0) : req;
    }, { timeoutMs: 300 });
    await a.handle(LIMITED, async (req) => req, { rateLimit: { perSecond: 0.01, burst: 3 } });
    await a.handle(THROWS, async () => {
      throw new Error('handler bug');
    });
    await a.handle(SHORT_IDLE, async (req) => req, { idleTimeoutMs: 100 });
    raw = await createLibp2p({ addresses: { listen: [] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] });
  });

  after(async () => {
    await Promise.all([a.stop(), b.stop(), c.stop(), raw.stop()]);
  });

  test('two nodes exchange a request and a response; the handler learns the requester', async () => {
    const res = await b.request(a.peerId, a.addresses(), ECHO, utf8('hello'));
    assert.deepEqual(res, utf8('hello'));
    assert.equal(new TextDecoder().decode(await b.request(a.peerId, [], ECHO, new Uint8Array(0))), b.peerId);
    assert.ok(b.connections().some((x) => x.peerId === a.peerId));
  });

  test('many sequential and concurrent requests on reused streams', async () => {
    for (let i = 0; i < 200; i++) {
      const res = await b.request(a.peerId, [], ECHO, utf8(`m${i}`));
      assert.equal(new TextDecoder().decode(res), `m${i}`);
    }
    const many = await Promise.all(Array.from({ length: 24 }, (_, i) => b.request(a.peerId, [], ECHO, utf8(`p${i}`))));
    many.forEach((r, i) => assert.equal(new TextDecoder().decode(r), `p${i}`));
  });

  test('a request over the responder limit is refused; the connection and the node keep serving', async () => {
    await rejectsWith(b.request(a.peerId, [], SMALL, new Uint8Array(1025)), NetworkError, 'STREAM_FAILED');
    assert.equal(logs.find('request refused', 'LIMIT_EXCEEDED').length, 1);
    assert.ok(b.connections().some((x) => x.peerId === a.peerId), 'connection survives');
    assert.deepEqual(await b.request(a.peerId, [], SMALL, new Uint8Array(1024)), new Uint8Array(1024));
    assert.deepEqual(await c.request(a.peerId, a.addresses(), SMALL, utf8('other')), utf8('other'));
  });

  test('oversized requests and responses are refused on the requester side too', async () => {
    await rejectsWith(b.request(a.peerId, [], ECHO, new Uint8Array(256 * 1024 + 1)), LimitError, 'LIMIT_EXCEEDED');
    await rejectsWith(b.request(a.peerId, [], ECHO, new Uint8Array(100), { maxResponseBytes: 99 }), LimitError, 'LIMIT_EXCEEDED');
    assert.deepEqual(await b.request(a.peerId, [], ECHO, utf8('still fine')), utf8('still fine'));
  });

  test('a raw peer announcing a 4 GiB frame is reset after the header, its connection survives', async () => {
    const before = logs.find('request refused', 'LIMIT_EXCEEDED').length;
    await raw.dial(multiaddr(a.addresses()[0] ?? ''));
    const s = await raw.dialProtocol(multiaddr(a.addresses()[0] ?? ''), SMALL);
    s.send(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    assert.ok(await waitFor(() => s.status !== 'open', 2_000), 'stream reset');
    assert.equal(logs.find('request refused', 'LIMIT_EXCEEDED').length, before + 1);
    assert.equal(raw.getConnections().filter((x) => x.status === 'open').length, 1, 'connection survives');
  });

  test('two frames without waiting for the answer break the alternation and are reset', async () => {
    const s = await raw.dialProtocol(multiaddr(a.addresses()[0] ?? ''), SMALL);
    const frame = new Uint8Array([0, 0, 0, 1, 42]);
    s.send(new Uint8Array([...frame, ...frame, ...frame]));
    assert.ok(await waitFor(() => s.status !== 'open', 2_000), 'stream reset');
    assert.ok(await waitFor(() => logs.find('request refused', 'UNEXPECTED_MESSAGE').length === 1, 1_000));
  });

  test('a slow peer stalling mid-frame is reset at the idle timeout', async () => {
    const s = await raw.dialProtocol(multiaddr(a.addresses()[0] ?? ''), SMALL);
    s.send(new Uint8Array([0, 0, 0, 10, 1, 2]));
    assert.ok(await waitFor(() => s.status !== 'open', 3_000), 'stream reset');
    assert.ok(logs.find('request refused', 'TIMEOUT').some((l) => l.phase === 'read'));
  });

  test('the inbound buffer budget bounds bytes held across streams', async () => {
    const logsD = captureLogger();
    const d = await startNode({ maxInboundBufferBytes: 10_000, logger: logsD.logger });
    try {
      await d.handle(ECHO, async (req) => req, { rateLimit: false, maxRequestBytes: 8_000 });
      const addr = multiaddr(d.addresses()[0] ?? '');
      const partial = new Uint8Array([0, 0, 0x1f, 0x40, ...new Uint8Array(4_000)]); // announces 8,000, sends 4,000
      const s1 = await raw.dialProtocol(addr, ECHO);
      s1.send(partial);
      const s2 = await raw.dialProtocol(addr, ECHO);
      s2.send(partial);
      const s3 = await raw.dialProtocol(addr, ECHO);
      s3.send(partial);
      assert.ok(await waitFor(() => logsD.find('request refused', 'LIMIT_EXCEEDED').length === 1, 2_000), 'the third stream is refused');
      assert.ok(await waitFor(() => s3.status !== 'open', 2_000), 'and reset');
      s1.abort(new Error('done'));
      // With s1's bytes released (once its reset reaches D), a complete request fits again.
      const fits = await waitFor(async () => {
        const res = await b.request(d.peerId, d.addresses(), ECHO, new Uint8Array(3_000)).catch(() => undefined);
        return res?.length === 3_000;
      }, 3_000, 50);
      assert.ok(fits, 'a request fits once the stalled stream is gone');
    } finally {
      await d.stop();
    }
  });

  test('requester timeout', async () => {
    const t0 = Date.now();
    await rejectsWith(b.request(a.peerId, [], SLOW, utf8('1000'), { timeoutMs: 100 }), NetworkError, 'TIMEOUT');
    assert.ok(Date.now() - t0 < 2_000, 'the deadline, not the handler, ended it');
  });

  test('responder timeout: the handler overruns, the stream is reset and logged', async () => {
    await rejectsWith(b.request(a.peerId, [], SLOW, utf8('1000'), { timeoutMs: 5_000 }), NetworkError, 'STREAM_FAILED');
    assert.ok(logs.find('request refused', 'TIMEOUT').some((l) => l.phase === 'handler'));
    assert.deepEqual(await b.request(a.peerId, [], SLOW, utf8('1')), utf8('1'));
  });

  test('per-peer rate limit: the burst passes, the flood is reset, other peers are unaffected', async () => {
    for (let i = 0; i < 3; i++) await b.request(a.peerId, [], LIMITED, utf8('x'));
    await rejectsWith(b.request(a.peerId, [], LIMITED, utf8('x')), NetworkError, 'STREAM_FAILED');
    assert.equal(logs.find('request refused', 'RATE_LIMITED').length, 1);
    assert.deepEqual(await c.request(a.peerId, [], LIMITED, utf8('c')), utf8('c'));
  });

  test('a throwing handler resets the stream, is logged, and the next request works', async () => {
    await rejectsWith(b.request(a.peerId, [], THROWS, utf8('x')), NetworkError, 'STREAM_FAILED');
    assert.equal(logs.find('request handler failed').length, 1);
    assert.deepEqual(await b.request(a.peerId, [], ECHO, utf8('after')), utf8('after'));
  });

  test('a pooled stream closed by the responder while idle is replaced transparently', async () => {
    assert.deepEqual(await b.request(a.peerId, [], SHORT_IDLE, utf8('1')), utf8('1'));
    await sleep(300);
    assert.deepEqual(await b.request(a.peerId, [], SHORT_IDLE, utf8('2')), utf8('2'));
  });

  test('typed errors: unsupported protocol, unreachable peer, malformed input', async () => {
    await rejectsWith(b.request(a.peerId, [], '/test/nobody/1', utf8('x')), NetworkError, 'UNSUPPORTED_VERSION');
    const gone = await startNode();
    const addr = gone.addresses()[0] ?? '';
    await gone.stop();
    await rejectsWith(b.request(gone.peerId, [addr], ECHO, utf8('x'), { timeoutMs: 3_000 }), NetworkError, 'UNREACHABLE');
    await rejectsWith(b.request('not-a-peer-id', [], ECHO, utf8('x')), CompeerError, 'INVALID_ARGUMENT');
    await rejectsWith(b.request(a.peerId, ['/ip4/nonsense'], ECHO, utf8('x')), CompeerError, 'INVALID_ARGUMENT');
    await rejectsWith(b.request(a.peerId, [`/ip4/127.0.0.1/tcp/1/p2p/${c.peerId}`], ECHO, utf8('x')), CompeerError, 'INVALID_ARGUMENT');
    // Parsed targets are kept per (peer, addresses), failures never: the same bad input fails again,
    // also right after a good request to the same peer (a pooled stream is there to take it).
    await b.request(a.peerId, [], ECHO, utf8('x'));
    await rejectsWith(b.request(a.peerId, ['/ip4/nonsense'], ECHO, utf8('x')), CompeerError, 'INVALID_ARGUMENT');
    await rejectsWith(b.request('not-a-peer-id', [], ECHO, utf8('x')), CompeerError, 'INVALID_ARGUMENT');
  });
});
