import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { PatternMap, parseAllowEntry, parsePattern } from '../../src/policy/patterns.js';

describe('parsePattern accepts', () => {
  const cases: [string, string, string][] = [
    ['exact name', 'ods.systemcenteradvisor.com', 'ods.systemcenteradvisor.com'],
    ['suffix wildcard', '*.ods.opinsights.azure.com', '*.ods.opinsights.azure.com'],
    ['in-label wildcard', 'azgn*.servicebus.windows.net', 'azgn*.servicebus.windows.net'],
    ['in-label wildcard at the start of the label', '*-prod.azure-automation.net', '*-prod.azure-automation.net'],
    ['in-label wildcard in the middle', 'eus*-jobruntime.azure-automation.net', 'eus*-jobruntime.azure-automation.net'],
    ['upper case', 'AZGN*.ServiceBus.Windows.NET', 'azgn*.servicebus.windows.net'],
    ['trailing dot', '*.blob.core.windows.net.', '*.blob.core.windows.net'],
    ['IPv4 address', '10.9.8.7', '10.9.8.7'],
    ['IPv6 address', '2001:DB8:0::1', '2001:db8::1'],
    ['bracketed IPv6 address', '[2001:db8::1]', '2001:db8::1'],
    ['single-label exact name', 'localhost', 'localhost'],
  ];
  for (const [title, input, expected] of cases) {
    test(title, () => assert.deepEqual(parsePattern(input), { ok: true, pattern: expected }));
  }
});

describe('parsePattern refuses, naming the problem and an accepted form', () => {
  const cases: [string, string, RegExp][] = [
    ['a lone star', '*', /at least two labels/],
    ['a star over a TLD', '*.com', /at least two labels/],
    ['a star over a TLD with trailing dot', '*.com.', /at least two labels/],
    ['an in-label star over a TLD', 'a*.com', /at least two labels/],
    ['a star in a middle label', 'a.*.b.example', /leftmost label/],
    ['a star in the last label', 'a.example.c*', /leftmost label/],
    ['two stars', '**.example.com', /only one "\*"/],
    ['two stars in one label', 'a*b*.example.com', /only one "\*"/],
    ['a star then nothing', '*.', /empty/],
    ['an empty pattern', '', /empty/],
    ['an empty label', 'a..example.com', /DNS syntax/],
    ['an underscore', '*.a_b.example.com', /DNS syntax/],
    ['a hyphen next to the star at the start', '-*.example.com', /DNS syntax/],
    ['a hyphen next to the star at the end', 'a*-.example.com', /DNS syntax/],
    ['a wildcard over an IP address', '*.1.2.3.4', /not an IP address/],
    ['a numeric IPv4 spelling', '2130706433', /dotted-quad/],
    ['a leading-zero IPv4', '127.0.0.01', /dotted-quad/],
    ['a name in brackets', '[a.example.com]', /IPv6/],
    ['a name with a port', 'a.example.com:443', /IPv6/],
    ['whitespace', 'a.example.com ', /whitespace/],
    ['an at sign', 'user@a.example.com', /userinfo/],
    ['percent-encoding', 'a%2eexample.com', /percent/],
    ['Unicode', 'bücher.example', /punycode/],
    ["Squid's leading-dot domain", '.example.com', /Squid's form: write "\*\.example\.com" for the names below example\.com \(and "example\.com"/],
  ];
  for (const [title, input, problem] of cases) {
    test(title, () => {
      const result = parsePattern(input);
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.match(result.message, problem);
      assert.match(result.message, /use "name\.example\.com", "\*\.example\.com" or "name\*\.example\.com"/);
    });
  }
});

function mapOf(patterns: string[]): PatternMap<string> {
  const map = new PatternMap<string>();
  for (const text of patterns) {
    const parsed = parsePattern(text);
    assert.ok(parsed.ok, text);
    map.add(parsed.pattern, parsed.pattern);
  }
  return map;
}

describe('PatternMap.match', () => {
  const map = mapOf([
    '*.ods.opinsights.azure.com',
    'ods.systemcenteradvisor.com',
    'azgn*.servicebus.windows.net',
    '*x.example.net',
    'a*b.example.net',
    '10.9.8.7',
    '2001:db8::7',
  ]);
  const cases: [string, string, string[]][] = [
    ['exact name', 'ods.systemcenteradvisor.com', ['ods.systemcenteradvisor.com']],
    ['subdomain of an exact name', 'x.ods.systemcenteradvisor.com', []],
    ['one label under a suffix', 'ws1.ods.opinsights.azure.com', ['*.ods.opinsights.azure.com']],
    ['several labels under a suffix', 'a.b.ods.opinsights.azure.com', ['*.ods.opinsights.azure.com']],
    ['the suffix itself', 'ods.opinsights.azure.com', []],
    ['a look-alike ending in the suffix text', 'evilods.opinsights.azure.com', []],
    ['a look-alike label deeper in the name', 'a.evilods.opinsights.azure.com', []],
    ['an allowed name inside another domain', 'x.ods.opinsights.azure.com.evil.com', []],
    ['a parent of the suffix', 'opinsights.azure.com', []],
    ['in-label wildcard', 'azgnabc.servicebus.windows.net', ['azgn*.servicebus.windows.net']],
    ['in-label wildcard matching one character', 'azgn1.servicebus.windows.net', ['azgn*.servicebus.windows.net']],
    ['in-label wildcard needs at least one character', 'azgn.servicebus.windows.net', []],
    ['in-label wildcard stays in its label', 'azgn.x.servicebus.windows.net', []],
    ['in-label wildcard anchored at the label start', 'xazgn1.servicebus.windows.net', []],
    ['in-label wildcard inside another domain', 'azgn1.servicebus.windows.net.evil.com', []],
    ['leading in-label wildcard', 'abcx.example.net', ['*x.example.net']],
    ['leading in-label wildcard needs one character', 'x.example.net', []],
    ['prefix and suffix in one label', 'a1b.example.net', ['a*b.example.net']],
    ['prefix and suffix may not overlap', 'ab.example.net', []],
    ['IPv4 literal', '10.9.8.7', ['10.9.8.7']],
    ['another IPv4 literal', '10.9.8.77', []],
    ['IPv6 literal', '2001:db8::7', ['2001:db8::7']],
  ];
  for (const [title, host, expected] of cases) {
    test(title, () => assert.deepEqual(map.match(host), expected));
  }

  test('returns the most specific first: exact, in-label, then longer suffixes', () => {
    const nested = mapOf(['*.example.com', '*.b.example.com', 'a*.b.example.com', 'ab.b.example.com', '*.ab.b.example.com']);
    assert.deepEqual(nested.match('ab.b.example.com'), [
      'ab.b.example.com',
      'a*.b.example.com',
      '*.b.example.com',
      '*.example.com',
    ]);
    assert.deepEqual(nested.match('x.ab.b.example.com'), ['*.ab.b.example.com', '*.b.example.com', '*.example.com']);
  });

  test('keeps every value added under the same pattern, in order', () => {
    const map = new PatternMap<number>();
    map.add('*.example.com', 1);
    map.add('*.example.com', 2);
    assert.deepEqual(map.match('a.example.com'), [1, 2]);
  });
});

describe('in-label wildcards, many at once', () => {
  test('match agrees with an independent regular-expression reading, however many patterns share a suffix', () => {
    const part = fc.stringMatching(/^[ab]{0,3}$/);
    const patterns = fc.uniqueArray(
      fc.tuple(part, part).filter(([prefix, end]) => prefix + end !== ''),
      { minLength: 1, maxLength: 40, selector: ([prefix, end]) => `${prefix}*${end}` },
    );
    const labels = fc.array(fc.stringMatching(/^[ab]{1,7}(\.[ab]{1,3})?$/), { minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(patterns, labels, (pairs, hosts) => {
        const map = new PatternMap<string>();
        for (const [prefix, end] of pairs) map.add(`${prefix}*${end}.example.com`, `${prefix}*${end}`);
        for (const label of hosts) {
          const expected = pairs
            .filter(([prefix, end]) => new RegExp(`^${prefix}[a-z0-9-]+${end}$`).test(label))
            .map(([prefix, end]) => `${prefix}*${end}`);
          assert.deepEqual(map.match(`${label}.example.com`).sort(), expected.sort(), label);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('the issue\'s cases hold among thousands of other in-label patterns', () => {
    const map = new PatternMap<string>();
    for (let i = 0; i < 5000; i++) map.add(`x${i}*.servicebus.windows.net`, `x${i}`);
    map.add('azgn*.servicebus.windows.net', 'azgn');
    assert.deepEqual(map.match('azgnabc.servicebus.windows.net'), ['azgn']);
    for (const host of ['azgn.x.servicebus.windows.net', 'xazgn1.servicebus.windows.net', 'azgn1.servicebus.windows.net.evil.com', 'azgn.servicebus.windows.net']) {
      assert.deepEqual(map.match(host), [], host);
    }
  });
});

describe('parseAllowEntry', () => {
  const accepted: [string, string, readonly number[]][] = [
    ['name.example.com', 'name.example.com', [443]],
    ['*.example.com:80', '*.example.com', [80]],
    ['crl.example.com:80,443', 'crl.example.com', [80, 443]],
    ['a.example.com:8443,443,8443', 'a.example.com', [443, 8443]],
    ['AZGN*.ServiceBus.Windows.NET.:443', 'azgn*.servicebus.windows.net', [443]],
    ['10.9.8.7:8443', '10.9.8.7', [8443]],
    ['[2001:db8::1]:443,8443', '2001:db8::1', [443, 8443]],
    ['[2001:db8::1]', '2001:db8::1', [443]],
    ['2001:db8::1', '2001:db8::1', [443]],
  ];
  for (const [input, pattern, ports] of accepted) {
    test(`accepts ${input}`, () => {
      assert.deepEqual(parseAllowEntry(input, 'operator'), { ok: true, entry: { pattern, ports, source: 'operator' } });
    });
  }

  const rejected: [string, RegExp][] = [
    ['a.example.com:', /ports must be 1-65535/],
    ['a.example.com:0', /ports must be 1-65535/],
    ['a.example.com:65536', /ports must be 1-65535/],
    ['a.example.com:443,', /ports must be 1-65535/],
    ['a.example.com:443, 80', /ports must be 1-65535/],
    ['a.example.com:0443', /ports must be 1-65535/],
    ['a.example.com:443:80', /one ":"/],
    ['[2001:db8::1]443', /\[2001:db8::1\]:443/],
    ['[2001:db8::1:443', /\[2001:db8::1\]:443/],
    ['[a.example.com]:443', /only for IPv6/],
    ['*.com:443', /at least two labels/],
    ['https://x.ods.opinsights.azure.com', /"https:\/\/" is a URL scheme, not part of a host pattern; write "x\.ods\.opinsights\.azure\.com:443"/],
    ['http://crl.microsoft.com/pki/crl', /write "crl\.microsoft\.com:80"/],
    ['HTTPS://a.example.com:8443/', /write "a\.example\.com:8443"/],
    ['.example.com:443', /write "\*\.example\.com"/],
  ];
  for (const [input, message] of rejected) {
    test(`rejects ${input}`, () => {
      const result = parseAllowEntry(input, 'operator');
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.message, message);
    });
  }
});
