import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AGENTS, CLOUDS, type Agent, type Cloud, type PolicyConfig } from '../../src/policy/config-types.js';
import { compilePolicy, decide, type CompiledPolicy } from '../../src/policy/decide.js';
import { DEFAULT_DENIED_ADDRESSES } from '../../src/policy/defaults.js';
import { parsePattern } from '../../src/policy/patterns.js';
import { arcGatewayEntries, DEFAULT_AGENTS, enabledPresetEntries, presetEntries, presetPatterns } from '../../src/policy/presets.js';
import { parseAuthority } from '../../src/policy/target.js';
import { INSTALLED_PRESETS } from '../fixtures/presets.js';

const WS = '0b5e1d2c-1111-4a4a-8b8b-123456789abc';

// Registrable domains each cloud's endpoints live under (Microsoft's per-cloud endpoint lists).
const CLOUD_DOMAINS: Record<Cloud, readonly string[]> = {
  public: ['azure.com', 'windows.net', 'microsoftonline.com', 'azure-automation.net', 'azure-automation.de', 'systemcenteradvisor.com',
    'microsoft.com', 'visualstudio.com'],
  // The Kubernetes monitoring page lists public-cloud Application Insights (dc.services.visualstudio.com) for
  // agent telemetry in these clouds too.
  usgov: ['azure.us', 'usgovcloudapi.net', 'microsoftonline.us', 'azure-automation.us', 'visualstudio.com'],
  china: ['azure.cn', 'chinacloudapi.cn', 'azure-automation.cn', 'visualstudio.com'],
};
const OUR_GATEWAY = 'contoso1.gw.arc.azure.com';

function presetPolicy(agent: Agent, cloud: Cloud): CompiledPolicy {
  const config: PolicyConfig = {
    mode: 'enforce',
    clouds: [cloud],
    agents: [agent],
    includeDefaults: true,
    disabledDefaults: [],
    arcGateways: [OUR_GATEWAY],
    presets: INSTALLED_PRESETS,
    allowlist: [...presetEntries(INSTALLED_PRESETS, agent, cloud), ...(agent === 'arc-gateway' ? arcGatewayEntries([OUR_GATEWAY]) : [])],
    workspaces: [],
    regions: [],
    deniedAddresses: DEFAULT_DENIED_ADDRESSES,
  };
  return compilePolicy(config);
}

/** `host` or `host:port` (443 when not given). */
function allows(policy: CompiledPolicy, host: string): boolean {
  const parsed = parseAuthority(host.includes(':') ? host : `${host}:443`);
  assert.ok(parsed.ok, host);
  return decide(policy, { target: parsed.target, client: '192.0.2.10', user: undefined }).allow;
}

interface PresetCase {
  readonly allowed: readonly string[];
  readonly refused: readonly string[];
}

/** Names each agent really uses (Microsoft's examples), and look-alikes of them. */
/** A cloud left out: Microsoft documents the preset for none there, and there is no data file. */
const CASES: Record<Agent, Partial<Record<Cloud, PresetCase>>> = {
  legacy: {
    public: {
      allowed: [`${WS}.ods.opinsights.azure.com`, `${WS}.oms.opinsights.azure.com`, 'scadvisorcontent.blob.core.windows.net',
        `${WS}.agentsvc.azure-automation.net`, 'ods.systemcenteradvisor.com'],
      refused: ['ods.opinsights.azure.com', 'evilods.opinsights.azure.com', `${WS}.ods.opinsights.azure.com.evil.com`,
        'global.handler.control.monitor.azure.com', `${WS}.ods.opinsights.azure.us`],
    },
    usgov: {
      allowed: [`${WS}.ods.opinsights.azure.us`, `${WS}.oms.opinsights.azure.us`, 'x.blob.core.usgovcloudapi.net', 'x.azure-automation.us'],
      refused: [`${WS}.ods.opinsights.azure.com`, 'x.blob.core.windows.net', 'ods.systemcenteradvisor.com'],
    },
    china: {
      allowed: [`${WS}.ods.opinsights.azure.cn`, `${WS}.oms.opinsights.azure.cn`, 'x.blob.core.chinacloudapi.cn', 'x.azure-automation.cn'],
      refused: [`${WS}.ods.opinsights.azure.com`, 'x.blob.core.windows.net', 'opinsights.azure.cn'],
    },
  },
  ama: {
    public: {
      allowed: ['global.handler.control.monitor.azure.com', 'westus2.handler.control.monitor.azure.com',
        'mydce-abcd.westeurope-1.handler.control.monitor.azure.com', `${WS}.ods.opinsights.azure.com`,
        'mydce-abcd.westeurope-1.ingest.monitor.azure.com'],
      refused: ['handler.control.monitor.azure.com', 'control.monitor.azure.com', 'xhandler.control.monitor.azure.com',
        'global.handler.control.monitor.azure.com.evil.com', 'ingest.monitor.azure.com', 'westus2.monitoring.azure.com',
        'management.azure.com', `${WS}.oms.opinsights.azure.com`, 'global.handler.control.monitor.azure.us'],
    },
    usgov: {
      allowed: ['global.handler.control.monitor.azure.us', 'usgovvirginia.handler.control.monitor.azure.us',
        `${WS}.ods.opinsights.azure.us`, 'dce.usgovvirginia-1.ingest.monitor.azure.us'],
      refused: ['global.handler.control.monitor.azure.com', `${WS}.ods.opinsights.azure.com`, 'ingest.monitor.azure.us'],
    },
    china: {
      allowed: ['global.handler.control.monitor.azure.cn', 'chinanorth2.handler.control.monitor.azure.cn',
        `${WS}.ods.opinsights.azure.cn`, '275test-01li.chinanorth2-1.ingest.monitor.azure.cn'],
      refused: ['global.handler.control.monitor.azure.com', 'chinanorth2.handler.control.monitor.azure.us'],
    },
  },
  arc: {
    public: {
      allowed: ['login.microsoftonline.com', 'login.windows.net', 'pas.windows.net', 'management.azure.com', 'gbl.his.arc.azure.com',
        'agentserviceapi.guestconfiguration.azure.com', 'guestnotificationservice.azure.com', 'westeurope.guestnotificationservice.azure.com',
        'azgnabc.servicebus.windows.net', 'azgn1.servicebus.windows.net', 'extensions.blob.core.windows.net'],
      refused: ['azgn.servicebus.windows.net', 'azgn.x.servicebus.windows.net', 'xazgn1.servicebus.windows.net',
        'azgn1.servicebus.windows.net.evil.com', 'other.servicebus.windows.net', 'login.microsoftonline.com.evil.com',
        'x.login.microsoftonline.com', 'his.arc.azure.com', 'guestconfiguration.azure.com', 'management.azure.com.evil.com',
        'login.microsoftonline.us'],
    },
    usgov: {
      allowed: ['login.microsoftonline.us', 'pasff.usgovcloudapi.net', 'management.usgovcloudapi.net', 'usgovvirginia.his.arc.azure.us',
        'x.guestconfiguration.azure.us', 'x.blob.core.usgovcloudapi.net'],
      // No notification service in US Government; its identity hosts are not ".us" spellings of the public ones.
      refused: ['guestnotificationservice.azure.us', 'azgn1.servicebus.usgovcloudapi.net', 'login.windows.us', 'pas.windows.us',
        'management.azure.us', 'login.microsoftonline.com'],
    },
    china: {
      allowed: ['login.chinacloudapi.cn', 'login.partner.chinacloudapi.cn', 'pas.chinacloudapi.cn', 'management.chinacloudapi.cn',
        'x.his.arc.azure.cn', 'x.guestconfiguration.azure.cn', 'guestnotificationservice.azure.cn', 'x.guestnotificationservice.azure.cn',
        'azgn1.servicebus.chinacloudapi.cn', 'x.blob.core.chinacloudapi.cn'],
      refused: ['azgn.servicebus.chinacloudapi.cn', 'azgn1.servicebus.windows.net', 'login.microsoftonline.com', 'x.servicebus.chinacloudapi.cn'],
    },
  },
  'hybrid-worker': {
    public: {
      allowed: ['we-jobruntimedata-prod-su1.azure-automation.net', 'we-agentservice-prod-1.azure-automation.net',
        `${WS}.agentsvc.azure-automation.net`, `${WS}.jrds.we.azure-automation.net`, `${WS}.webhook.eus.azure-automation.net`,
        `${WS}.agentsvc.dewc.azure-automation.de`],
      refused: ['azure-automation.net', 'evilazure-automation.net', 'x.azure-automation.net.evil.com', 'x.azure-automation.us'],
    },
    usgov: {
      allowed: ['usge-jobruntimedata-prod-su1.azure-automation.us', `${WS}.jrds.usge.azure-automation.us`],
      refused: ['usge-jobruntimedata-prod-su1.azure-automation.net', 'azure-automation.us'],
    },
    china: {
      allowed: [`${WS}.jrds.sha2.azure-automation.cn`, `${WS}.agentsvc.bjb.azure-automation.cn`],
      refused: [`${WS}.jrds.sha2.azure-automation.net`, 'azure-automation.cn'],
    },
  },
  'arc-gateway': {
    public: {
      allowed: [OUR_GATEWAY, 'management.azure.com', 'login.microsoftonline.com', 'westeurope.login.microsoft.com', 'gbl.his.arc.azure.com',
        'westeurope.his.arc.azure.com', 'packages.microsoft.com', 'download.microsoft.com'],
      // Other tenants' gateways, look-alikes of ours, and what the gateway itself carries (blob storage).
      refused: ['fabrikam7.gw.arc.azure.com', 'contoso1x.gw.arc.azure.com', 'x.contoso1.gw.arc.azure.com', 'gw.arc.azure.com',
        'contoso1.gw.arc.azure.com.evil.com', 'contoso1-gw.arc.azure.com', 'x.blob.core.windows.net', 'login.microsoft.com',
        'packages.microsoft.com.evil.com', `${OUR_GATEWAY}:8443`],
    },
  },
  kubernetes: {
    public: {
      allowed: [`${WS}.ods.opinsights.azure.com`, `${WS}.oms.opinsights.azure.com`, 'dc.services.visualstudio.com', 'westeurope.monitoring.azure.com',
        'login.microsoftonline.com', 'global.handler.control.monitor.azure.com', 'westeurope.handler.control.monitor.azure.com',
        'mydce-x1y2.westeurope-1.ingest.monitor.azure.com', 'mydce-x1y2.westeurope-1.metrics.ingest.monitor.azure.com'],
      refused: ['monitoring.azure.com', 'x.services.visualstudio.com', 'dc.services.visualstudio.com.evil.com', 'management.azure.com',
        'global.handler.control.monitor.azure.cn'],
    },
    usgov: {
      allowed: [`${WS}.ods.opinsights.azure.us`, `${WS}.oms.opinsights.azure.us`, 'dc.services.visualstudio.com',
        'global.handler.control.monitor.azure.us', 'usgovvirginia.handler.control.monitor.azure.us'],
      refused: [`${WS}.ods.opinsights.azure.com`, 'login.microsoftonline.com', 'x.monitoring.azure.us'],
    },
    china: {
      allowed: [`${WS}.ods.opinsights.azure.cn`, `${WS}.oms.opinsights.azure.cn`, 'dc.services.visualstudio.com', 'global.handler.control.monitor.azure.cn',
        'chinanorth3.handler.control.monitor.azure.cn', 'dce.chinanorth3-1.ingest.monitor.azure.cn', 'dce.chinanorth3-1.metrics.ingest.monitor.azure.cn'],
      refused: ['global.handler.control.monitor.azure.com', 'login.chinacloudapi.cn', 'ingest.monitor.azure.cn'],
    },
  },
  'azure-local': {
    public: {
      allowed: ['westeurope.obo.arc.azure.com:8084'],
      refused: ['westeurope.obo.arc.azure.com:443', 'obo.arc.azure.com:8084', 'westeurope.obo.arc.azure.com.evil.com:8084'],
    },
  },
};

describe('every preset in every cloud', () => {
  for (const agent of AGENTS) {
    for (const cloud of CLOUDS) {
      const cases = CASES[agent][cloud];
      if (cases === undefined) {
        test(`${agent} × ${cloud}: not documented, no entries`, () => assert.deepEqual(presetEntries(INSTALLED_PRESETS, agent, cloud), []));
        continue;
      }
      const { allowed, refused } = cases;
      const policy = presetPolicy(agent, cloud);

      test(`${agent} × ${cloud}: valid normalised patterns under the cloud's own domains, on 443 (azure-local: 8084)`, () => {
        const entries = presetEntries(INSTALLED_PRESETS, agent, cloud);
        assert.ok(entries.length > 0);
        for (const entry of entries) {
          assert.deepEqual(parsePattern(entry.pattern), { ok: true, pattern: entry.pattern });
          assert.deepEqual(entry.ports, agent === 'azure-local' ? [8084] : [443]);
          assert.equal(entry.source, `preset:${agent}:${cloud}`);
          assert.ok(CLOUD_DOMAINS[cloud].some((domain) => entry.pattern.endsWith(`.${domain}`)), entry.pattern);
        }
      });

      for (const host of allowed) test(`${agent} × ${cloud} allows ${host}`, () => assert.equal(allows(policy, host), true));
      for (const host of refused) test(`${agent} × ${cloud} refuses ${host}`, () => assert.equal(allows(policy, host), false));
    }
  }
});

describe('enabledPresetEntries', () => {
  test('the default agents are legacy and ama', () => assert.deepEqual(DEFAULT_AGENTS, ['legacy', 'ama']));

  test('cloud by cloud, agent by agent, in the documented order', () => {
    const entries = enabledPresetEntries(INSTALLED_PRESETS, ['ama', 'legacy'], ['usgov', 'public']);
    const expected = [
      ...presetPatterns(INSTALLED_PRESETS, 'ama', 'usgov'), ...presetPatterns(INSTALLED_PRESETS, 'legacy', 'usgov'),
      ...presetPatterns(INSTALLED_PRESETS, 'ama', 'public'), ...presetPatterns(INSTALLED_PRESETS, 'legacy', 'public'),
    ];
    assert.deepEqual(entries.map((entry) => entry.pattern), expected);
  });

  test('no agents, no entries', () => assert.deepEqual(enabledPresetEntries(INSTALLED_PRESETS, [], ['public']), []));

  test('callers get their own copies', () => {
    const patterns = presetPatterns(INSTALLED_PRESETS, 'arc', 'public');
    patterns.pop();
    assert.notEqual(presetPatterns(INSTALLED_PRESETS, 'arc', 'public').length, patterns.length);
  });
});
