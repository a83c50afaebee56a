// Client-chosen text in audit fields: invisible and control characters escaped, long text cut.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientText } from '../../src/observability/log-text.js';

const cases: readonly [string, string, number, string][] = [
  ['plain text is kept', 'agent@contoso.com', 255, 'agent@contoso.com'],
  ['non-ASCII letters are kept', 'Jürgen-日本', 256, 'Jürgen-日本'],
  ['CR, LF and ESC are escaped', 'a\r\nb\u001b[2J', 256, 'a\\u000d\\u000ab\\u001b[2J'],
  ['line and paragraph separators are escaped', 'a\u2028b\u2029c', 256, 'a\\u2028b\\u2029c'],
  ['bidi overrides and zero-width characters are escaped', '\u202eevil\u200b', 256, '\\u202eevil\\u200b'],
  ['C1 controls and DEL are escaped', '\u0085\u007f', 256, '\\u0085\\u007f'],
  ['a lone surrogate is escaped, a pair is kept', '\ud800x😀', 256, '\\ud800x😀'],
  ['long text is cut by characters and marked', 'abcdef', 3, 'abc…'],
  ['by default at 256 characters', 'x'.repeat(300), 256, `${'x'.repeat(256)}…`],
  ['an astral character counts as one', '😀😀😀😀', 2, '😀😀…'],
];
for (const [name, input, max, expected] of cases) {
  test(name, () => assert.equal(max === 256 ? clientText(input) : clientText(input, max), expected));
}
