/**
 * The control API server against a fake CompeerApi: auth (missing/bad token), Host/Origin checks,
 * body limits, strict validation (typed 400s, never a crash), error-code → status mapping, rate limit,
 * the events WebSocket, and loopback-only binding.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { newToken } from '../../src/api/auth.ts';
import { isLoopbackHost, parseApiAddress, startApiServer, type ApiServer } from '../../src/api/server.ts';
import { CompeerError, ErrorCodes } from '../../src/lib/errors.ts';
import { silentLogger } from '../../src/lib/log.ts';
import type { CompeerEvent } from '../../src/node/types.ts';
import { FAKE_ID, fakeApi, type FakeApi } from './api-fake.ts';

interface Res {
  status: number;
  body: unknown;
}

function raw(server: ApiServer, method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Res> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port: server.port, method, path, headers: { connection: 'close', ...headers }, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // keep the text
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    r.on('error', reject);
    if (body !== undefined) r.write(body);
    r.end();
  });
}

const code = (r: Res): string | undefined => (r.body as { error?: { code?: string } }).error?.code;

describe('control API server', () => {
  let api: FakeApi;
  let server: ApiServer;
  const token = newToken();
  let auth: Record<string, string>;
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> =>
    raw(server, method, path, { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));

  before(async () => {
    api = fakeApi();
    server = await startApiServer({ api, token, logger: silentLogger });
    auth = { authorization: `Bearer ${token}`, host: `127.0.0.1:${server.port}` };
  });
  after(() => server.close());

  it('listens on 127.0.0.1 at a random port and answers the routes with the DTOs', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual((await call('GET', '/v1/id')).body, FAKE_ID);
    assert.equal((await call('GET', '/v1/id?for=bob')).status, 200);
    assert.ok(api.calls.includes('id:for:bob'), 'an invite for a contact');
    for (const q of ['?for=', '?for=a&for=b', '?who=bob', `?for=${'x'.repeat(300)}`]) assert.equal((await call('GET', `/v1/id${q}`)).status, 400, q);
    const added = await call('POST', '/v1/contacts', { invite: 'compeer://bobbobbob', name: 'bob' });
    assert.equal(added.status, 200);
    assert.equal((added.body as { name: string }).name, 'bob');
    const sent = await call('POST', '/v1/messages', { contact: 'bob', text: 'hi', ttlMs: 60_000 });
    assert.equal(sent.status, 200);
    assert.deepEqual(sent.body, { id: 'm0', status: 'queued' });
    assert.ok(api.calls.includes('ttl:60000'));
    const msgs = await call('GET', '/v1/messages?contact=bob&count=1&waitMs=0');
    assert.equal((msgs.body as unknown[]).length, 1);
    assert.equal(((await call('GET', '/v1/contacts')).body as unknown[]).length, 1);
    assert.equal(((await call('POST', '/v1/verify', { contact: 'bob', confirm: true })).body as { verified: boolean }).verified, true);
    assert.equal(((await call('GET', '/v1/peers')).body as unknown[]).length, 1);
    assert.equal(((await call('GET', '/v1/status')).body as { state: string }).state, 'online');
  });

  it('refuses a missing, malformed or wrong token with 401 UNAUTHORIZED', async () => {
    const host = { host: `127.0.0.1:${server.port}` };
    for (const h of [{} as Record<string, string>, { authorization: 'Basic abc' }, { authorization: `Bearer ${newToken()}` }, { authorization: `Bearer ${token}x` }, { authorization: `bearer ${token}` }]) {
      const r = await raw(server, 'GET', '/v1/id', { ...host, ...h });
      assert.equal(r.status, 401, JSON.stringify(h));
      assert.equal(code(r), 'UNAUTHORIZED');
    }
  });

  it('refuses foreign Host (DNS rebinding) and cross-origin requests, accepts localhost names', async () => {
    for (const host of ['evil.example', `evil.example:${server.port}`, '127.0.0.1:1', `127.0.0.1.evil.example:${server.port}`]) {
      const r = await call('GET', '/v1/id', undefined, { host });
      assert.equal(r.status, 401, host);
      assert.equal(code(r), 'UNAUTHORIZED');
    }
    for (const origin of ['http://evil.example', 'null', `https://127.0.0.1:${server.port}`, 'http://127.0.0.1:1']) {
      const r = await call('GET', '/v1/id', undefined, { origin });
      assert.equal(r.status, 401, origin);
    }
    assert.equal((await call('GET', '/v1/id', undefined, { 'sec-fetch-site': 'cross-site' })).status, 401);
    assert.equal((await call('GET', '/v1/id', undefined, { host: `localhost:${server.port}`, origin: `http://localhost:${server.port}` })).status, 200);
  });

  it('caps the body: 413 LIMIT_EXCEEDED, declared or streamed', async () => {
    const big = JSON.stringify({ contact: 'bob', text: 'x'.repeat(200 * 1024) });
    const r = await call('POST', '/v1/messages', big);
    assert.equal(r.status, 413);
    assert.equal(code(r), 'LIMIT_EXCEEDED');
    const chunked = await call('POST', '/v1/messages', big, { 'transfer-encoding': 'chunked' });
    assert.equal(chunked.status, 413);
  });

  it('answers malformed JSON, wrong types, unknown fields and bad queries with typed 400s', async () => {
    const bad: [string, string, unknown][] = [
      ['POST', '/v1/messages', '{"contact":'],
      ['POST', '/v1/messages', '[1,2]'],
      ['POST', '/v1/messages', 'null'],
      ['POST', '/v1/messages', { contact: 'bob' }],
      ['POST', '/v1/messages', { contact: 'bob', text: 7 }],
      ['POST', '/v1/messages', { contact: 'bob', text: '' }],
      ['POST', '/v1/messages', { contact: 'bob', text: 'hi', ttlMs: -1 }],
      ['POST', '/v1/messages', { contact: 'bob', text: 'hi', ttlMs: 1.5 }],
      ['POST', '/v1/messages', { contact: 'bob', text: 'hi', extra: true }],
      ['POST', '/v1/messages', { contact: 'x'.repeat(300), text: 'hi' }],
      ['POST', '/v1/contacts', { name: 'x' }],
      ['POST', '/v1/contacts', { invite: 'compeer://x', name: 'n'.repeat(65) }],
      ['POST', '/v1/verify', { contact: 'bob', confirm: 'yes' }],
      ['POST', '/v1/verify', '{"contact":"bob","__proto__":{"confirm":true}}'],
      ['GET', '/v1/messages', undefined],
      ['GET', '/v1/messages?contact=bob&contact=eve', undefined],
      ['GET', '/v1/messages?contact=bob&waitMs=-5', undefined],
      ['GET', '/v1/messages?contact=bob&waitMs=1e3', undefined],
      ['GET', '/v1/messages?contact=bob&count=0', undefined],
      ['GET', '/v1/messages?contact=bob&waitMs=99999999', undefined],
      ['GET', '/v1/messages?contact=bob&bogus=1', undefined],
      ['GET', '/v1/status?x=1', undefined],
    ];
    for (const [method, path, body] of bad) {
      const r = await call(method, path, body);
      assert.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.equal(code(r), 'INVALID_ARGUMENT');
      assert.equal(typeof (r.body as { error: { message: string } }).error.message, 'string');
    }
    const notUtf8 = await call('POST', '/v1/messages', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    assert.equal(notUtf8.status, 400);
    assert.equal(code(notUtf8), 'INVALID_ENCODING');
    const wrongType = await call('POST', '/v1/messages', '{}', { 'content-type': 'text/plain' });
    assert.equal(wrongType.status, 415);
    assert.equal((await call('DELETE', '/v1/contacts')).status, 405);
    const missing = await call('GET', '/v1/nothing');
    assert.equal(missing.status, 404);
    assert.equal(code(missing), 'NOT_FOUND');
    // Still serving after all that.
    assert.equal((await call('GET', '/v1/status')).status, 200);
  });

  it('maps CompeerError codes to statuses and hides non-Compeer errors behind 500 INTERNAL', async () => {
    assert.equal((await call('POST', '/v1/messages', { contact: 'nobody', text: 'hi' })).status, 404);
    assert.equal((await call('POST', '/v1/contacts', { invite: 'http://x' })).status, 400);
    api.failNext(new CompeerError(ErrorCodes.UNTRUSTED_IDENTITY, 'key changed'));
    const untrusted = await call('POST', '/v1/messages', { contact: 'bob', text: 'hi' });
    assert.equal(untrusted.status, 409);
    assert.deepEqual(untrusted.body, { error: { code: 'UNTRUSTED_IDENTITY', message: 'key changed' } });
    api.failNext(new TypeError('secret internal detail /home/x'));
    const bug = await call('GET', '/v1/status');
    assert.equal(bug.status, 500);
    assert.deepEqual(bug.body, { error: { code: 'INTERNAL', message: 'internal error' } });
  });

  it('streams events on /v1/events to authenticated subscribers only', async () => {
    const wsUrl = `${server.url.replace('http:', 'ws:')}/v1/events`;
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl);
      ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });
    assert.equal(refused, 401);
    const foreign = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}`, origin: 'http://evil.example' } });
      ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });
    assert.equal(foreign, 401);

    const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const got: CompeerEvent[] = [];
    ws.on('message', (d) => got.push(JSON.parse(d.toString()) as CompeerEvent));
    await call('POST', '/v1/messages', { contact: 'bob', text: 'evented' });
    api.deliver('bob', 'incoming');
    const deadline = Date.now() + 5000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(got.some((e) => e.type === 'status' && e.status === 'delivered'));
    assert.ok(got.some((e) => e.type === 'message' && e.message.text === 'incoming'));
    ws.send('ignored');
    ws.close();
    await new Promise((r) => ws.once('close', r));
    const until = Date.now() + 2000;
    while (api.listeners() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.equal(api.listeners(), 0, 'the subscription ends with the socket');
  });

  it('rate-limits each connection with 429 RATE_LIMITED', async () => {
    const api2 = fakeApi();
    const s = await startApiServer({ api: api2, token, logger: silentLogger, limits: { rateBurst: 3, ratePerSecond: 0.001 } });
    try {
      const { Agent } = await import('node:http');
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const one = (): Promise<number> =>
        new Promise((resolve, reject) => {
          const r = request({ host: '127.0.0.1', port: s.port, path: '/v1/status', agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          r.on('error', reject);
          r.end();
        });
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push(await one());
      agent.destroy();
      assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    } finally {
      await s.close();
    }
  });
});

describe('API address', () => {
  it('parses HOST:PORT and binds to loopback only unless allowed', async () => {
    assert.deepEqual(parseApiAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseApiAddress('[::1]:8080'), { host: '::1', port: 8080 });
    assert.deepEqual(parseApiAddress('localhost:1'), { host: 'localhost', port: 1 });
    for (const s of ['127.0.0.1', ':80', '127.0.0.1:99999', 'a b:1', 'http://x:1']) assert.throws(() => parseApiAddress(s), { code: 'INVALID_ARGUMENT' });
    assert.ok(isLoopbackHost('127.0.0.2'));
    assert.ok(!isLoopbackHost('0.0.0.0'));
    assert.ok(!isLoopbackHost('127.evil.example'));
    await assert.rejects(startApiServer({ api: fakeApi(), token: newToken(), host: '0.0.0.0', logger: silentLogger }), { code: 'INVALID_ARGUMENT' });
  });
});
