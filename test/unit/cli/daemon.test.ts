/**
 * `compeer start` in-process over a fake node (CliIo.createNode), and every client command against it
 * through the real API server and client: daemon.json / api.token (0600), `ready`, the output shapes,
 * a second start on the same folder, NOT_RUNNING after stop, --ephemeral writing nothing, chat.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { EXIT_CODES } from '../../../src/cli/output.ts';
import type { DaemonNode, DaemonNodeOptions } from '../../../src/cli/node-factory.ts';
import { run } from '../../../src/cli/program.ts';
import { fakeApi, type FakeApi } from '../api-fake.ts';
import { tempDir } from '../store/helpers.ts';
import { fakeIo, type FakeIo } from './fake-io.ts';

interface Daemon {
  io: FakeIo;
  node: FakeApi;
  opts: DaemonNodeOptions[];
  done: Promise<number>;
  stopped: () => boolean;
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function startDaemon(args: string[], env: Record<string, string> = {}): Promise<Daemon> {
  const node = fakeApi();
  const opts: DaemonNodeOptions[] = [];
  let stopped = false;
  const io = fakeIo(env, {
    createNode: async (o): Promise<DaemonNode> => {
      opts.push(o);
      return Object.assign(node, { stop: async () => void (stopped = true) });
    },
  });
  const done = run(['start', ...args], io);
  let exited = false;
  void done.then(() => (exited = true));
  await until(() => /ready/.test(io.out) || exited, 'ready');
  return { io, node, opts, done, stopped: () => stopped };
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string; json: unknown }> {
  const io = fakeIo(env);
  const code = await run(args, io);
  let json: unknown;
  try {
    json = JSON.parse(io.out);
  } catch {
    json = undefined;
  }
  return { code, out: io.out, err: io.err, json };
}

describe('compeer start (over a fake node) and the client commands', () => {
  it('start --init: creates the identity, writes daemon.json and api.token 0600, prints ready; commands talk to it; a signal stops it cleanly', async (t) => {
    const dir = join(tempDir(t), 'home');
    const d = await startDaemon(['--dir', dir, '--init', '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', '/ip4/127.0.0.1/tcp/1/p2p/x']);
    t.after(() => d.io.stop());
    assert.equal(d.io.out, 'ready\n');
    assert.match(d.io.err, /Created a Compeer identity/);
    assert.deepEqual(
      { listen: d.opts[0]?.listen, bootstrap: d.opts[0]?.bootstrap, mdns: d.opts[0]?.mdns, ephemeral: d.opts[0]?.ephemeral },
      { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: ['/ip4/127.0.0.1/tcp/1/p2p/x'], mdns: false, ephemeral: false },
    );
    const info = JSON.parse(readFileSync(join(dir, 'daemon.json'), 'utf8')) as { pid: number; api: string };
    assert.equal(info.pid, process.pid);
    assert.match(info.api, /^http:\/\/127\.0\.0\.1:\d+$/);
    for (const f of ['daemon.json', 'api.token', 'daemon.lock']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);

    const id = await cli(['id', '--json', '--dir', dir]);
    assert.equal(id.code, 0, id.err);
    assert.deepEqual(Object.keys(id.json as object).sort(), ['addresses', 'invite', 'name', 'safetyFingerprint', 'userId']);
    const add = await cli(['add', 'compeer://bobbobbob', '--name', 'bob', '--json', '--dir', dir]);
    assert.equal(add.code, 0, add.err);
    assert.deepEqual(Object.keys(add.json as object).sort(), ['name', 'userId']);
    const contacts = await cli(['contacts', '--json', '--dir', dir]);
    assert.deepEqual(contacts.json, [{ userId: (add.json as { userId: string }).userId, name: 'bob', verified: false, keyChanged: false }]);
    const sent = await cli(['send', 'bob', 'hello there', '--ttl', '60', '--json', '--dir', dir]);
    assert.deepEqual(sent.json, { id: 'm0', status: 'queued' });
    assert.ok(d.node.calls.includes('ttl:60000'));
    d.node.deliver('bob', 'hi back');
    const msgs = await cli(['messages', 'bob', '--wait', '2', '--count', '2', '--json', '--dir', dir]);
    const list = msgs.json as { direction: string; text: string; status: string }[];
    assert.deepEqual(
      list.map((m) => [m.direction, m.text, m.status]),
      [
        ['out', 'hello there', 'delivered'],
        ['in', 'hi back', 'delivered'],
      ],
    );
    const verify = await cli(['verify', 'bob', '--confirm', '--json', '--dir', dir]);
    assert.deepEqual(Object.keys(verify.json as object).sort(), ['safetyNumber', 'sas', 'verified']);
    assert.equal((verify.json as { verified: boolean }).verified, true);
    assert.equal(((await cli(['peers', '--json', '--dir', dir])).json as unknown[]).length, 1);
    assert.deepEqual((await cli(['status', '--json', '--dir', dir])).json, { state: 'online', reason: 'fake', peers: 1, outbox: { queued: 0, held: 0 } });

    // Human output: readable, and no terminal escapes from the network.
    d.node.deliver('bob', 'evil \u001b[2J text');
    const human = await cli(['messages', 'bob', '--dir', dir]);
    assert.match(human.out, /→ hello there {2}\[delivered\]/);
    assert.ok(!human.out.includes('\u001b'), 'escape sequences are neutralised');
    assert.match((await cli(['contacts', '--dir', dir])).out, /^bob +\w+ {2}verified$/m);
    assert.match((await cli(['status', '--dir', dir])).out, /^state {3}online/);

    // Errors come back with their codes and exit codes.
    const nobody = await cli(['send', 'nobody', 'x', '--dir', dir]);
    assert.equal(nobody.code, EXIT_CODES.NOT_FOUND);
    assert.equal((await cli(['send', 'bob', 'x', '--ttl', 'soon', '--dir', dir])).code, EXIT_CODES.INVALID_ARGUMENT);
    assert.equal((await cli(['messages', 'bob', '--count', '0', '--dir', dir])).code, EXIT_CODES.INVALID_ARGUMENT);

    // One daemon per folder.
    const second = await cli(['start', '--dir', dir]);
    assert.equal(second.code, EXIT_CODES.ALREADY_EXISTS);
    assert.match(second.err, /already running/);

    d.io.stop('SIGTERM');
    assert.equal(await d.done, 0);
    assert.ok(d.stopped(), 'the node was stopped');
    for (const f of ['daemon.json', 'api.token', 'daemon.lock']) assert.ok(!existsSync(join(dir, f)), `${f} removed`);
    const after = await cli(['status', '--dir', dir]);
    assert.equal(after.code, EXIT_CODES.NOT_RUNNING);
    assert.match(after.err, /compeer start/);
  });

  it('start without an identity is NOT_FOUND unless --init; --json prints {ready, api, userId, addresses}', async (t) => {
    const dir = join(tempDir(t), 'home');
    const missing = await cli(['start', '--dir', dir]);
    assert.equal(missing.code, EXIT_CODES.NOT_FOUND);
    assert.match(missing.err, /compeer init/);
    assert.equal((await cli(['init', '--dir', dir])).code, 0);
    const d = await startDaemon(['--dir', dir, '--json', '--print-invite', '--api', '127.0.0.1:0']);
    const ready = JSON.parse(d.io.out) as Record<string, unknown>;
    assert.deepEqual(Object.keys(ready).sort(), ['addresses', 'api', 'invite', 'ready', 'userId']);
    assert.equal(ready.ready, true);
    d.io.stop();
    assert.equal(await d.done, 0);
    assert.equal((await cli(['start', '--dir', dir, '--api', '0.0.0.0:0'])).code, EXIT_CODES.INVALID_ARGUMENT);
    assert.equal((await cli(['start', '--dir', dir, '--api', 'nonsense'])).code, EXIT_CODES.INVALID_ARGUMENT);
    assert.ok(!existsSync(join(dir, 'daemon.lock')), 'a failed start leaves no lock');
  });

  it('a start that fails half-way (API port taken) stops the node and leaves no files behind', async (t) => {
    const dir = join(tempDir(t), 'home');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    t.after(() => blocker.close());
    const port = (blocker.address() as AddressInfo).port;
    let stopped = false;
    const io = fakeIo({}, { createNode: async (): Promise<DaemonNode> => Object.assign(fakeApi(), { stop: async () => void (stopped = true) }) });
    assert.equal(await run(['start', '--init', '--dir', dir, '--api', `127.0.0.1:${port}`], io), EXIT_CODES.INVALID_ARGUMENT);
    assert.match(io.err, /cannot listen/);
    assert.ok(stopped, 'the node was stopped');
    assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith('compeer.db') && f !== 'storage.key'), []);
  });

  it('--print-invite shows the invite link, a QR code and the API address', async (t) => {
    const dir = join(tempDir(t), 'home');
    const d = await startDaemon(['--dir', dir, '--init', '--print-invite']);
    await until(() => /Local API/.test(d.io.out), 'the invite');
    assert.match(d.io.out, /^ready\n/);
    assert.match(d.io.out, /compeer:\/\/invite\/fake/);
    assert.match(d.io.out, /[█▀▄]{10}/);
    assert.match(d.io.out, /Local API: http:\/\/127\.0\.0\.1:\d+/);
    d.io.stop();
    await d.done;
  });

  it('--ephemeral writes nothing and prints the API address and token for COMPEER_API*', async (t) => {
    const base = tempDir(t);
    const dir = join(base, 'never');
    const d = await startDaemon(['--dir', dir, '--ephemeral']);
    t.after(() => d.io.stop());
    assert.equal(d.opts[0]?.ephemeral, true);
    const api = /^api +(\S+)$/m.exec(d.io.out)?.[1] ?? '';
    const token = /^token +([0-9a-f]{64})$/m.exec(d.io.out)?.[1] ?? '';
    assert.ok(!existsSync(dir), 'no data folder');
    assert.deepEqual(readdirSync(base), []);
    const st = await cli(['status', '--json'], { COMPEER_API: api, COMPEER_API_TOKEN: token });
    assert.equal(st.code, 0, st.err);
    d.io.stop();
    await d.done;
  });

  it('chat: shows history and incoming messages, sends lines, ends on /quit', async (t) => {
    const dir = join(tempDir(t), 'home');
    const d = await startDaemon(['--dir', dir, '--init']);
    t.after(() => d.io.stop());
    await cli(['add', 'compeer://carolcarol', '--name', 'carol', '--dir', dir]);
    d.node.deliver('carol', 'earlier');
    const stdin = new PassThrough();
    const io = fakeIo({}, { stdin });
    const done = run(['chat', 'carol', '--dir', dir], io);
    await until(() => /chat with carol/.test(io.out), 'the chat header');
    assert.match(io.out, /← earlier/);
    d.node.deliver('carol', 'live one');
    await until(() => /← live one/.test(io.out), 'a live message');
    stdin.write('typed here\n');
    await until(() => /message m\d+: delivered/.test(io.out), 'the delivery update');
    stdin.write('/quit\n');
    assert.equal(await done, 0);
    assert.equal((await cli(['chat', 'nobody', '--dir', dir])).code, EXIT_CODES.NOT_FOUND);
    d.io.stop();
    await d.done;
  });
});
