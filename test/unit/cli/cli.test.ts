/** The `compeer` program driven in-process: global options, init, errors and exit codes (the daemon: daemon.test.ts). */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT_CODES, EXIT_SOFTWARE, exitCodeFor } from '../../../src/cli/output.ts';
import { defaultDataDir } from '../../../src/cli/paths.ts';
import { run } from '../../../src/cli/program.ts';
import { CompeerError, ErrorCodes } from '../../../src/lib/errors.ts';
import { tempDir } from '../store/helpers.ts';
import { fakeIo } from './fake-io.ts';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

describe('compeer CLI', () => {
  it('--version prints the package version; --help lists commands and global options', async () => {
    const io = fakeIo();
    assert.equal(await run(['--version'], io), 0);
    assert.equal(io.out.trim(), pkg.version);
    const help = fakeIo();
    assert.equal(await run(['init', '--help'], help), 0);
    for (const s of ['--name', '--dir', '--json', '--log-level']) assert.ok(help.out.includes(s), `init --help mentions ${s}`);
  });

  it('init --json creates DIR 0700 and prints {userId, name, dir}; a second init is ALREADY_EXISTS', async (t) => {
    const dir = join(tempDir(t), 'home');
    const io = fakeIo();
    assert.equal(await run(['init', '--name', 'alice', '--json', '--dir', dir], io), 0);
    const out = JSON.parse(io.out) as { userId: string; name: string; dir: string };
    assert.match(out.userId, /^[a-z2-7]{32}$/);
    assert.deepEqual(out, { userId: out.userId, name: 'alice', dir });
    assert.equal(io.err, '', 'nothing on stderr at the default level');
    assert.equal(statSync(dir).mode & 0o777, 0o700);

    const again = fakeIo();
    assert.equal(await run(['--dir', dir, 'init'], again), EXIT_CODES.ALREADY_EXISTS);
    assert.match(again.err, /^error: an identity already exists in .* \(ALREADY_EXISTS\)\n$/);
    const againJson = fakeIo();
    assert.equal(await run(['--dir', dir, '--json', 'init'], againJson), EXIT_CODES.ALREADY_EXISTS);
    assert.deepEqual(JSON.parse(againJson.out), { error: { code: 'ALREADY_EXISTS', message: `an identity already exists in ${dir}` } });
  });

  it('takes DIR from $COMPEER_HOME, relative paths from the working directory', async (t) => {
    const base = tempDir(t);
    const io = fakeIo({ COMPEER_HOME: join(base, 'env-home') });
    assert.equal(await run(['init', '--json'], io), 0);
    assert.equal((JSON.parse(io.out) as { dir: string }).dir, join(base, 'env-home'));
    const rel = fakeIo({}, { cwd: base });
    assert.equal(await run(['init', '--json', '--dir', 'rel'], rel), 0);
    assert.equal((JSON.parse(rel.out) as { dir: string }).dir, join(base, 'rel'));
  });

  it('usage errors exit 2 (with a JSON error under --json); id without a daemon is NOT_RUNNING', async (t) => {
    const io = fakeIo();
    assert.equal(await run(['init', '--bogus'], io), 2);
    assert.match(io.err, /unknown option/);
    const json = fakeIo();
    assert.equal(await run(['frobnicate', '--json'], json), 2);
    assert.equal((JSON.parse(json.out) as { error: { code: string } }).error.code, 'INVALID_ARGUMENT');
    assert.equal(await run(['--log-level', 'loud', 'id'], fakeIo()), 2);
    assert.equal(await run([], fakeIo()), 2);
    const missing = fakeIo();
    assert.equal(await run(['id', '--dir', join(tempDir(t), 'none')], missing), EXIT_CODES.NOT_RUNNING);
    assert.match(missing.err, /compeer start.*\(NOT_RUNNING\)/);
  });

  it('rejects a bad name and a bad COMPEER_LOG_LEVEL with INVALID_ARGUMENT', async (t) => {
    const dir = tempDir(t);
    assert.equal(await run(['init', '--dir', dir, '--name', 'a\u001b[2Jb'], fakeIo()), EXIT_CODES.INVALID_ARGUMENT);
    assert.equal(await run(['init', '--dir', dir, '--name', 'x'.repeat(65)], fakeIo()), EXIT_CODES.INVALID_ARGUMENT);
    const io = fakeIo({ COMPEER_LOG_LEVEL: 'chatty' });
    assert.equal(await run(['id', '--dir', dir], io), EXIT_CODES.INVALID_ARGUMENT);
    assert.match(io.err, /log level/);
  });

  it('gives every error code its own exit code; unknown errors exit 70', () => {
    const codes = Object.values(ErrorCodes).map((c) => exitCodeFor(new CompeerError(c, 'x')));
    const nonInternal = codes.filter((c) => c !== EXIT_SOFTWARE);
    assert.equal(new Set(nonInternal).size, Object.keys(ErrorCodes).length - 1, 'one exit code per error code');
    assert.ok(codes.every((c) => c > 2 && c < 126));
    assert.equal(exitCodeFor(new TypeError('boom')), 70);
    assert.equal(exitCodeFor(new CompeerError(ErrorCodes.INTERNAL, 'bug')), 70);
  });
});

describe('default data folder', () => {
  it('follows $COMPEER_HOME, then each platform convention', () => {
    assert.equal(defaultDataDir({ COMPEER_HOME: '/x' }, 'linux', '/home/u'), '/x');
    assert.equal(defaultDataDir({}, 'linux', '/home/u'), '/home/u/.local/share/compeer');
    assert.equal(defaultDataDir({ XDG_DATA_HOME: '/data' }, 'linux', '/home/u'), '/data/compeer');
    assert.equal(defaultDataDir({ XDG_DATA_HOME: 'relative' }, 'linux', '/home/u'), '/home/u/.local/share/compeer');
    assert.equal(defaultDataDir({ COMPEER_HOME: '' }, 'freebsd', '/home/u'), '/home/u/.local/share/compeer');
    assert.equal(defaultDataDir({}, 'darwin', '/Users/u'), '/Users/u/Library/Application Support/Compeer');
    assert.equal(defaultDataDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u'), 'C:\\Users\\u\\AppData\\Roaming\\Compeer');
    assert.equal(defaultDataDir({}, 'win32', 'C:\\Users\\u'), 'C:\\Users\\u\\AppData\\Roaming\\Compeer');
  });
});
