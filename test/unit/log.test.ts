/**
 * No key material reaches the output at any log level: run the real CLI at debug level in a child
 * process, read the private keys back from the store, and search stdout+stderr for every common
 * encoding of any 16-byte run of them. Plus unit tests of the logger's redaction.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fromBase32, toBase32, toHex } from '../../src/lib/bytes.ts';
import { createLogger, type LogLevel } from '../../src/lib/log.ts';
import { systemClock, systemRng } from '../../src/lib/system.ts';
import { loadIdentityKeyPair } from '../../src/store/identity-keys.ts';
import { openStore } from '../../src/store/store.ts';
import { KEY_FILE } from '../../src/store/storage-key.ts';
import { tempDir } from './store/helpers.ts';

const WINDOW = 16;

/** Every byte string that `output` could be hiding: itself, and each hex/base64/base32 run decoded at every alignment. */
function candidates(output: Buffer): Uint8Array[] {
  const text = output.toString('latin1');
  const out: Uint8Array[] = [output, Buffer.from(output.toString('utf8'), 'latin1')];
  for (const [m] of text.matchAll(/[0-9a-fA-F]{32,}/g)) for (const o of [0, 1]) out.push(Buffer.from(m.slice(o), 'hex'));
  for (const [m] of text.matchAll(/[A-Za-z0-9+/_-]{22,}/g)) {
    const std = m.replace(/-/g, '+').replace(/_/g, '/');
    for (let o = 0; o < 4; o++) out.push(Buffer.from(std.slice(o), 'base64'));
  }
  for (const [m] of text.matchAll(/[A-Za-z2-7]{26,}/g)) for (let o = 0; o < 8; o++) out.push(fromBase32(m.slice(o)));
  return out;
}

/** A description of the first leaked 16-byte run of any secret, or null. */
export function findLeak(output: Buffer, secrets: Record<string, Uint8Array>): string | null {
  const windows = new Map<string, string>();
  for (const [name, s] of Object.entries(secrets)) {
    for (let i = 0; i + WINDOW <= s.length; i++) windows.set(toHex(s.subarray(i, i + WINDOW)), `${name}[${i}..${i + WINDOW}]`);
  }
  for (const c of candidates(output)) {
    for (let i = 0; i + WINDOW <= c.length; i++) {
      const hit = windows.get(toHex(c.subarray(i, i + WINDOW)));
      if (hit !== undefined) return hit;
    }
  }
  return null;
}

function runCli(args: string[], env: Record<string, string> = {}): Buffer {
  const base = { ...process.env };
  delete base.COMPEER_LOG_LEVEL;
  delete base.COMPEER_PASSPHRASE;
  const r = spawnSync(process.execPath, ['src/cli/main.ts', ...args], { env: { ...base, ...env } });
  assert.equal(r.status, 0, `compeer ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return Buffer.concat([r.stdout, r.stderr]);
}

/** Runs `compeer start …` until it prints `ready`, calls `during`, stops it with SIGINT; all its output. */
async function runDaemon<T>(args: string[], env: Record<string, string>, during: () => T): Promise<{ output: Buffer; during: T }> {
  const base = { ...process.env };
  delete base.COMPEER_LOG_LEVEL;
  delete base.COMPEER_PASSPHRASE;
  const proc = spawn(process.execPath, ['src/cli/main.ts', ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stdout = '';
  proc.stdout.on('data', (c: Buffer) => {
    chunks.push(c);
    stdout += c.toString();
  });
  proc.stderr.on('data', (c: Buffer) => chunks.push(c));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 30_000;
    while (!stdout.includes('ready\n')) {
      if (proc.exitCode !== null || Date.now() > deadline) assert.fail(`compeer start did not get ready: ${Buffer.concat(chunks).toString()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const result = during();
    proc.kill('SIGINT');
    assert.equal(await exited, 0, 'compeer start stops cleanly on SIGINT');
    return { output: Buffer.concat(chunks), during: result };
  } finally {
    proc.kill('SIGKILL');
  }
}

describe('leak detector (it can fail)', () => {
  const secret = new Uint8Array(randomBytes(32));
  const shifted = new Uint8Array([1, 2, 3, ...secret]);
  const plants: Record<string, string | Buffer> = {
    hex: toHex(secret),
    HEX: toHex(secret).toUpperCase(),
    'hex of a middle slice': toHex(secret.subarray(9, 9 + WINDOW)),
    base64: Buffer.from(secret).toString('base64'),
    base64url: Buffer.from(secret).toString('base64url'),
    'base64, shifted by 3 bytes, with a prefix': `key=${Buffer.from(shifted.subarray(1)).toString('base64')}`,
    base32: toBase32(secret),
    BASE32: toBase32(shifted).toUpperCase(),
    raw: Buffer.concat([Buffer.from('{"x":"'), Buffer.from(secret), Buffer.from('"}')]),
  };
  for (const [name, plant] of Object.entries(plants)) {
    it(`finds a secret written as ${name}`, () => {
      const output = Buffer.concat([Buffer.from('{"level":"debug","msg":"hello"}\n'), Buffer.from(plant), Buffer.from('\n')]);
      assert.notEqual(findLeak(output, { secret }), null);
    });
  }
  it('finds nothing in output that does not contain the secret', () => {
    const output = Buffer.from(`${toHex(randomBytes(64))} ${Buffer.from(randomBytes(64)).toString('base64')} ${toBase32(randomBytes(64))}`);
    assert.equal(findLeak(output, { secret }), null);
  });
});

describe('no key material in CLI output', () => {
  it('init, start (the daemon) and id at --log-level debug print no private key (identity, node, onion), key file, API token or passphrase', async (t) => {
    const dir = join(tempDir(t), 'home');
    let output = runCli(['init', '--log-level', 'debug', '--dir', dir, '--name', 'alice']);
    const daemon = await runDaemon(['start', '--dir', dir, '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'], { COMPEER_LOG_LEVEL: 'debug' }, () => {
      const id = runCli(['id', '--log-level', 'debug', '--dir', dir, '--json']);
      return { id, token: Buffer.from(readFileSync(join(dir, 'api.token'), 'utf8').trim(), 'hex') };
    });
    output = Buffer.concat([output, daemon.output, daemon.during.id]);
    const text = output.toString('utf8');
    assert.match(text, /"level":"debug","msg":"identity generated","userId":"[a-z2-7]{32}"/, 'debug logs were produced');

    const store = openStore({ dir, create: false, rng: systemRng, clock: systemClock });
    t.after(() => store.close());
    const id = loadIdentityKeyPair(store.identities);
    const stored = store.identities.get();
    assert.ok(id && stored);
    const secrets: Record<string, Uint8Array> = {
      ed25519Seed: id.signing.seed,
      x25519Private: id.dh.privateKey,
      encodedSecret: stored.secret,
      storageKey: new Uint8Array(readFileSync(join(dir, KEY_FILE))),
      apiToken: daemon.during.token,
      // The node's own secrets in the sealed key/value area: its libp2p key and its onion routing keys
      // (invite secrets are left out: the invite link printed by `id` carries one by design).
      ...Object.fromEntries(
        store.kv
          .keys('node.')
          .filter((k) => k === 'node.key' || k.startsWith('node.onion-key/'))
          .map((k) => [k, store.kv.get(k) as Uint8Array]),
      ),
    };
    assert.ok('node.key' in secrets && Object.keys(secrets).some((k) => k.startsWith('node.onion-key/')), `the node key and an onion key are searched for: ${Object.keys(secrets).join(', ')}`);
    assert.equal(findLeak(output, secrets), null);
  });

  it('with COMPEER_PASSPHRASE, neither the passphrase nor the derived keys appear', (t) => {
    const dir = join(tempDir(t), 'home');
    const passphrase = `pass-${toHex(randomBytes(16))}`;
    const output = runCli(['init', '--log-level', 'debug', '--dir', dir, '--json'], { COMPEER_PASSPHRASE: passphrase });
    assert.ok(!output.toString('utf8').includes(passphrase.slice(5, 21)));
    const store = openStore({ dir, create: false, rng: systemRng, clock: systemClock, passphrase });
    t.after(() => store.close());
    const id = loadIdentityKeyPair(store.identities);
    assert.ok(id);
    assert.equal(findLeak(output, { seed: id.signing.seed, dh: id.dh.privateKey }), null);
  });
});

describe('logger redaction', () => {
  const capture = (level: LogLevel = 'debug') => {
    const lines: string[] = [];
    const logger = createLogger({ level, sink: (l) => lines.push(l), now: () => 0 });
    return { logger, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
  };

  it('prints byte arrays as their length only', () => {
    const { logger, records } = capture();
    const bytes = new Uint8Array(randomBytes(32));
    logger.info('bytes', { blob: bytes, nested: { inner: bytes }, list: [bytes] });
    assert.deepEqual(records()[0], {
      t: '1970-01-01T00:00:00.000Z', level: 'info', msg: 'bytes',
      blob: '[32 bytes]', nested: { inner: '[32 bytes]' }, list: ['[32 bytes]'],
    });
  });

  it('redacts fields named like secrets or user content, at any depth and in bindings', () => {
    const { logger, records } = capture();
    const names = ['key', 'privateKey', 'secret_key', 'secret', 'seed', 'passphrase', 'password', 'token', 'text', 'plaintext', 'body', 'sas'];
    const fields = Object.fromEntries(names.map((n) => [n, 'SENSITIVE']));
    logger.child({ token: 'SENSITIVE' }).warn('fields', { ...fields, nested: { ...fields }, userId: 'abc' });
    const line = JSON.stringify(records()[0]);
    assert.ok(!line.includes('SENSITIVE'), line);
    assert.match(line, /"userId":"abc"/);
    assert.equal((records()[0]?.nested as Record<string, unknown>).seed, '[redacted]');
  });

  it('keeps errors to name, code and message, and honours the level', () => {
    const { logger, records } = capture('warn');
    logger.debug('hidden');
    logger.info('hidden');
    logger.error('failed', { error: Object.assign(new Error('boom'), { code: 'NOT_FOUND' }) });
    assert.deepEqual(records().map((r) => r.msg), ['failed']);
    assert.deepEqual(records()[0]?.error, { name: 'Error', code: 'NOT_FOUND', message: 'boom' });
    const silent = capture('silent');
    silent.logger.error('nothing');
    assert.equal(silent.records().length, 0);
  });
});
