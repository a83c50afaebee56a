// Which per-source rule a client address falls under: the most specific range wins, the first rule written
// breaks a tie, IPv4-mapped IPv6 clients match their IPv4 ranges, and an address in no range has no rule.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientRuleTable } from '../../src/policy/clients.js';

const table = new ClientRuleTable([
  { cidrs: ['10.0.0.0/8'], value: 'corp' },
  { cidrs: ['10.20.0.0/16', '192.168.5.0/24'], value: 'arc' },
  { cidrs: ['10.20.30.0/24'], value: 'lab' },
  { cidrs: ['10.20.0.0/16'], value: 'arc-again' },
  { cidrs: ['2001:db8::/32'], value: 'v6' },
  { cidrs: ['2001:db8:1::/48'], value: 'v6-lab' },
]);

const cases: readonly [string, string | undefined][] = [
  ['10.1.2.3', 'corp'],
  ['10.20.1.1', 'arc'],
  ['192.168.5.9', 'arc'],
  ['10.20.30.40', 'lab'],
  ['::ffff:10.20.30.40', 'lab'],
  ['::FFFF:10.1.2.3', 'corp'],
  ['2001:db8:2::1', 'v6'],
  ['2001:db8:1::1', 'v6-lab'],
  ['11.0.0.1', undefined],
  ['2001:db9::1', undefined],
  ['127.0.0.1', undefined],
];

for (const [address, expected] of cases) {
  test(`${address} → ${expected ?? 'no rule'}`, () => assert.equal(table.match(address), expected));
}

test('an empty table matches nothing', () => {
  assert.equal(new ClientRuleTable<string>([]).match('10.0.0.1'), undefined);
});

test('a range that is not a CIDR is a programming error, not a silent no-match', () => {
  assert.throws(() => new ClientRuleTable([{ cidrs: ['10.0.0.1/8'], value: 'x' }]), /host bits are set/);
});
