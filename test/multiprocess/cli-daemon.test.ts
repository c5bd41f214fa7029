/**
 * The daemon as a process: `--ephemeral` nodes (nothing on disk; API address and token printed and
 * used through COMPEER_API / COMPEER_API_TOKEN) talking through `compeer chat` with piped input, the
 * human `ready` line, and a clean stop on SIGINT.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { ContactInfo, IdentityInfo, MessageInfo } from '../../src/node/types.ts';
import { compeer, compeerJson, eventually, spawnCompeer, startDaemon, stopAll, tempDirs } from './cli-helpers.ts';

const LOOPBACK = ['--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'];

describe('compeer daemon processes', { timeout: 90_000 }, () => {
  after(stopAll);

  it('two --ephemeral nodes write nothing and chat interactively', async (t) => {
    const path = tempDirs(t);
    const [da, db] = [path('a-never'), path('b-never')];
    const [a, b] = await Promise.all([startDaemon(da, ['--ephemeral', ...LOOPBACK]), startDaemon(db, ['--ephemeral', ...LOOPBACK])]);
    assert.match(a.token ?? '', /^[0-9a-f]{64}$/, 'the token is printed');
    const envA = { COMPEER_API: a.api, COMPEER_API_TOKEN: a.token ?? '' };
    const envB = { COMPEER_API: b.api, COMPEER_API_TOKEN: b.token ?? '' };
    assert.equal((await compeer(da, ['status'])).code, 42, 'no daemon.json: without COMPEER_API the node is not found');

    const idA = await compeerJson<IdentityInfo>(da, ['id'], undefined, envA);
    assert.equal(idA.userId, a.userId);
    await compeerJson(db, ['add', idA.invite, '--name', 'ann'], undefined, envB);
    await compeerJson(db, ['send', 'ann', 'first contact'], undefined, envB);
    const ben = await eventually(async () => (await compeerJson<ContactInfo[]>(da, ['contacts'], undefined, envA))[0], 'ann learns ben');

    // A chats with B: history shown, typed lines sent, incoming lines shown, /quit ends it.
    const chat = spawnCompeer(['chat', ben.userId.slice(0, 10)], envA);
    let out = '';
    chat.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => chat.once('exit', (code) => resolve(code)));
    await eventually(async () => (/-- chat with/.test(out) ? true : undefined), 'the chat header');
    assert.match(out, /← first contact/);
    chat.stdin?.write('typed in chat\n');
    const got = await eventually(async () => {
      const list = await compeerJson<MessageInfo[]>(db, ['messages', 'ann'], undefined, envB);
      return list.find((m) => m.direction === 'in' && m.text === 'typed in chat');
    }, 'ben receives the chat line');
    assert.equal(got.direction, 'in');
    await compeerJson(db, ['send', 'ann', 'reply to chat'], undefined, envB);
    await eventually(async () => (/← reply to chat/.test(out) ? true : undefined), 'the reply shows in the chat');
    await eventually(async () => (/: delivered\)/.test(out) ? true : undefined), 'a delivery update shows in the chat');
    chat.stdin?.write('/quit\n');
    assert.equal(await exited, 0);

    assert.deepEqual(await Promise.all([a.stop(), b.stop()]), [0, 0]);
    assert.ok(!existsSync(da) && !existsSync(db), 'ephemeral nodes created no data folder');
  });

  it('start prints `ready`; SIGINT stops it cleanly and removes daemon.json', async (t) => {
    const dir = tempDirs(t)('home');
    assert.equal((await compeer(dir, ['init'])).code, 0);
    const proc = spawnCompeer(['--dir', dir, 'start', ...LOOPBACK]);
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    await eventually(async () => (out.startsWith('ready\n') ? true : undefined), 'ready', 30_000);
    assert.ok(existsSync(`${dir}/daemon.json`));
    proc.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.ok(!existsSync(`${dir}/daemon.json`));
  });
});
