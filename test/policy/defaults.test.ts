import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CLOUDS } from '../../src/policy/config-types.js';
import { parseCidr } from '../../src/policy/addresses.js';
import { DEFAULT_DENIED_ADDRESSES, workspaceSuffixes } from '../../src/policy/defaults.js';
import { PatternMap } from '../../src/policy/patterns.js';
import { presetEntries } from '../../src/policy/presets.js';
import { INSTALLED_PRESETS } from '../fixtures/presets.js';


describe('workspaceSuffixes', () => {
  for (const cloud of CLOUDS) {
    test(`${cloud}: every workspace-carrying name is covered by a legacy preset entry`, () => {
      const map = new PatternMap<string>();
      for (const entry of presetEntries(INSTALLED_PRESETS, 'legacy', cloud)) map.add(entry.pattern, entry.pattern);
      for (const suffix of workspaceSuffixes(cloud)) {
        assert.notDeepEqual(map.match(`0b5e1d2c-aaaa-bbbb-cccc-123456789abc.${suffix}`), [], suffix);
      }
    });
  }

  test('callers get their own copies', () => {
    const suffixes = workspaceSuffixes('public');
    suffixes.pop();
    assert.notEqual(workspaceSuffixes('public').length, suffixes.length);
  });
});

test('DEFAULT_DENIED_ADDRESSES are valid, normalised ranges and leave private ranges out', () => {
  for (const cidr of DEFAULT_DENIED_ADDRESSES) assert.deepEqual(parseCidr(cidr), { ok: true, cidr });
  for (const privateRange of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']) {
    assert.ok(!DEFAULT_DENIED_ADDRESSES.includes(privateRange), privateRange);
  }
  assert.ok(Object.isFrozen(DEFAULT_DENIED_ADDRESSES));
});
