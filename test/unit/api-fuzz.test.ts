/**
 * Bad input at the control API, generated: random bodies for every POST route and random query
 * strings for GET /v1/messages always get a typed 4xx `{error:{code,message}}` — never a 5xx, a hang or
 * a crash — the server keeps answering afterwards, and refusals leave (rate-limited) log lines.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { newToken } from '../../src/api/auth.ts';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import { ErrorCodes } from '../../src/lib/errors.ts';
import { createLogger, silentLogger } from '../../src/lib/log.ts';
import { fakeApi } from './api-fake.ts';

const KNOWN = new Set<string>(Object.values(ErrorCodes));

function send(server: ApiServer, headers: Record<string, string>, method: string, path: string, body?: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port: server.port, method, path, headers: { connection: 'close', ...headers }, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: text });
        }
      });
    });
    r.on('error', reject);
    if (body !== undefined) r.write(body);
    r.end();
  });
}

describe('control API under generated bad input', () => {
  let server: ApiServer;
  const token = newToken();
  let headers: Record<string, string>;

  before(async () => {
    server = await startApiServer({ api: fakeApi(), token, logger: silentLogger, limits: { rateBurst: 1e9, ratePerSecond: 1e9 } });
    headers = { authorization: `Bearer ${token}`, host: `127.0.0.1:${server.port}`, 'content-type': 'application/json' };
  });
  after(() => server.close());

  const isTypedRefusal = (r: { status: number; body: unknown }): boolean => {
    const e = (r.body as { error?: { code?: unknown; message?: unknown } }).error;
    return r.status >= 400 && r.status < 500 && typeof e?.code === 'string' && KNOWN.has(e.code) && typeof e.message === 'string';
  };

  it('random JSON values and raw strings as POST bodies', async () => {
    const body = fc.oneof(
      fc.json(),
      fc.string({ maxLength: 200 }),
      fc.dictionary(fc.constantFrom('contact', 'text', 'ttlMs', 'invite', 'name', 'confirm', 'x', '__proto__', 'constructor'), fc.jsonValue()).map((o) => JSON.stringify(o)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/v1/messages', '/v1/contacts', '/v1/verify'), body, async (path, b) => {
        const r = await send(server, headers, 'POST', path, b);
        // A body that happens to be valid reaches the fake, whose answers are 200 or typed errors too.
        assert.ok(r.status === 200 || isTypedRefusal(r), `${path} ${b.slice(0, 80)} → ${r.status} ${JSON.stringify(r.body)}`);
      }),
      { numRuns: 150 },
    );
  });

  it('random query strings and paths', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 80 }), fc.constantFrom('/v1/messages', '/v1/status', '/v1/', '/v1/id/x', '/'), async (q, path) => {
        const r = await send(server, headers, 'GET', `${path}?${encodeURI(q)}`);
        assert.ok(r.status === 200 || isTypedRefusal(r) || r.status === 405, `${path}?${q} → ${r.status}`);
      }),
      { numRuns: 150 },
    );
    assert.equal((await send(server, headers, 'GET', '/v1/status')).status, 200, 'still serving');
  });

  it('logs refusals, auth failures at warn, at most a burst per minute', async () => {
    const lines: string[] = [];
    const s = await startApiServer({ api: fakeApi(), token, logger: createLogger({ level: 'info', sink: (l) => lines.push(l) }) });
    try {
      for (let i = 0; i < 40; i++) await send(s, { host: `127.0.0.1:${s.port}` }, 'GET', '/v1/status');
    } finally {
      await s.close();
    }
    const refusals = lines.map((l) => JSON.parse(l) as { level: string; msg: string; code?: string }).filter((r) => r.msg === 'api request refused');
    assert.ok(refusals.length > 0 && refusals.length <= 20, `${refusals.length} lines`);
    assert.ok(refusals.every((r) => r.level === 'warn' && r.code === 'UNAUTHORIZED'));
    assert.ok(lines.every((l) => !l.includes(token)), 'the token is never logged');
  });
});
