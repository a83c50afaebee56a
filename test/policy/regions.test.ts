import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Cloud, PolicyConfig } from '../../src/policy/config-types.js';
import { compilePolicy, decide } from '../../src/policy/decide.js';
import { DEFAULT_DENIED_ADDRESSES } from '../../src/policy/defaults.js';
import { enabledPresetEntries } from '../../src/policy/presets.js';
import { AUTOMATION_CODES, compileRegionScope, parseRegionName, regionOf, type RegionOf } from '../../src/policy/regions.js';
import { parseAuthority } from '../../src/policy/target.js';
import type { Decision } from '../../src/policy/types.js';
import { INSTALLED_PRESETS } from '../fixtures/presets.js';

const WS = '0b5e1d2c-1111-4a4a-8b8b-123456789abc';
const ACCOUNT = 'f00dfeed-2222-4c4c-9d9d-cba987654321';

describe('parseRegionName', () => {
  for (const [text, region] of [['westeurope', 'westeurope'], ['WestEurope', 'westeurope'], ['usgovvirginia', 'usgovvirginia'], ['westus2', 'westus2']]) {
    test(`accepts ${text}`, () => assert.deepEqual(parseRegionName(text ?? ''), { ok: true, region }));
  }
  for (const text of ['west europe', 'west-europe', '', 'w', '2westus', 'global', 'westeurope.', 'westeurope-1']) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      const result = parseRegionName(text);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.message, /e\.g\. westeurope/);
    });
  }
});

describe('regionOf', () => {
  const scope = compileRegionScope(['westeurope'], ['public', 'usgov']);
  const cases: [string, RegionOf][] = [
    ['westeurope.handler.control.monitor.azure.com', { kind: 'region', region: 'westeurope', suffix: 'handler.control.monitor.azure.com' }],
    ['global.handler.control.monitor.azure.com', { kind: 'none' }],
    ['dce-1a2b.eastus-1.handler.control.monitor.azure.com', { kind: 'region', region: 'eastus', suffix: 'handler.control.monitor.azure.com' }],
    ['dce-1a2b.eastus-1.ingest.monitor.azure.com', { kind: 'region', region: 'eastus', suffix: 'ingest.monitor.azure.com' }],
    ['usgovvirginia.handler.control.monitor.azure.us', { kind: 'region', region: 'usgovvirginia', suffix: 'handler.control.monitor.azure.us' }],
    // Managed Prometheus (kubernetes preset): the metrics ingestion endpoint of a DCE carries its region too.
    ['dce-1a2b.westeurope-1.metrics.ingest.monitor.azure.com', { kind: 'region', region: 'westeurope', suffix: 'metrics.ingest.monitor.azure.com' }],
    ['dce-1a2b.eastus-1.metrics.ingest.monitor.azure.com', { kind: 'region', region: 'eastus', suffix: 'metrics.ingest.monitor.azure.com' }],
    ['x.metrics.ingest.monitor.azure.com', { kind: 'unreadable', suffix: 'metrics.ingest.monitor.azure.com' }],
    ['dce.eastus.ingest.monitor.azure.com', { kind: 'unreadable', suffix: 'ingest.monitor.azure.com' }],
    ['eastus.ingest.monitor.azure.com', { kind: 'unreadable', suffix: 'ingest.monitor.azure.com' }],
    ['a.b.eastus-1.ingest.monitor.azure.com', { kind: 'unreadable', suffix: 'ingest.monitor.azure.com' }],
    ['x.y.handler.control.monitor.azure.com', { kind: 'unreadable', suffix: 'handler.control.monitor.azure.com' }],
    ['we-jobruntimedata-prod-su1.azure-automation.net', { kind: 'automation-code', code: 'we', suffix: 'azure-automation.net' }],
    ['stzn-agentservice-prod-su1.azure-automation.net', { kind: 'automation-code', code: 'stzn', suffix: 'azure-automation.net' }],
    [`${ACCOUNT}.jrds.eus2.azure-automation.net`, { kind: 'automation-code', code: 'eus2', suffix: 'azure-automation.net' }],
    [`${ACCOUNT}.agentsvc.dewc.azure-automation.de`, { kind: 'automation-code', code: 'dewc', suffix: 'azure-automation.de' }],
    [`${WS}.agentsvc.azure-automation.net`, { kind: 'none' }],
    ['s1events.azure-automation.net', { kind: 'none' }],
    // Issue 16: a name below a regional host, or a deeper account name, must not read as regionless.
    ['x.eus-jobruntimedata-prod-su1.azure-automation.net', { kind: 'unreadable', suffix: 'azure-automation.net' }],
    ['eus-agentservice-prod-1.x.azure-automation.net', { kind: 'unreadable', suffix: 'azure-automation.net' }],
    [`x.${ACCOUNT}.jrds.eus2.azure-automation.net`, { kind: 'unreadable', suffix: 'azure-automation.net' }],
    ['jrds.eus2.azure-automation.net', { kind: 'unreadable', suffix: 'azure-automation.net' }],
    [`${WS}.ods.opinsights.azure.com`, { kind: 'none' }],
    // A cloud that is not selected has no region-carrying suffixes.
    ['westeurope.handler.control.monitor.azure.cn', { kind: 'none' }],
  ];
  for (const [host, expected] of cases) test(host, () => assert.deepEqual(regionOf(scope, host), expected));

  test('every documented Automation location code is unique', () => {
    const codes = Object.values(AUTOMATION_CODES);
    assert.equal(new Set(codes).size, codes.length);
  });
});

function scopedPolicy(regions: string[], clouds: Cloud[] = ['public'], workspaces: string[] = []) {
  const config: PolicyConfig = {
    mode: 'enforce',
    clouds,
    agents: ['legacy', 'ama', 'hybrid-worker'],
    includeDefaults: true,
    disabledDefaults: [], arcGateways: [], presets: INSTALLED_PRESETS,
    allowlist: enabledPresetEntries(INSTALLED_PRESETS, ['legacy', 'ama', 'hybrid-worker'], clouds),
    workspaces,
    regions,
    deniedAddresses: DEFAULT_DENIED_ADDRESSES,
  };
  return compilePolicy(config);
}

function verdict(policy: ReturnType<typeof scopedPolicy>, host: string, port = 443): Decision {
  const parsed = parseAuthority(`${host}:${port}`);
  assert.ok(parsed.ok, host);
  return decide(policy, { target: parsed.target, client: '192.0.2.10', user: undefined });
}

describe('region scoping in decide', () => {
  const scoped = scopedPolicy(['westeurope', 'northeurope']);
  const HANDLER = '*.handler.control.monitor.azure.com';
  const INGEST = '*.ingest.monitor.azure.com';
  const AUTOMATION = '*.azure-automation.net';
  const cases: [string, string, Decision][] = [
    ['a listed region', 'westeurope.handler.control.monitor.azure.com', { allow: true, entry: HANDLER }],
    ['the other listed region', 'northeurope.handler.control.monitor.azure.com', { allow: true, entry: HANDLER }],
    ['the global handler is not regional', 'global.handler.control.monitor.azure.com', { allow: true, entry: 'global.handler.control.monitor.azure.com' }],
    ['an unlisted region', 'eastus.handler.control.monitor.azure.com', { allow: false, reason: 'region-not-allowed', entry: HANDLER, reportOnly: false }],
    ['a DCE configuration endpoint in a listed region', 'dce-1a2b.westeurope-1.handler.control.monitor.azure.com', { allow: true, entry: HANDLER }],
    ['a DCE ingestion endpoint in a listed region', 'dce-1a2b.northeurope-1.ingest.monitor.azure.com', { allow: true, entry: INGEST }],
    ['a DCE ingestion endpoint elsewhere', 'dce-1a2b.eastus-1.ingest.monitor.azure.com', { allow: false, reason: 'region-not-allowed', entry: INGEST, reportOnly: false }],
    ['an ingestion name without a region', 'dce-1a2b.ingest.monitor.azure.com', { allow: false, reason: 'region-not-allowed', entry: INGEST, reportOnly: false }],
    ['a handler name below a region', 'x.westeurope.handler.control.monitor.azure.com', { allow: false, reason: 'region-not-allowed', entry: HANDLER, reportOnly: false }],
    ['a job-runtime host of a listed region', 'we-jobruntimedata-prod-su1.azure-automation.net', { allow: true, entry: AUTOMATION }],
    ['an agent-service host of a listed region', 'ne-agentservice-prod-1.azure-automation.net', { allow: true, entry: AUTOMATION }],
    ['a job-runtime host elsewhere', 'eus-jobruntimedata-prod-su1.azure-automation.net', { allow: false, reason: 'region-not-allowed', entry: AUTOMATION, reportOnly: false }],
    ['an account JRDS host of a listed region', `${ACCOUNT}.jrds.we.azure-automation.net`, { allow: true, entry: AUTOMATION }],
    ['an account webhook host elsewhere', `${ACCOUNT}.webhook.wus2.azure-automation.net`, { allow: false, reason: 'region-not-allowed', entry: AUTOMATION, reportOnly: false }],
    ['a name below a refused job-runtime host', 'x.eus-jobruntimedata-prod-su1.azure-automation.net', { allow: false, reason: 'region-not-allowed', entry: AUTOMATION, reportOnly: false }],
    ['a name below an allowed job-runtime host (no documented shape)', 'x.we-jobruntimedata-prod-su1.azure-automation.net', { allow: false, reason: 'region-not-allowed', entry: AUTOMATION, reportOnly: false }],
    ['an undocumented location code', 'zz-jobruntimedata-prod-su1.azure-automation.net', { allow: false, reason: 'region-not-allowed', entry: AUTOMATION, reportOnly: false }],
    ['workspace-named agent service is not regional', `${WS}.agentsvc.azure-automation.net`, { allow: true, entry: AUTOMATION }],
    ['names without regions are unaffected', `${WS}.ods.opinsights.azure.com`, { allow: true, entry: '*.ods.opinsights.azure.com' }],
    ['region scoping comes after the allowlist', 'eastus.monitoring.azure.com', { allow: false, reason: 'not-in-allowlist', entry: undefined, reportOnly: false }],
  ];
  for (const [title, host, expected] of cases) test(title, () => assert.deepEqual(verdict(scoped, host), expected));

  test('region scoping comes before the port', () => {
    assert.deepEqual(verdict(scoped, 'eastus.handler.control.monitor.azure.com', 80), {
      allow: false, reason: 'region-not-allowed', entry: HANDLER, reportOnly: false,
    });
  });

  test('without regions every region is allowed', () => {
    const open = scopedPolicy([]);
    for (const host of ['eastus.handler.control.monitor.azure.com', 'x.y.handler.control.monitor.azure.com', 'zz-jobruntimedata-prod-su1.azure-automation.net']) {
      assert.equal(verdict(open, host).allow, true, host);
    }
  });

  test('sovereign regions are scoped in their own cloud', () => {
    const gov = scopedPolicy(['usgovvirginia'], ['usgov']);
    assert.equal(verdict(gov, 'usgovvirginia.handler.control.monitor.azure.us').allow, true);
    assert.equal(verdict(gov, 'usgovtexas.handler.control.monitor.azure.us').allow, false);
    assert.equal(verdict(gov, 'usge-jobruntimedata-prod-su1.azure-automation.us').allow, true);
    assert.equal(verdict(gov, 'ussc-jobruntimedata-prod-su1.azure-automation.us').allow, false);
  });

  test('workspace and region scoping apply together', () => {
    const both = scopedPolicy(['westeurope'], ['public'], [WS]);
    assert.equal(verdict(both, `${WS}.ods.opinsights.azure.com`).allow, true);
    assert.equal(verdict(both, `${ACCOUNT}.ods.opinsights.azure.com`).allow, false);
    assert.equal(verdict(both, 'westeurope.handler.control.monitor.azure.com').allow, true);
    assert.equal(verdict(both, 'eastus.handler.control.monitor.azure.com').allow, false);
  });
});
