/**
 * The typed API client against the real server over a fake CompeerApi: results, errors with their
 * codes, the event subscription; finding the daemon (daemon.json, api.token, COMPEER_API*), the
 * single-daemon lock and stale files.
 */
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newToken, readToken, writeToken } from '../../src/api/auth.ts';
import { createApiClient, resolveTarget } from '../../src/api/client.ts';
import { acquireDaemonLock, readDaemonInfo, removeDaemonInfo, runningDaemon, writeDaemonInfo } from '../../src/api/daemon-file.ts';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import { CompeerError, ErrorCodes } from '../../src/lib/errors.ts';
import { silentLogger } from '../../src/lib/log.ts';
import type { CompeerEvent } from '../../src/node/types.ts';
import { FAKE_ID, fakeApi, type FakeApi } from './api-fake.ts';
import { tempDir } from './store/helpers.ts';

/** A pid that is certainly not running: beyond the kernel's default pid_max. */
const DEAD_PID = 4_194_304 + 7;

describe('API client', () => {
  let api: FakeApi;
  let server: ApiServer;
  const token = newToken();

  before(async () => {
    api = fakeApi();
    server = await startApiServer({ api, token, logger: silentLogger });
  });
  after(() => server.close());

  it('implements CompeerApi over HTTP', async () => {
    const c = createApiClient({ url: server.url, token });
    assert.deepEqual(await c.id(), FAKE_ID);
    assert.deepEqual(await c.addContact('compeer://carolcarol', 'carol'), { userId: (await c.contacts())[0]?.userId, name: 'carol' });
    assert.deepEqual(await c.send('carol', 'hello', { ttlMs: 1000 }), { id: 'm0', status: 'queued' });
    const msgs = await c.messages('carol', { count: 1, waitMs: 10 });
    assert.equal(msgs[0]?.text, 'hello');
    assert.equal((await c.verify('carol', false)).verified, false);
    assert.equal((await c.peers()).length, 1);
    assert.equal((await c.status()).outbox.held, 0);
  });

  it('turns error bodies back into CompeerErrors with the same code', async () => {
    const c = createApiClient({ url: server.url, token });
    await assert.rejects(c.send('nobody', 'x'), (e: unknown) => e instanceof CompeerError && e.code === 'NOT_FOUND');
    await assert.rejects(c.send('carol', ''), { code: 'INVALID_ARGUMENT' });
    const wrong = createApiClient({ url: server.url, token: newToken() });
    await assert.rejects(wrong.status(), { code: 'UNAUTHORIZED' });
    await assert.rejects(wrong.subscribe(() => {}), { code: 'UNAUTHORIZED' });
    api.failNext(new CompeerError(ErrorCodes.TIMEOUT, 'slow'));
    await assert.rejects(c.status(), { code: 'TIMEOUT', message: 'slow' });
  });

  it('long-polls messages with waitMs until count messages exist', async () => {
    const c = createApiClient({ url: server.url, token });
    await c.addContact('compeer://davedave', 'dave');
    const t0 = Date.now();
    setTimeout(() => api.deliver('dave', 'late'), 150);
    const got = await c.messages('dave', { waitMs: 5000, count: 1 });
    assert.equal(got[0]?.text, 'late');
    assert.ok(Date.now() - t0 < 4000);
  });

  it('subscribes to events and stops on close', async () => {
    const c = createApiClient({ url: server.url, token });
    const events: CompeerEvent[] = [];
    const sub = await c.subscribe((e) => events.push(e));
    api.deliver('carol', 'ping');
    const deadline = Date.now() + 5000;
    while (events.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(events[0]?.type, 'message');
    sub.close();
    await sub.closed;
  });

  it('a node that is gone is NOT_RUNNING', async () => {
    const s = await startApiServer({ api: fakeApi(), token, logger: silentLogger });
    const url = s.url;
    await s.close();
    await assert.rejects(createApiClient({ url, token }).status(), { code: 'NOT_RUNNING' });
  });
});

describe('finding the daemon', () => {
  it('reads daemon.json and api.token (0600); missing or stale files are NOT_RUNNING', (t) => {
    const dir = tempDir(t);
    assert.throws(() => resolveTarget(dir, {}), (e: unknown) => e instanceof CompeerError && e.code === 'NOT_RUNNING' && /compeer start/.test(e.message));
    const token = newToken();
    writeToken(dir, token);
    assert.equal(statSync(join(dir, 'api.token')).mode & 0o777, 0o600);
    assert.equal(readToken(dir), token);
    writeDaemonInfo(dir, { pid: process.pid, api: 'http://127.0.0.1:1234' });
    assert.equal(statSync(join(dir, 'daemon.json')).mode & 0o777, 0o600);
    assert.deepEqual(resolveTarget(dir, {}), { url: 'http://127.0.0.1:1234', token });
    writeDaemonInfo(dir, { pid: DEAD_PID, api: 'http://127.0.0.1:1234' });
    assert.throws(() => runningDaemon(dir), { code: 'NOT_RUNNING' });
    writeFileSync(join(dir, 'daemon.json'), '{"pid":"x"}');
    assert.equal(readDaemonInfo(dir), undefined);
    const release = acquireDaemonLock(dir);
    assert.throws(() => runningDaemon(dir), (e: unknown) => e instanceof CompeerError && e.code === 'NOT_RUNNING' && /is starting/.test(e.message));
    release();
    removeDaemonInfo(dir);
    writeFileSync(join(dir, 'api.token'), 'short\n');
    assert.throws(() => readToken(dir), { code: 'UNAUTHORIZED' });
  });

  it('takes COMPEER_API and COMPEER_API_TOKEN from the environment (ephemeral nodes)', () => {
    const token = newToken();
    assert.deepEqual(resolveTarget('/nonexistent', { COMPEER_API: 'http://127.0.0.1:9', COMPEER_API_TOKEN: token }), { url: 'http://127.0.0.1:9', token });
    assert.throws(() => resolveTarget('/nonexistent', { COMPEER_API: 'http://127.0.0.1:9' }), { code: 'UNAUTHORIZED' });
    assert.throws(() => resolveTarget('/nonexistent', { COMPEER_API: 'ftp://x', COMPEER_API_TOKEN: token }), { code: 'INVALID_ARGUMENT' });
  });

  it('keeps one daemon per folder: a live lock is ALREADY_EXISTS, a stale one is taken over', (t) => {
    const dir = tempDir(t);
    const release = acquireDaemonLock(dir, process.pid);
    assert.throws(() => acquireDaemonLock(dir, DEAD_PID), { code: 'ALREADY_EXISTS' });
    release();
    writeFileSync(join(dir, 'daemon.lock'), `${DEAD_PID}\n`);
    const again = acquireDaemonLock(dir, process.pid);
    assert.equal(statSync(join(dir, 'daemon.lock')).mode & 0o777, 0o600);
    again();
  });
});
