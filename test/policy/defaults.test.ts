import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Cloud } from '../../src/config/types.js';
import { parseCidr } from '../../src/policy/addresses.js';
import { DEFAULT_DENIED_ADDRESSES, defaultAllowEntries, workspaceSuffixes } from '../../src/policy/defaults.js';
import { PatternMap, parsePattern } from '../../src/policy/patterns.js';

// Registrable domains each cloud's endpoints live under (Microsoft's per-cloud endpoint lists).
const CLOUD_DOMAINS: Record<Cloud, readonly string[]> = {
  public: ['azure.com', 'windows.net', 'azure-automation.net', 'systemcenteradvisor.com'],
  usgov: ['azure.us', 'usgovcloudapi.net', 'azure-automation.us'],
  china: ['azure.cn', 'chinacloudapi.cn', 'azure-automation.cn'],
};
const CLOUDS = Object.keys(CLOUD_DOMAINS) as Cloud[];

describe('defaultAllowEntries', () => {
  for (const cloud of CLOUDS) {
    test(`${cloud}: valid normalised patterns on 443 under the cloud's own domains`, () => {
      const entries = defaultAllowEntries(cloud);
      assert.ok(entries.length >= 4);
      for (const entry of entries) {
        assert.deepEqual(parsePattern(entry.pattern), { ok: true, pattern: entry.pattern });
        assert.deepEqual(entry.ports, [443]);
        assert.equal(entry.source, `default:${cloud}`);
        assert.ok(CLOUD_DOMAINS[cloud].some((domain) => entry.pattern.endsWith(`.${domain}`)), entry.pattern);
      }
    });

    test(`${cloud}: every workspace-carrying name is covered by a default entry`, () => {
      const map = new PatternMap<string>();
      for (const entry of defaultAllowEntries(cloud)) map.add(entry.pattern, entry.pattern);
      for (const suffix of workspaceSuffixes(cloud)) {
        assert.notDeepEqual(map.match(`0b5e1d2c-aaaa-bbbb-cccc-123456789abc.${suffix}`), [], suffix);
      }
    });
  }

  test('the public cloud has the endpoints the agents need', () => {
    const patterns = defaultAllowEntries('public').map((entry) => entry.pattern);
    for (const name of ['*.ods.opinsights.azure.com', '*.oms.opinsights.azure.com', '*.blob.core.windows.net',
      '*.azure-automation.net', 'ods.systemcenteradvisor.com']) {
      assert.ok(patterns.includes(name), name);
    }
  });

  test('callers get their own copies', () => {
    const entries = defaultAllowEntries('public');
    entries.pop();
    assert.notEqual(defaultAllowEntries('public').length, entries.length);
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
