import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileAddressRules, embeddedIPv4, embeddedIPv4s, isAddressDenied, parseCidr } from '../../src/policy/addresses.js';
import { DEFAULT_DENIED_ADDRESSES } from '../../src/policy/defaults.js';
import { ipv6Groups } from '../../src/policy/ip.js';

describe('parseCidr', () => {
  const accepted: [string, string][] = [
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['168.63.129.16/32', '168.63.129.16/32'],
    ['168.63.129.16', '168.63.129.16/32'],
    ['fe80::/10', 'fe80::/10'],
    ['FE80:0::/10', 'fe80::/10'],
    ['::1', '::1/128'],
    ['::/0', '::/0'],
  ];
  for (const [input, cidr] of accepted) {
    test(`accepts ${input}`, () => assert.deepEqual(parseCidr(input), { ok: true, cidr }));
  }
  const rejected: [string, RegExp][] = [
    ['10.1.0.0/8', /host bits are set; use "10\.0\.0\.0\/8"/],
    ['fe80::1/10', /host bits are set; use "fe80::\/10"/],
    ['10.0.0.0/33', /at most 32/],
    ['::/129', /at most 128/],
    ['10.0.0.0/', /decimal/],
    ['10.0.0.0/08', /decimal/],
    ['10.0.0.0/-1', /decimal/],
    ['10.0.0/8', /not an IPv4/],
    ['010.0.0.0/8', /not an IPv4/],
    ['fe80::1%eth0/128', /not an IPv4/],
    ['example.com/8', /not an IPv4/],
    ['', /not an IPv4/],
  ];
  for (const [input, message] of rejected) {
    test(`rejects ${JSON.stringify(input)}`, () => {
      const result = parseCidr(input);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.message, message);
    });
  }
});

test('compileAddressRules refuses a range that did not pass parseCidr', () => {
  assert.throws(() => compileAddressRules(['10.1.0.0/8']), /host bits/);
});

describe('isAddressDenied with the default ranges', () => {
  const rules = compileAddressRules(DEFAULT_DENIED_ADDRESSES);
  // Every way an IPv6 address can carry 169.254.169.254 (a9fe:a9fe) or 127.0.0.1 (7f00:1).
  const denied = [
    '169.254.169.254', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', '::FFFF:A9FE:A9FE',
    '0:0:0:0:0:ffff:a9fe:a9fe', '0000:0000:0000:0000:0000:ffff:a9fe:a9fe', '64:ff9b::169.254.169.254',
    '64:ff9b::a9fe:a9fe', '2002:a9fe:a9fe::', '2002:a9fe:a9fe:1::1', '::169.254.169.254', '::a9fe:a9fe',
    '::ffff:0:a9fe:a9fe', '2001:0:4136:e378:8000:63bf:5601:5601',
    '127.0.0.1', '127.255.255.254', '::ffff:127.0.0.1', '::ffff:7f00:1', '64:ff9b::7f00:1', '2002:7f00:1::',
    '::127.0.0.1', '::ffff:0:7f00:1', '2001:0:4136:e378:8000:63bf:80ff:fffe',
    '0.0.0.0', '100.64.0.1', '100.127.255.255', '168.63.129.16', '224.0.0.1', '239.255.255.250', '255.255.255.255',
    '::', '::1', 'fe80::1', 'fe80::1%eth0', 'febf::1', 'ff02::1', '::ffff:100.64.0.1',
    // The local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215), issue 16: the /96 layout (last 32 bits) and the
    // RFC 6052 /48 layout (bits 48-63 and 72-87, the u octet between), and the 0.0.0.0 both read for 64:ff9b:1::.
    '64:ff9b:1::a9fe:a9fe', '64:ff9b:1::169.254.169.254', '64:ff9b:1::7f00:1', '64:ff9b:1:0:0:1:a9fe:a9fe',
    '64:ff9b:1:a9fe:a9:fe00::', '64:ff9b:1:7f00:0:100::', '64:ff9b:1:a9fe:a9:fe00:1401:203', '64:ff9b:1::',
  ];
  for (const ip of denied) test(`denies ${ip}`, () => assert.equal(isAddressDenied(rules, ip), true));

  // Private Link resolves to private addresses; public addresses are what Azure endpoints normally use.
  const allowed = [
    '10.1.2.3', '::ffff:10.1.2.3', '::ffff:a01:203', '64:ff9b::a01:203', '2002:a01:203::', '::10.1.2.3',
    '2001:0:4136:e378:8000:63bf:f5fe:fdfc', '172.16.0.1', '192.168.1.1', 'fd00::1', '20.42.65.1',
    '2603:1030::1', '100.63.255.255', '100.128.0.0', '168.63.129.17', '2001:db8::1',
    '64:ff9b:1::a01:203', '64:ff9b:1:a01:2:300::',
  ];
  for (const ip of allowed) test(`allows ${ip}`, () => assert.equal(isAddressDenied(rules, ip), false));

  test('denies what is not an IP address', () => {
    for (const text of ['', 'example.com', '010.1.2.3', '[::1]', '1.2.3']) {
      assert.equal(isAddressDenied(rules, text), true, text);
    }
  });
});

test('embeddedIPv4 finds the IPv4 address in each embedding and nowhere else', () => {
  const cases: [string, string | undefined][] = [
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::1.2.3.4', '1.2.3.4'],
    ['::ffff:0:1.2.3.4', '1.2.3.4'],
    ['64:ff9b::1.2.3.4', '1.2.3.4'],
    ['2002:102:304:5::6', '1.2.3.4'],
    ['2001:0:4136:e378:8000:63bf:fefd:fcfb', '1.2.3.4'],
    ['2001:db8::102:304', undefined],
    ['2603:1030::102:304', undefined],
    ['1::ffff:102:304', undefined],
  ];
  for (const [ip, expected] of cases) {
    const groups = ipv6Groups(ip);
    assert.ok(groups, ip);
    assert.equal(embeddedIPv4(groups), expected, ip);
  }
});

test('embeddedIPv4s reads the local-use NAT64 prefix 64:ff9b:1::/48 in its /96 and /48 layouts (issue 16)', () => {
  const cases: [string, string[]][] = [
    ['64:ff9b:1::102:304', ['1.2.3.4']],
    ['64:ff9b:1:102:3:400::', ['1.2.3.4']],
    // Bits in both places: each layout's reading, the /96 one first.
    ['64:ff9b:1:102:3:400:506:708', ['5.6.7.8', '1.2.3.4']],
    ['64:ff9b:1::', ['0.0.0.0']],
  ];
  for (const [ip, expected] of cases) {
    const groups = ipv6Groups(ip);
    assert.ok(groups, ip);
    assert.deepEqual(embeddedIPv4s(groups), expected, ip);
  }
  assert.deepEqual(embeddedIPv4s(ipv6Groups('2001:db8::102:304') ?? []), []);
});
