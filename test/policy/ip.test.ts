import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalIPv6, isCanonicalIPv4 } from '../../src/policy/ip.js';

test('isCanonicalIPv4 accepts only the dotted quad without leading zeros', () => {
  const cases: [string, boolean][] = [
    ['0.0.0.0', true], ['10.1.2.3', true], ['255.255.255.255', true], ['169.254.169.254', true],
    ['256.0.0.0', false], ['01.2.3.4', false], ['1.2.3', false], ['1.2.3.4.5', false], ['2130706433', false],
    ['0x7f.0.0.1', false], ['1.2.3.4 ', false], ['1..3.4', false], ['', false], ['::1', false],
  ];
  for (const [input, expected] of cases) assert.equal(isCanonicalIPv4(input), expected, input);
});

test('canonicalIPv6 writes RFC 5952 text', () => {
  const cases: [string, string | undefined][] = [
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:DB8::ABCD', '2001:db8::abcd'],
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    // a single zero group is not compressed
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    // the longest run wins, then the first of equal runs
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::ffff:169.254.169.254', '::ffff:a9fe:a9fe'],
    ['::FFFF:A9FE:A9FE', '::ffff:a9fe:a9fe'],
    ['64:ff9b::127.0.0.1', '64:ff9b::7f00:1'],
    ['1::2::3', undefined],
    ['fe80::1%eth0', undefined],
    ['12345::1', undefined],
    ['[::1]', undefined],
    ['1.2.3.4', undefined],
    ['', undefined],
  ];
  for (const [input, expected] of cases) assert.equal(canonicalIPv6(input), expected, input);
});
