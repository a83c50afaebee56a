import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readYaml } from '../../src/config/document.js';

describe('readYaml', () => {
  test('a document becomes a plain value, and key paths find their lines', () => {
    const result = readYaml('cloud: public\nauth:\n  users:\n    - name: a\n      passwordHash: x\nlog:\n  level: info\n');
    assert.ok(result.ok);
    assert.deepEqual(result.value, { cloud: 'public', auth: { users: [{ name: 'a', passwordHash: 'x' }] }, log: { level: 'info' } });
    const lines: [PropertyKey[], number | undefined][] = [
      [['cloud'], 1],
      [['auth'], 2],
      [['auth', 'users', 0], 4],
      [['auth', 'users', 0, 'passwordHash'], 5],
      [['auth', 'users', 0, 'missing'], 4],
      [['auth', 'users', 7], 3],
      [['log', 'level'], 7],
      [[], 1],
    ];
    for (const [path, line] of lines) assert.equal(result.locate(path), line, path.join('.'));
  });

  test('an empty document is null', () => {
    const result = readYaml('# nothing\n');
    assert.ok(result.ok);
    assert.equal(result.value, null);
  });

  test('anchors and aliases resolve', () => {
    const result = readYaml('a: &ports [443]\nb: *ports\n');
    assert.ok(result.ok);
    assert.deepEqual(result.value, { a: [443], b: [443] });
  });

  const refused: [string, string, { key: string; line: number | undefined; message: string }][] = [
    ['a second document', 'a: 1\n---\nb: 2\n', { key: '', line: 2, message: 'YAML syntax (MULTIPLE_DOCS): expected a single document; remove the second "---"' }],
    ['a tag', 'a: !secret x\n', { key: '', line: 1, message: 'YAML syntax (TAG_RESOLVE_FAILED): tags such as !name are not supported; write plain values' }],
    ['an alias without anchor', 'a: *nowhere\n', { key: '', line: undefined, message: 'YAML: Unresolved alias (the anchor must be set before the alias)' }],
    ['a list as a key', '? [a, b]\n: 1\n', { key: '', line: 1, message: 'expected plain text as a key' }],
    ['a repeated key in a list item', 'users:\n  - name: a\n    name: b\n', { key: 'users[0].name', line: 3, message: 'duplicate key; write each key once' }],
    ['a repeated odd key', '"a b": 1\n"a b": 2\n', { key: '["a b"]', line: 2, message: 'duplicate key; write each key once' }],
    ['an unterminated string', 'a: "abc\n', { key: '', line: 2, message: 'YAML syntax (MISSING_CHAR): Missing closing "quote' }],
  ];
  for (const [name, text, issue] of refused) {
    test(`refuses ${name}`, () => assert.deepEqual(readYaml(text), { ok: false, issues: [issue] }));
  }
});
