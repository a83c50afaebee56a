// No object literal in the folders whose code runs per connection (proxy, tls, net, auth, policy,
// observability) begins with a spread that other members follow (`{ ...fields, decision }`,
// `{ ...a, ...b }`). On Node 20's V8 every object such a literal makes gets a hidden class (map) of its own:
// a map and its descriptors are allocated in the old generation per object, and code reading the objects
// turns megamorphic. The audit records of a tunnel were built that way, three times per tunnel; a heap
// snapshot of 1,000 idle tunnels counted 3 maps and 3 descriptor arrays per tunnel. A leading literal member
// (`{ event, ...fields }`) or Object.assign({}, a, b) shares maps as expected: the test below pins that down
// too (it reads V8's own answer, with natives syntax turned on for this test process only).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));
/** Where code runs per connection, request or record; config/, cli/ and cluster/ run at start and reload. */
const PER_CONNECTION = ['proxy', 'tls', 'net', 'auth', 'policy', 'observability'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** `file:line` of every object literal whose first member is a spread and which has more members. */
export function leadingSpreads(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isObjectLiteralExpression(node) && node.properties.length > 1 && ts.isSpreadAssignment(node.properties[0] as ts.ObjectLiteralElementLike)) {
      found.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('object literals in the per-connection folders of src/', () => {
  test('the finder sees a leading spread followed by members, and nothing else', () => {
    assert.deepEqual(leadingSpreads('a.ts', 'const a = { ...b, c: 1 };\nconst d = {\n  ...e,\n  ...f,\n};'), ['a.ts:1', 'a.ts:2']);
    assert.deepEqual(leadingSpreads('a.ts', 'const a = { c: 1, ...b };\nconst d = { ...e };\nconst g = Object.assign({}, b, { c });'), []);
  });

  test('the forms the rule leaves share one hidden class across objects', () => {
    setFlagsFromString('--allow-natives-syntax');
    // Natives syntax is reachable only from source compiled after the flag is set.
    const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
    const fields = (i: number): Record<string, unknown> => ({ exchangeId: `x-${i}`, client: '127.0.0.1', clientPort: i, method: 'CONNECT' });
    const forms = {
      'Object.assign': (i: number) => Object.assign({}, fields(i), { decision: 'allow' }, { bytes: i }),
      'leading member': (i: number) => ({ event: 'request-allowed', ...fields(i), decision: 'allow' }),
    };
    for (const [name, make] of Object.entries(forms)) {
      const made = Array.from({ length: 50 }, (_, i) => make(i));
      assert.ok(made.every((object) => sameMap(object, made[0] as object)), name);
    }
  });

  test('none begins with a spread that other members follow', () => {
    const files = PER_CONNECTION.flatMap((folder) => sourceFiles(join(SRC, folder)));
    assert.ok(files.length > 50, `only ${files.length} files read`);
    const found = files.flatMap((path) => leadingSpreads(relative(join(SRC, '..'), path), readFileSync(path, 'utf8')));
    assert.deepEqual(found, []);
  });
});
