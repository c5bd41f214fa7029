/**
 * Keeps the layering of DESIGN.md true: lib ← crypto ← protocol ← store ← routing ← net ← node ← api ←
 * cli | web. A file may import its own layer and the layers below it, never above (nor cli ↔ web);
 * only src/net/ may import libp2p (and its helpers: @multiformats/*, it-*, datastore packages); pure layers may not reach the real clock/randomness (lib/system.ts)
 * or do I/O (store may use node:fs, and node:sqlite which no rule forbids).
 * Test files beside their subject (*.test.ts) are exempt from the I/O rule only.
 */
import assert from 'node:assert/strict';
import { globSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

export const LAYERS = ['lib', 'crypto', 'protocol', 'store', 'routing', 'net', 'node', 'api', 'cli', 'web'] as const;
const RANK: Record<string, number> = { lib: 0, crypto: 1, protocol: 2, store: 3, routing: 4, net: 5, node: 6, api: 7, cli: 8, web: 8 };
const PURE = new Set(['lib', 'crypto', 'protocol', 'routing', 'store']);
const IO_MODULES = ['fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'tls', 'child_process', 'dgram'];
const STORE_IO = new Set(['fs', 'fs/promises']);
const LIBP2P = /^(libp2p(\/|$)|@libp2p\/|@chainsafe\/|@multiformats\/|it-[a-z0-9-]+(\/|$)|datastore-core(\/|$)|interface-datastore(\/|$))/;

export interface Source {
  path: string; // repository-relative, with forward slashes: src/store/x.ts
  text: string;
}
export interface Violation {
  file: string;
  specifier: string;
  rule: 'layer' | 'libp2p' | 'io';
  message: string;
}

/** Every module specifier in `text`: static, type-only, re-exports and dynamic import('…'). */
export function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

function layerOf(path: string): string | undefined {
  const m = /^src\/([^/]+)\//.exec(path);
  return m?.[1];
}

export function checkImports(files: readonly Source[]): Violation[] {
  const out: Violation[] = [];
  for (const file of files) {
    const from = layerOf(file.path);
    if (from === undefined) continue;
    const add = (specifier: string, rule: Violation['rule'], message: string): void => {
      out.push({ file: file.path, specifier, rule, message });
    };
    if (RANK[from] === undefined) {
      add('', 'layer', `src/${from}/ is not a layer (${LAYERS.join(', ')}); add it to DESIGN.md and this test`);
      continue;
    }
    for (const spec of importsOf(file.text)) {
      if (LIBP2P.test(spec) && from !== 'net') add(spec, 'libp2p', `only src/net/ may import ${spec}`);
      const bare = spec.replace(/^node:/, '');
      if (PURE.has(from) && !file.path.endsWith('.test.ts') && IO_MODULES.includes(bare) && !(from === 'store' && STORE_IO.has(bare))) {
        add(spec, 'io', `src/${from}/ does no I/O; ${spec} belongs in a higher layer`);
      }
      if (!spec.startsWith('.')) continue;
      const target = posix.normalize(posix.join(posix.dirname(file.path), spec));
      if (PURE.has(from) && !file.path.endsWith('.test.ts') && target === 'src/lib/system.ts') {
        add(spec, 'io', `src/${from}/ takes Rng/Clock as parameters; only composition roots import lib/system.ts`);
      }
      const to = layerOf(target);
      if (to === undefined || to === from) continue;
      const toRank = RANK[to];
      if (toRank === undefined || toRank >= (RANK[from] ?? 0)) {
        add(spec, 'layer', `src/${from}/ may not import src/${to}/ (dependencies point down: ${LAYERS.join(' ← ')})`);
      }
    }
  }
  return out;
}

const src = (path: string, text: string): Source => ({ path, text });
const rules = (files: Source[]): string[] => checkImports(files).map((v) => `${v.file}:${v.rule}:${v.specifier}`);

describe('layer checker (synthetic inputs)', () => {
  it('allows imports of the own layer and the layers below', () => {
    assert.deepEqual(rules([
      src('src/store/a.ts', `import { x } from '../protocol/identity.ts';\nimport { y } from './b.ts';\nimport { z } from '../lib/bytes.ts';`),
      src('src/cli/a.ts', `import { openStore } from '../store/store.ts';\nimport { systemRng } from '../lib/system.ts';`),
      src('src/net/a.ts', `import { tcp } from '@libp2p/tcp';\nimport { createLibp2p } from 'libp2p';\nimport { noise } from '@chainsafe/libp2p-noise';`),
      src('src/store/db.ts', `import { DatabaseSync } from 'node:sqlite';\nimport { readFileSync } from 'node:fs';`),
    ]), []);
  });

  it('rejects an import that points up, in every syntax', () => {
    assert.deepEqual(rules([
      src('src/protocol/a.ts', `import type { Store } from '../store/store.ts';`),
      src('src/crypto/b.ts', `export { x } from '../protocol/x.ts';`),
      src('src/lib/c.ts', `const m = await import('../net/node.ts');`),
      src('src/routing/d.ts', `import {\n  a,\n  b,\n} from '../node/node.ts';`),
      src('src/cli/e.ts', `import '../web/app.ts';`),
    ]), [
      'src/protocol/a.ts:layer:../store/store.ts',
      'src/crypto/b.ts:layer:../protocol/x.ts',
      'src/lib/c.ts:layer:../net/node.ts',
      'src/routing/d.ts:layer:../node/node.ts',
      'src/cli/e.ts:layer:../web/app.ts',
    ]);
  });

  it('ignores imports in comments and strings', () => {
    assert.deepEqual(rules([src('src/lib/a.ts', `// import x from '../cli/main.ts';\nconst s = "from '../cli/main.ts'";`)]), []);
  });

  it('rejects libp2p outside src/net/', () => {
    assert.deepEqual(rules([
      src('src/node/a.ts', `import { tcp } from '@libp2p/tcp';`),
      src('src/routing/b.ts', `import type { Libp2p } from 'libp2p';`),
      src('src/api/c.ts', `import { gossipsub } from '@chainsafe/libp2p-gossipsub';`),
      src('src/node/d.ts', `import { multiaddr } from '@multiformats/multiaddr';\nimport { pipe } from 'it-pipe';\nimport { MemoryDatastore } from 'datastore-core';`),
    ]), [
      'src/node/a.ts:libp2p:@libp2p/tcp',
      'src/routing/b.ts:libp2p:libp2p',
      'src/api/c.ts:libp2p:@chainsafe/libp2p-gossipsub',
      'src/node/d.ts:libp2p:@multiformats/multiaddr',
      'src/node/d.ts:libp2p:it-pipe',
      'src/node/d.ts:libp2p:datastore-core',
    ]);
  });

  it('rejects I/O and the real clock/randomness in pure layers', () => {
    assert.deepEqual(rules([
      src('src/crypto/a.ts', `import { readFileSync } from 'node:fs';`),
      src('src/protocol/b.ts', `import { connect } from 'net';`),
      src('src/store/c.ts', `import { spawn } from 'node:child_process';`),
      src('src/routing/d.ts', `import { systemClock } from '../lib/system.ts';`),
      src('src/store/e.ts', `import { systemRng } from '../lib/system.ts';`),
      src('src/lib/f.ts', `import { createSocket } from 'node:dgram';`),
      src('src/node/g.ts', `import { createServer } from 'node:http';\nimport { systemRng } from '../lib/system.ts';`),
      src('src/crypto/h.test.ts', `import { readFileSync } from 'node:fs';`),
    ]), [
      'src/crypto/a.ts:io:node:fs',
      'src/protocol/b.ts:io:net',
      'src/store/c.ts:io:node:child_process',
      'src/routing/d.ts:io:../lib/system.ts',
      'src/store/e.ts:io:../lib/system.ts',
      'src/lib/f.ts:io:node:dgram',
    ]);
  });

  it('rejects a folder under src/ that is not a layer', () => {
    assert.deepEqual(rules([src('src/utils/a.ts', '')]), ['src/utils/a.ts:layer:']);
  });
});

describe('layers of src/', () => {
  it('every file under src/ respects the layer rules', () => {
    const files = globSync('src/**/*.ts').map((p) => src(p.split('\\').join('/'), readFileSync(p, 'utf8')));
    assert.ok(files.length > 10, `expected the source tree, found ${files.length} files (run from the repository root)`);
    const violations = checkImports(files);
    assert.deepEqual(violations.map((v) => `${v.file}: ${v.message}`), []);
  });
});
