// The container test trusts this reader, so its lexical rules are pinned here on small Dockerfiles.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copies, DockerfileError, environment, execForm, healthCheck, logicalLines, parseDockerfile } from './dockerfile.js';

describe('logical lines', () => {
  const cases: { name: string; text: string; expected: [string, string, number][] }[] = [
    { name: 'one instruction per line, keyword upper-cased', text: 'from a\nrun b', expected: [['FROM', 'a', 1], ['RUN', 'b', 2]] },
    { name: 'a trailing backslash continues the line', text: 'RUN a \\\n  && b', expected: [['RUN', 'a   && b', 1]] },
    { name: 'comments inside a continuation are dropped', text: 'RUN a \\\n# note\n  b', expected: [['RUN', 'a   b', 1]] },
    { name: 'blank lines inside a continuation are skipped', text: 'RUN a \\\n\n  b', expected: [['RUN', 'a   b', 1]] },
    { name: 'comment and blank lines between instructions vanish', text: '# x\n\nFROM a\n  # y\nUSER 1', expected: [['FROM', 'a', 3], ['USER', '1', 5]] },
  ];
  for (const { name, text, expected } of cases) {
    test(name, () => {
      assert.deepEqual(logicalLines(text).map((i) => [i.keyword, i.args, i.line]), expected);
    });
  }

  const errors: { name: string; text: string; pattern: RegExp }[] = [
    { name: 'an unknown instruction', text: 'FROM a\nRUNN b', pattern: /line 2: unknown instruction "RUNN"/ },
    { name: 'a dangling continuation', text: 'FROM a\nRUN b \\', pattern: /line 2: .*continuation/ },
    { name: 'another escape character', text: '# escape=`\nFROM a', pattern: /line 1: only the default escape/ },
  ];
  for (const { name, text, pattern } of errors) {
    test(`refuses ${name}`, () => {
      assert.throws(() => logicalLines(text), (err: unknown) => err instanceof DockerfileError && pattern.test(err.message));
    });
  }
});

describe('stages and instructions', () => {
  const text = [
    'ARG BASE=node:20-bookworm-slim',
    'FROM ${BASE} AS build',
    'RUN make',
    'FROM $BASE',
    'ENV A=1 \\',
    '    B=/x/y',
    'ENV C 3',
    'COPY --from=build /src/dist ./dist',
    'COPY a b ./',
    'HEALTHCHECK --interval=30s --retries=3 CMD ["node", "-e", "x"]',
    'ENTRYPOINT ["node", "main.js"]',
    'CMD start --flag',
  ].join('\n');
  const file = parseDockerfile(text);
  const [build, runtime] = file.stages;

  test('FROM images are expanded from global ARG defaults, with stage names', () => {
    assert.equal(file.stages.length, 2);
    assert.deepEqual([build?.from, build?.name, runtime?.from, runtime?.name], ['node:20-bookworm-slim', 'build', 'node:20-bookworm-slim', undefined]);
  });

  test('ENV in both forms, across continuations', () => {
    assert.ok(runtime);
    assert.deepEqual([...environment(runtime)], [['A', '1'], ['B', '/x/y'], ['C', '3']]);
  });

  test('COPY sources, destination and --from', () => {
    assert.ok(runtime);
    assert.deepEqual(copies(runtime), [
      { from: 'build', sources: ['/src/dist'], destination: './dist' },
      { from: undefined, sources: ['a', 'b'], destination: './' },
    ]);
  });

  test('HEALTHCHECK options and exec-form command', () => {
    assert.ok(runtime);
    const check = healthCheck(runtime);
    assert.deepEqual([...(check?.options ?? [])], [['interval', '30s'], ['retries', '3']]);
    assert.deepEqual(check?.exec, ['node', '-e', 'x']);
  });

  test('exec form is a JSON array of strings; anything else is the shell form', () => {
    assert.deepEqual(execForm('["node", "main.js"]'), ['node', 'main.js']);
    assert.equal(execForm('start --flag'), undefined);
    assert.equal(execForm('[node, main.js]'), undefined);
    assert.equal(execForm('["node", 1]'), undefined);
  });

  test('a FROM variable without a default is an error', () => {
    assert.throws(() => parseDockerfile('ARG BASE\nFROM ${BASE}'), /line 2: ARG BASE has no default/);
  });
});
