#!/usr/bin/env node
// The `compeer` executable. Compeer needs Node >= 24 (libp2p 3, node:sqlite, type stripping); many
// machines have an older system Node, so under one this re-runs itself with the Node 24 that the
// package installs (devDependency "node"), passing arguments, stdio, signals and the exit code through.
// Plain JS, no syntax newer than Node 16, so that an old Node can at least run this far.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIN_MAJOR = 24;
const self = fileURLToPath(import.meta.url);
const major = Number(process.versions.node.split('.')[0]);

if (major >= MIN_MAJOR) {
  await import('../src/cli/main.ts');
} else {
  const pinned = join(dirname(self), '..', 'node_modules', 'node', 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (!existsSync(pinned)) {
    console.error(`compeer: needs Node >= ${MIN_MAJOR} (this is ${process.version}); run \`npm install\` in ${join(dirname(self), '..')}`);
    process.exit(1);
  }
  const child = spawn(pinned, [self, ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C reaches the whole process group: let the child decide, don't die before it. Forward the
  // signals that are sent to this process alone.
  process.on('SIGINT', () => {});
  for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('error', (err) => {
    console.error(`compeer: cannot run ${pinned}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal); // die the same way, so callers see the signal
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}
