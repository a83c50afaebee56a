import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { formatAuthority, parseAbsoluteUrl, parseAuthority, parseHost, parsePort } from '../../src/policy/target.js';
import type { Target, TargetErrorCode } from '../../src/policy/types.js';

const name = (host: string, port = 443): Target => ({ host, port, kind: 'name' });

describe('parseAuthority accepts and normalises', () => {
  const cases: [string, string, number | undefined, Target][] = [
    ['plain name', 'ws1.ods.opinsights.azure.com:443', undefined, name('ws1.ods.opinsights.azure.com')],
    ['mixed case', 'WS1.Ods.OpInsights.Azure.COM:443', undefined, name('ws1.ods.opinsights.azure.com')],
    ['one trailing dot', 'ws1.ods.opinsights.azure.com.:443', undefined, name('ws1.ods.opinsights.azure.com')],
    ['punycode IDN', 'xn--bcher-kva.example:443', undefined, name('xn--bcher-kva.example')],
    ['single label', 'localhost:8080', undefined, name('localhost', 8080)],
    ['hyphens inside labels', 'a-b.c--d.example:443', undefined, name('a-b.c--d.example')],
    ['63-character label', `${'a'.repeat(63)}.example:443`, undefined, name(`${'a'.repeat(63)}.example`)],
    ['253-character name', `${'abcdefghi.'.repeat(25)}abc:443`, undefined, name(`${'abcdefghi.'.repeat(25)}abc`)],
    ['lowest port', 'a.example:1', undefined, name('a.example', 1)],
    ['highest port', 'a.example:65535', undefined, name('a.example', 65535)],
    ['default port when none given', 'a.example', 80, name('a.example', 80)],
    ['explicit port beats default', 'a.example:8080', 80, name('a.example', 8080)],
    ['IPv4 dotted quad', '10.1.2.3:443', undefined, { host: '10.1.2.3', port: 443, kind: 'ipv4' }],
    ['IPv4 with trailing dot', '10.1.2.3.:443', undefined, { host: '10.1.2.3', port: 443, kind: 'ipv4' }],
    ['IPv4 zeros', '0.0.0.0:443', undefined, { host: '0.0.0.0', port: 443, kind: 'ipv4' }],
    ['IPv6 loopback', '[::1]:443', undefined, { host: '::1', port: 443, kind: 'ipv6' }],
    ['IPv6 canonicalised', '[2001:DB8:0:0::0:1]:443', undefined, { host: '2001:db8::1', port: 443, kind: 'ipv6' }],
    ['IPv4-mapped IPv6 in hex', '[::FFFF:127.0.0.1]:443', undefined, { host: '::ffff:7f00:1', port: 443, kind: 'ipv6' }],
    ['IPv6 with default port', '[2001:db8::1]', 80, { host: '2001:db8::1', port: 80, kind: 'ipv6' }],
  ];
  for (const [title, input, defaultPort, expected] of cases) {
    test(title, () => {
      assert.deepEqual(parseAuthority(input, defaultPort), { ok: true, target: expected });
    });
  }
});

const refused: [string, string, TargetErrorCode][] = [
  ['empty', '', 'empty'],
  ['empty host', ':443', 'empty'],
  ['space', 'a .example:443', 'bad-characters'],
  ['leading space', ' a.example:443', 'bad-characters'],
  ['tab', 'a.example:\t443', 'bad-characters'],
  ['CRLF injection', 'a.example:443\r\nHost: evil', 'bad-characters'],
  ['bare LF', 'a.example\n:443', 'bad-characters'],
  ['NUL', 'a.example\u0000.evil:443', 'bad-characters'],
  ['DEL', 'a.exa\u007fmple:443', 'bad-characters'],
  ['userinfo', 'user@a.example:443', 'userinfo'],
  ['userinfo with password', 'user:pw@a.example:443', 'userinfo'],
  ['allowed name as userinfo', 'x.ods.opinsights.azure.com@127.0.0.1:443', 'userinfo'],
  ['full-width at sign', 'trusted.example\uff20127.0.0.2:18502', 'userinfo'],
  ['percent-encoded dot', 'a%2eexample:443', 'percent-encoding'],
  ['percent-encoded at', 'a.example%40evil:443', 'percent-encoding'],
  ['IPv6 zone id', '[fe80::1%25eth0]:443', 'percent-encoding'],
  ['raw IPv6 zone id', '[fe80::1%eth0]:443', 'percent-encoding'],
  ['Unicode IDN', 'bücher.example:443', 'non-ascii'],
  ['full-width dot', 'a\uff0eexample:443', 'non-ascii'],
  ['non-breaking space', 'a.example\u00a0:443', 'non-ascii'],
  ['Cyrillic look-alike', 'оds.opinsights.azure.com:443', 'non-ascii'],
  ['name in brackets', '[allowed.example]:443', 'bad-brackets'],
  ['IPv4 in brackets', '[127.0.0.1]:443', 'bad-brackets'],
  ['empty brackets', '[]:443', 'bad-brackets'],
  ['unclosed bracket', '[::1:443', 'bad-brackets'],
  ['stray closing bracket', 'a.example]:443', 'bad-brackets'],
  ['bracket inside name', 'a[b].example:443', 'bad-brackets'],
  ['text after brackets', '[::1]x:443', 'bad-brackets'],
  ['bracket after port', '[::1]:443]', 'bad-brackets'],
  ['second bracket pair', '[::1][::2]:443', 'bad-brackets'],
  ['unbracketed IPv6', '2001:db8::1', 'bad-brackets'],
  ['unbracketed IPv6 with port', '2001:db8::1:443', 'bad-brackets'],
  ['missing port', 'a.example', 'missing-port'],
  ['missing port on IPv6', '[::1]', 'missing-port'],
  ['empty port', 'a.example:', 'bad-port'],
  ['two ports', 'a.example:443:80', 'bad-port'],
  ['port zero', 'a.example:0', 'bad-port'],
  ['port too large', 'a.example:65536', 'bad-port'],
  ['port far too large', 'a.example:4294967739', 'bad-port'],
  ['port with leading zero', 'a.example:0443', 'bad-port'],
  ['port with plus sign', 'a.example:+443', 'bad-port'],
  ['negative port', 'a.example:-443', 'bad-port'],
  ['hex port', 'a.example:0x1bb', 'bad-port'],
  ['port with letters', 'a.example:443a', 'bad-port'],
  ['port with fraction', 'a.example:443.0', 'bad-port'],
  ['empty label', 'a..example:443', 'bad-name'],
  ['leading dot', '.a.example:443', 'bad-name'],
  ['two trailing dots', 'a.example..:443', 'bad-name'],
  ['only a dot', '.:443', 'bad-name'],
  ['underscore', 'a_b.example:443', 'bad-name'],
  ['label starting with hyphen', '-a.example:443', 'bad-name'],
  ['label ending with hyphen', 'a-.example:443', 'bad-name'],
  ['64-character label', `${'a'.repeat(64)}.example:443`, 'bad-name'],
  ['254-character name', `${'abcdefghi.'.repeat(25)}abcd:443`, 'bad-name'],
  ['slash in host', 'a.example/x:443', 'bad-name'],
  ['backslash in host', 'a.example\\x:443', 'bad-name'],
  ['asterisk', '*.example:443', 'bad-name'],
  ['decimal IPv4', '2130706433:443', 'bad-name'],
  ['octal IPv4', '0177.0.0.1:443', 'bad-name'],
  ['leading zero IPv4', '127.0.0.01:443', 'bad-name'],
  ['hex IPv4', '0x7f.1:443', 'bad-name'],
  ['hex IPv4 dotted', '0x7f.0x0.0x0.0x1:443', 'bad-name'],
  ['short IPv4', '127.1:443', 'bad-name'],
  ['IPv4 octet out of range', '256.1.1.1:443', 'bad-name'],
  ['five-part IPv4', '1.2.3.4.5:443', 'bad-name'],
  ['name ending in a number', 'a.example.123:443', 'bad-name'],
  ['name ending in 0x', 'a.example.0x:443', 'bad-name'],
];

describe('parseAuthority refuses', () => {
  for (const [title, input, code] of refused) {
    test(title, () => {
      const result = parseAuthority(input);
      assert.equal(result.ok, false);
      assert.equal(result.ok ? undefined : result.code, code);
    });
  }
});

test('refusal messages are one line and never echo the input', () => {
  const canary = 'zqcanaryzq';
  const inputs = [
    `${canary}@x.example:443`,
    `${canary}.example:44 3`,
    `${canary}%2e.example:443`,
    `${canary}é.example:443`,
    `[${canary}.example]:443`,
    `${canary}.example`,
    `${canary}.example:0`,
    `${canary}_x.example:443`,
    `${canary}.example:443\r\nX: ${canary}`,
  ];
  for (const input of inputs) {
    const result = parseAuthority(input);
    assert.equal(result.ok, false, input);
    if (result.ok) continue;
    assert.ok(!result.message.includes(canary), result.message);
    assert.match(result.message, /^[^\r\n]+$/);
  }
});

test('parseHost takes a host without port', () => {
  assert.deepEqual(parseHost('A.Example.'), { ok: true, host: 'a.example', kind: 'name' });
  assert.deepEqual(parseHost('[::1]'), { ok: true, host: '::1', kind: 'ipv6' });
  assert.equal(parseHost('a.example:443').ok, false);
  assert.equal(parseHost('::1').ok, false);
});

test('parsePort accepts 1-65535 in plain decimal only', () => {
  const cases: [string, number | undefined][] = [
    ['1', 1], ['443', 443], ['65535', 65535], ['0', undefined], ['65536', undefined], ['099', undefined],
    ['', undefined], ['+1', undefined], [' 1', undefined], ['1e3', undefined], ['١٢', undefined],
  ];
  for (const [input, expected] of cases) assert.equal(parsePort(input), expected, JSON.stringify(input));
});

describe('parseAbsoluteUrl', () => {
  const accepted: [string, string, Target, string][] = [
    ['no path', 'http://crl.microsoft.com', name('crl.microsoft.com', 80), '/'],
    ['root path', 'http://crl.microsoft.com/', name('crl.microsoft.com', 80), '/'],
    ['path and query kept raw', 'http://crl.microsoft.com/a/%41b?x=1&y=%20', name('crl.microsoft.com', 80), '/a/%41b?x=1&y=%20'],
    ['query without path', 'http://a.example?x=1', name('a.example', 80), '/?x=1'],
    ['explicit port', 'http://a.example:8080/x', name('a.example', 8080), '/x'],
    ['upper-case scheme and host', 'HTTP://A.Example./x', name('a.example', 80), '/x'],
    ['at sign in path is not userinfo', 'http://a.example/u@v', name('a.example', 80), '/u@v'],
    ['IPv6 literal', 'http://[2001:db8::1]:8080/', { host: '2001:db8::1', port: 8080, kind: 'ipv6' }, '/'],
  ];
  for (const [title, url, target, path] of accepted) {
    test(`accepts ${title}`, () => {
      assert.deepEqual(parseAbsoluteUrl(url), { ok: true, target, path });
    });
  }

  const rejected: [string, string, TargetErrorCode][] = [
    ['https', 'https://a.example/', 'bad-uri'],
    ['other scheme', 'ftp://a.example/', 'bad-uri'],
    ['origin form', '/x', 'bad-uri'],
    ['scheme without slashes', 'http:a.example/', 'bad-uri'],
    ['fragment', 'http://a.example/x#frag', 'bad-uri'],
    ['fragment without path', 'http://a.example#frag', 'bad-uri'],
    ['userinfo', 'http://user:pw@a.example/', 'userinfo'],
    ['userinfo before an allowed name', 'http://a.example@127.0.0.1/', 'userinfo'],
    ['decimal IPv4 host', 'http://2130706433/', 'bad-name'],
    ['percent-encoded host', 'http://a%2eexample/', 'percent-encoding'],
    ['empty authority', 'http:///x', 'empty'],
    ['bad port', 'http://a.example:0/', 'bad-port'],
    ['empty port', 'http://a.example:/', 'bad-port'],
    ['space in path', 'http://a.example/a b', 'bad-characters'],
    ['CRLF in path', 'http://a.example/a\r\nX: y', 'bad-characters'],
    ['non-ASCII in path', 'http://a.example/ü', 'non-ascii'],
  ];
  for (const [title, url, code] of rejected) {
    test(`rejects ${title}`, () => {
      const result = parseAbsoluteUrl(url);
      assert.equal(result.ok ? undefined : result.code, code);
    });
  }
});

describe('properties', () => {
  const tricky = fc.constantFrom(
    'a', 'Z', '0', '9', 'x', '-', '.', ':', '[', ']', '@', '%', '_', '*', '/', ' ', '\r', '\n', '\t', '\u0000',
    '\uff20', '\uff0e', 'ü', '\u00a0', '0x', '::', '443', '65536', 'ffff', 'xn--',
  );
  const nameLike = fc
    .tuple(fc.mixedCase(fc.domain()), fc.boolean(), fc.integer({ min: 0, max: 70000 }))
    .map(([domain, dot, port]) => `${domain}${dot ? '.' : ''}:${port}`);
  const inputs = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.string({ unit: tricky, maxLength: 40 }),
    nameLike,
  );

  test('parseAuthority never throws and every refusal is a one-line message', () => {
    fc.assert(
      fc.property(inputs, fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), (input, defaultPort) => {
        const result = parseAuthority(input, defaultPort);
        if (!result.ok) assert.match(result.message, /^[^\r\n]+$/);
      }),
      { numRuns: 500 },
    );
  });

  test('a parsed target parses again to itself', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const result = parseAuthority(input);
        if (!result.ok) return;
        const { host, port, kind } = result.target;
        const again = parseAuthority(kind === 'ipv6' ? `[${host}]:${port}` : `${host}:${port}`);
        assert.deepEqual(again, result);
      }),
      { numRuns: 500 },
    );
  });

  test('parseAbsoluteUrl never throws', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        parseAbsoluteUrl(`http://${input}`);
        parseAbsoluteUrl(input);
      }),
      { numRuns: 500 },
    );
  });
});

describe('formatAuthority writes a target back as text', () => {
  const cases: [string, Target, number | undefined, string][] = [
    ['name', name('ws1.ods.opinsights.azure.com'), undefined, 'ws1.ods.opinsights.azure.com:443'],
    ['IPv4', { host: '10.0.0.1', port: 8080, kind: 'ipv4' }, undefined, '10.0.0.1:8080'],
    ['IPv6 in brackets', { host: '2001:db8::1', port: 443, kind: 'ipv6' }, undefined, '[2001:db8::1]:443'],
    ['IPv4-mapped IPv6 in brackets', { host: '::ffff:a00:1', port: 443, kind: 'ipv6' }, undefined, '[::ffff:a00:1]:443'],
    ['default port left out', name('origin.example', 80), 80, 'origin.example'],
    ['default port left out of IPv6, brackets kept', { host: '::1', port: 80, kind: 'ipv6' }, 80, '[::1]'],
    ['other port kept', name('origin.example', 8080), 80, 'origin.example:8080'],
    ['other port kept on IPv6', { host: '::1', port: 8080, kind: 'ipv6' }, 80, '[::1]:8080'],
  ];
  for (const [label, target, defaultPort, expected] of cases) {
    test(label, () => {
      assert.equal(formatAuthority(target, defaultPort), expected);
    });
  }

  test('parseAuthority reads back what it wrote', () => {
    for (const text of ['a.example:443', '127.0.0.1:8080', '[2001:db8::1]:443', '[::1]:1']) {
      const parsed = parseAuthority(text);
      assert.ok(parsed.ok, text);
      assert.equal(formatAuthority(parsed.target), text);
    }
  });
});
