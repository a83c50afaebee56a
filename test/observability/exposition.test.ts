// The exposition reader behind `oms-gateway status`: every form the text format allows, and lines it must refuse.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExpositionError, parseExposition, total, totalsBy } from '../../src/observability/exposition.js';

describe('parseExposition', () => {
  const cases: readonly { name: string; text: string; expected: unknown[] }[] = [
    { name: 'a bare sample', text: 'up 1\n', expected: [{ name: 'up', labels: {}, value: 1 }] },
    {
      name: 'HELP, TYPE and comments are skipped',
      text: '# HELP x_total Things.\n# TYPE x_total counter\n# a comment\nx_total 3\n',
      expected: [{ name: 'x_total', labels: {}, value: 3 }],
    },
    {
      name: 'labels, spaces and a trailing comma',
      text: 'x{a="1", b="two",} 2.5\n',
      expected: [{ name: 'x', labels: { a: '1', b: 'two' }, value: 2.5 }],
    },
    {
      name: 'escaped quote, backslash and newline in a label value',
      text: 'x{path="a\\"b\\\\c\\nd"} 1\n',
      expected: [{ name: 'x', labels: { path: 'a"b\\c\nd' }, value: 1 }],
    },
    { name: 'a comma and a brace inside a label value', text: 'x{v="a,}b"} 1\n', expected: [{ name: 'x', labels: { v: 'a,}b' }, value: 1 }] },
    { name: '+Inf bucket bound and a timestamp', text: 'h_bucket{le="+Inf"} 7 1700000000000\n', expected: [{ name: 'h_bucket', labels: { le: '+Inf' }, value: 7 }] },
    { name: 'exponent notation', text: 'x 1.5e+3\n', expected: [{ name: 'x', labels: {}, value: 1500 }] },
    { name: 'infinite values', text: 'x +Inf\ny -Inf\n', expected: [{ name: 'x', labels: {}, value: Infinity }, { name: 'y', labels: {}, value: -Infinity }] },
    { name: 'CRLF line ends and blank lines', text: 'a 1\r\n\r\nb 2\r\n', expected: [{ name: 'a', labels: {}, value: 1 }, { name: 'b', labels: {}, value: 2 }] },
  ];
  for (const { name, text, expected } of cases) {
    test(name, () => assert.deepEqual(parseExposition(text), expected));
  }

  test('NaN is a value, in any case (prom-client writes "Nan")', () => {
    for (const text of ['x NaN\n', 'x Nan\n', 'x nan\n']) {
      const [sample] = parseExposition(text);
      assert.ok(sample !== undefined && Number.isNaN(sample.value), text);
    }
  });

  const refused: readonly { name: string; text: string; why: RegExp }[] = [
    { name: 'no value', text: 'x\n', why: /line 1 .*sample value/ },
    { name: 'a value that is not a number', text: 'ok 1\nx abc\n', why: /line 2 .*sample value/ },
    { name: 'an unterminated label value', text: 'x{a="1} 1\n', why: /unterminated/ },
    { name: 'a label without quotes', text: 'x{a=1} 1\n', why: /label="value"/ },
    { name: 'a name starting with a digit', text: '1x 1\n', why: /metric name/ },
    { name: 'garbage between labels', text: 'x{a="1" b="2"} 1\n', why: /, or }/ },
  ];
  for (const { name, text, why } of refused) {
    test(`refuses ${name}`, () => {
      assert.throws(() => parseExposition(text), (err: unknown) => err instanceof ExpositionError && why.test(err.message));
    });
  }
});

describe('total and totalsBy', () => {
  const samples = parseExposition(
    [
      'r_total{reason="a",kind="x"} 1',
      'r_total{reason="b",kind="x"} 5',
      'r_total{reason="a",kind="y"} 2',
      'other_total{reason="a"} 100',
    ].join('\n'),
  );

  test('sums the samples of one name that carry the given labels', () => {
    assert.equal(total(samples, 'r_total'), 8);
    assert.equal(total(samples, 'r_total', { kind: 'x' }), 6);
    assert.equal(total(samples, 'r_total', { reason: 'a', kind: 'y' }), 2);
    assert.equal(total(samples, 'missing_total'), 0);
  });

  test('groups by one label, largest first', () => {
    assert.deepEqual(totalsBy(samples, 'r_total', 'reason'), [['b', 5], ['a', 3]]);
    assert.deepEqual(totalsBy(samples, 'r_total', 'reason', { kind: 'y' }), [['a', 2]]);
  });
});
