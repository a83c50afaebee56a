// Imports run one way between the layers (issue 15): no two of the folders below import each other, and
// observability/ names what it counts without importing the data path or the configuration loader. Read
// from the .ts sources, so the rule holds for type-only imports too.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

/** The folders that must not import each other both ways. */
const LAYERS = ['proxy', 'tls', 'policy', 'config', 'observability', 'auth'];

/** What observability/ may not import: the data path, and any of config/ but the configuration's types. */
const OBSERVABILITY_FORBIDDEN = (target: string): boolean =>
  target.startsWith('proxy/') || target.startsWith('tls/') || (target.startsWith('config/') && target !== 'config/types.ts');

interface Edge {
  readonly from: string;
  readonly to: string;
  /** Path below the repository root, e.g. `src/tls/listener.ts`. */
  readonly file: string;
  /** The imported module below src/, e.g. `proxy/context.ts`. */
  readonly target: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative specifiers of static, side-effect, re-export and dynamic imports. */
function specifiers(text: string): string[] {
  const found = text.matchAll(/(?:\bfrom\s+|\bimport\s+|\bimport\s*\(\s*)'(\.{1,2}\/[^']+)'/g);
  return [...found].map((match) => match[1] as string);
}

function folderOf(pathBelowSrc: string): string {
  return pathBelowSrc.split('/')[0] as string;
}

/** Every import from one folder of src/ into another. */
function crossFolderEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const path of sourceFiles(SRC)) {
    const below = relative(SRC, path).split(sep).join('/');
    for (const specifier of specifiers(readFileSync(path, 'utf8'))) {
      const target = relative(SRC, resolve(dirname(path), specifier)).split(sep).join('/').replace(/\.js$/, '.ts');
      if (folderOf(target) !== folderOf(below)) edges.push({ from: folderOf(below), to: folderOf(target), file: `src/${below}`, target });
    }
  }
  return edges;
}

/** Folder pairs among `layers` that import each other both ways, each named with the files on both sides. */
export function bothWays(edges: readonly Edge[], layers: readonly string[]): string[] {
  const counted = edges.filter((edge) => layers.includes(edge.from) && layers.includes(edge.to));
  const files = (from: string, to: string): string[] => [...new Set(counted.filter((e) => e.from === from && e.to === to).map((e) => e.file))].sort();
  const pairs: string[] = [];
  for (const [i, a] of layers.entries()) {
    for (const b of layers.slice(i + 1)) {
      const forth = files(a, b);
      const back = files(b, a);
      if (forth.length > 0 && back.length > 0) pairs.push(`${a} <-> ${b} (${a} -> ${b}: ${forth.join(', ')}; ${b} -> ${a}: ${back.join(', ')})`);
    }
  }
  return pairs;
}

describe('imports between folders of src/', () => {
  const edges = crossFolderEdges();

  test('the source tree is read: imports from every layer are seen', () => {
    for (const layer of LAYERS) assert.ok(edges.some((edge) => edge.from === layer || edge.to === layer), `no import seen for ${layer}/`);
  });

  test('no two of proxy, tls, policy, config, observability and auth import each other both ways', () => {
    assert.deepEqual(bothWays(edges, LAYERS), []);
  });

  test('observability/ imports neither proxy/, tls/ nor the configuration loader (only config/types.ts)', () => {
    const bad = edges.filter((edge) => edge.from === 'observability' && OBSERVABILITY_FORBIDDEN(edge.target));
    assert.deepEqual(bad.map((edge) => `${edge.file} imports ${edge.target}`), []);
  });

  test('the check names a pair that imports both ways, with its files, and nothing else', () => {
    const sample: Edge[] = [
      { from: 'tls', to: 'config', file: 'src/tls/a.ts', target: 'config/types.ts' },
      { from: 'config', to: 'tls', file: 'src/config/b.ts', target: 'tls/material.ts' },
      { from: 'proxy', to: 'policy', file: 'src/proxy/c.ts', target: 'policy/decide.ts' },
      { from: 'cli', to: 'proxy', file: 'src/cli/d.ts', target: 'proxy/gateway.ts' },
      { from: 'proxy', to: 'cli', file: 'src/proxy/e.ts', target: 'cli/io.ts' },
    ];
    assert.deepEqual(bothWays(sample, LAYERS), ['tls <-> config (tls -> config: src/tls/a.ts; config -> tls: src/config/b.ts)']);
  });

  test('imports are found in every form they take', () => {
    const text = [
      "import type {\n  A,\n  B,\n} from '../config/types.js';",
      "import '../tls/side-effect.js';",
      "export { C } from './sibling.js';",
      "const d = await import('../proxy/lazy.js');",
      "import { readFile } from 'node:fs';",
    ].join('\n');
    assert.deepEqual(specifiers(text), ['../config/types.js', '../tls/side-effect.js', './sibling.js', '../proxy/lazy.js']);
  });
});
