// Agent presets, regions, report mode and PROXY protocol listeners as the configuration loader builds them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allowlistComment, describeAllowlist } from '../../src/config/effective-allowlist.js';
import { ConfigError, parseConfigText, redactConfig, type ConfigOverrides } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/types.js';
import { compilePolicy, decide } from '../../src/policy/decide.js';
import { presetEntries } from '../../src/policy/presets.js';
import { parseAuthority } from '../../src/policy/target.js';
import { INSTALLED_PRESETS } from '../fixtures/presets.js';

const WS = '0b5e1d2c-1111-4a4a-8b8b-123456789abc';

function issuesOf(text: string, overrides: ConfigOverrides = {}): { key: string; message: string }[] {
  try {
    parseConfigText(text, 'gateway.yaml', overrides);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map(({ key, message }) => ({ key, message }));
  }
  assert.fail('the configuration was accepted');
}

function allows(config: GatewayConfig, host: string): boolean {
  const parsed = parseAuthority(`${host}:443`);
  assert.ok(parsed.ok, host);
  return decide(compilePolicy(config.policy), { target: parsed.target, client: '192.0.2.10', user: undefined }).allow;
}

// The issue's "done when": with its default configuration the gateway carries an AMA agent's control, DCR and
// ingestion traffic, and an Arc agent's with agents: [legacy, ama, arc].
const AMA_NAMES = [
  'global.handler.control.monitor.azure.com',
  'westeurope.handler.control.monitor.azure.com',
  `${WS}.ods.opinsights.azure.com`,
  'mydce-x1y2.westeurope-1.ingest.monitor.azure.com',
];
const ARC_NAMES = [
  'login.microsoftonline.com', 'login.windows.net', 'pas.windows.net', 'management.azure.com', 'gbl.his.arc.azure.com',
  'agentserviceapi.guestconfiguration.azure.com', 'guestnotificationservice.azure.com', 'azgn7f3a.servicebus.windows.net',
];

describe('agents', () => {
  test('the default configuration allows the Azure Monitor Agent, and not Arc', () => {
    const config = parseConfigText('', 'inline');
    assert.deepEqual(config.policy.agents, ['legacy', 'ama']);
    for (const host of AMA_NAMES) assert.equal(allows(config, host), true, host);
    for (const host of ARC_NAMES) assert.equal(allows(config, host), false, host);
  });

  test('agents: [legacy, ama, arc] allows Arc too', () => {
    const config = parseConfigText('agents: [legacy, ama, arc]\n', 'inline');
    for (const host of [...AMA_NAMES, ...ARC_NAMES]) assert.equal(allows(config, host), true, host);
  });

  test('a single agent may be written without a list, and repeats count once', () => {
    assert.deepEqual(parseConfigText('agents: ama\n', 'inline').policy.agents, ['ama']);
    assert.deepEqual(parseConfigText('agents: [arc, arc, ama]\n', 'inline').policy.agents, ['arc', 'ama']);
  });

  test('each preset entry names its preset and cloud', () => {
    const config = parseConfigText('cloud: [public, china]\nagents: [arc]\n', 'inline');
    assert.deepEqual(config.policy.allowlist, [...presetEntries(INSTALLED_PRESETS, 'arc', 'public'), ...presetEntries(INSTALLED_PRESETS, 'arc', 'china')]);
  });

  test('agents: [] leaves only the operator entries', () => {
    const config = parseConfigText('agents: []\nallowedHosts: [a.example.com]\n', 'inline');
    assert.deepEqual(config.policy.allowlist, [{ pattern: 'a.example.com', ports: [443], source: 'operator' }]);
  });

  test('disabledDefaultHosts drops a pattern from every enabled preset that has it', () => {
    const config = parseConfigText('disabledDefaultHosts: ["*.ods.opinsights.azure.com"]\n', 'inline');
    assert.ok(config.policy.allowlist.every((entry) => entry.pattern !== '*.ods.opinsights.azure.com'));
    assert.equal(allows(config, `${WS}.ods.opinsights.azure.com`), false);
    assert.equal(allows(config, 'global.handler.control.monitor.azure.com'), true);
  });

  test('an unknown agent, and a disabled pattern of a preset that is not enabled, are refused', () => {
    assert.deepEqual(issuesOf('agents: [legacy, mma]\n'), [{ key: 'agents[1]', message: 'expected one of: legacy, ama, arc, hybrid-worker, arc-gateway, kubernetes, azure-local' }]);
    const [issue] = issuesOf('disabledDefaultHosts: ["azgn*.servicebus.windows.net"]\n');
    assert.equal(issue?.key, 'disabledDefaultHosts[0]');
    assert.match(issue?.message ?? '', /^not a preset host of agents legacy, ama in cloud public; expected one of: \*\.ods\.opinsights\.azure\.com, /);
  });

  test('--agents replaces the file’s list; an empty value means none', () => {
    const file = 'agents: [legacy]\n';
    assert.deepEqual(parseConfigText(file, 'gateway.yaml', { agents: 'ama, arc' }).policy.agents, ['ama', 'arc']);
    assert.deepEqual(parseConfigText(file, 'gateway.yaml', { agents: '' }).policy.agents, []);
    assert.deepEqual(issuesOf(file, { agents: 'legacy,mma' }), [{ key: '--agents', message: '"mma": expected one of: legacy, ama, arc, hybrid-worker, arc-gateway, kubernetes, azure-local' }]);
  });
});

describe('regions', () => {
  test('names are normalised to lower case, and repeats count once', () => {
    assert.deepEqual(parseConfigText('regions: [WestEurope, westeurope, northeurope]\n', 'inline').policy.regions, ['westeurope', 'northeurope']);
  });

  test('a name with spaces is refused with an example', () => {
    assert.deepEqual(issuesOf('regions: ["West Europe"]\n'), [
      { key: 'regions[0]', message: 'expected an Azure region name in lower case without spaces, e.g. westeurope or usgovvirginia' },
    ]);
  });

  test('regions limit the regional names of the presets', () => {
    const config = parseConfigText('regions: [westeurope]\nagents: [legacy, ama, hybrid-worker]\n', 'inline');
    assert.equal(allows(config, 'westeurope.handler.control.monitor.azure.com'), true);
    assert.equal(allows(config, 'eastus.handler.control.monitor.azure.com'), false);
    assert.equal(allows(config, 'we-jobruntimedata-prod-su1.azure-automation.net'), true);
    assert.equal(allows(config, 'eus-jobruntimedata-prod-su1.azure-automation.net'), false);
  });
});

describe('policy.mode', () => {
  test('enforce by default; report from the file or from --policy-mode', () => {
    assert.equal(parseConfigText('', 'inline').policy.mode, 'enforce');
    assert.equal(parseConfigText('policy:\n  mode: report\n', 'inline').policy.mode, 'report');
    assert.equal(parseConfigText('policy:\n  mode: report\n', 'inline', { policyMode: 'enforce' }).policy.mode, 'enforce');
  });

  test('other values and keys are refused', () => {
    assert.deepEqual(issuesOf('policy:\n  mode: audit\n'), [{ key: 'policy.mode', message: 'expected one of: enforce, report' }]);
    assert.deepEqual(issuesOf('policy:\n  enforce: false\n'), [{ key: 'policy.enforce', message: 'unknown key; expected one of: mode' }]);
    assert.deepEqual(issuesOf('', { policyMode: 'audit' }), [{ key: '--policy-mode', message: '"audit": expected one of: enforce, report' }]);
  });
});

describe('listeners with PROXY protocol', () => {
  const DEFAULTS = { required: false, headerTimeoutSeconds: 5, maxHeaderBytes: 1024 };

  test('a listener may be a mapping; strings and mappings mix', () => {
    const config = parseConfigText(
      'listen:\n  - 127.0.0.1:0\n  - address: "[::1]:0"\n    proxyProtocol:\n      trusted: [10.0.0.10, "2001:DB8::/32"]\n  - address: 127.0.0.2:0\n',
      'inline',
    );
    assert.deepEqual(config.listen, [
      { host: '127.0.0.1', port: 0, optional: false },
      { host: '::1', port: 0, optional: false, proxyProtocol: { ...DEFAULTS, trusted: ['10.0.0.10/32', '2001:db8::/32'] } },
      { host: '127.0.0.2', port: 0, optional: false },
    ]);
  });

  test('every PROXY protocol setting', () => {
    const config = parseConfigText(
      'listen:\n  - address: 127.0.0.1:0\n    proxyProtocol:\n      trusted: [10.0.0.0/8]\n      required: true\n      headerTimeoutSeconds: 0.5\n      maxHeaderBytes: 232\n',
      'inline',
    );
    assert.deepEqual(config.listen[0]?.proxyProtocol, { trusted: ['10.0.0.0/8'], required: true, headerTimeoutSeconds: 0.5, maxHeaderBytes: 232 });
  });

  const invalid: [string, string, { key: string; message: string }[]][] = [
    ['no trusted ranges', 'listen:\n  - address: 127.0.0.1:0\n    proxyProtocol: {}\n',
      [{ key: 'listen[0].proxyProtocol.trusted', message: 'expected a list of address ranges (CIDR) of the load balancers' }]],
    ['an empty trusted list', 'listen:\n  - address: 127.0.0.1:0\n    proxyProtocol:\n      trusted: []\n',
      [{ key: 'listen[0].proxyProtocol.trusted', message: 'expected at least one address range (CIDR) of a load balancer' }]],
    ['a bad range', 'listen:\n  - address: 127.0.0.1:0\n    proxyProtocol:\n      trusted: [10.0.0.1/8]\n',
      [{ key: 'listen[0].proxyProtocol.trusted[0]', message: 'invalid address range: host bits are set; use "10.0.0.0/8"' }]],
    ['a header bound below a v2 UNIX header', 'listen:\n  - address: 127.0.0.1:0\n    proxyProtocol:\n      trusted: [10.0.0.1]\n      maxHeaderBytes: 100\n',
      [{ key: 'listen[0].proxyProtocol.maxHeaderBytes', message: 'expected a whole number from 232 to 65551' }]],
    ['an unknown key', 'listen:\n  - address: 127.0.0.1:0\n    proxy: true\n',
      [{ key: 'listen[0].proxy', message: 'unknown key (did you mean "proxyProtocol"?); expected one of: address, proxyProtocol, tls' }]],
    ['a bad address in a mapping', 'listen:\n  - address: localhost:80\n',
      [{ key: 'listen[0].address', message: 'HOST must be an IP address, IPv6 in brackets as in [::]:8080; expected HOST:PORT, e.g. 0.0.0.0:8080' }]],
    ['a number', 'listen: [8080]\n',
      [{ key: 'listen[0]', message: 'expected HOST:PORT, e.g. 0.0.0.0:8080, or a mapping {address: HOST:PORT, proxyProtocol: ..., tls: ...}' }]],
  ];
  for (const [title, text, expected] of invalid) test(`refused: ${title}`, () => assert.deepEqual(issuesOf(text), expected));

  test('--proxy-protocol-from gives the --listen listeners a trusted list', () => {
    const config = parseConfigText('', 'inline', { listen: ['127.0.0.1:0', '[::1]:0'], proxyProtocolFrom: ['10.1.0.0/16', '10.1.0.0/16', '::1'] });
    const proxyProtocol = { ...DEFAULTS, trusted: ['10.1.0.0/16', '::1/128'] };
    assert.deepEqual(config.listen, [
      { host: '127.0.0.1', port: 0, optional: false, proxyProtocol },
      { host: '::1', port: 0, optional: false, proxyProtocol },
    ]);
  });

  test('--proxy-protocol-from needs --listen, and valid ranges', () => {
    assert.deepEqual(issuesOf('', { proxyProtocolFrom: ['10.0.0.0/8'] }), [
      { key: '--proxy-protocol-from', message: 'applies to the listeners given with --listen HOST:PORT; give them, or set proxyProtocol in the file' },
    ]);
    assert.deepEqual(issuesOf('', { listen: ['127.0.0.1:0'], proxyProtocolFrom: ['10.0.0.0/33'] }), [
      { key: '--proxy-protocol-from', message: '"10.0.0.0/33": invalid address range: an IPv4 prefix length is at most 32' },
    ]);
  });
});

describe('describeAllowlist', () => {
  test('every entry in force with its source; equal entries of several presets are one row', () => {
    const config = parseConfigText('agents: [legacy, ama]\nallowedHosts: [crl.microsoft.com:80]\n', 'inline', { allowHosts: ['localhost:8443'] });
    const rows = describeAllowlist(config);
    assert.deepEqual(rows.find((row) => row.pattern === '*.ods.opinsights.azure.com'), {
      pattern: '*.ods.opinsights.azure.com', ports: [443], source: 'preset:legacy:public, preset:ama:public',
    });
    assert.deepEqual(rows.find((row) => row.pattern === 'global.handler.control.monitor.azure.com'), {
      pattern: 'global.handler.control.monitor.azure.com', ports: [443], source: 'preset:ama:public',
    });
    assert.deepEqual(rows.slice(-2), [
      { pattern: 'crl.microsoft.com', ports: [80], source: 'operator' },
      { pattern: 'localhost', ports: [8443], source: 'flag' },
    ]);
    assert.equal(rows.length, new Set(config.policy.allowlist.map((entry) => `${entry.pattern} ${entry.ports.join(',')}`)).size);
  });

  test('as comment lines that keep a YAML document valid', () => {
    const text = allowlistComment([
      { pattern: '*.ods.opinsights.azure.com', ports: [443], source: 'preset:legacy:public' },
      { pattern: 'crl.microsoft.com', ports: [80, 443], source: 'operator' },
    ]);
    assert.equal(text, [
      '# effective allowlist (2 entries):',
      '#   PATTERN                     PORTS   SOURCE',
      '#   *.ods.opinsights.azure.com  443     preset:legacy:public',
      '#   crl.microsoft.com           80,443  operator',
    ].join('\n'));
  });
});

describe('arc-gateway, kubernetes and azure-local presets', () => {
  const GW = 'contoso1.gw.arc.azure.com';

  test('arc-gateway allows the configured gateway and the seven documented hosts, and no other tenant’s gateway', () => {
    const config = parseConfigText(`agents: [arc-gateway]\narcGateways: [${GW.toUpperCase()}.]\n`, 'inline');
    assert.deepEqual(config.policy.arcGateways, [GW]);
    assert.deepEqual(config.policy.allowlist.find((entry) => entry.source === 'arcGateways'), { pattern: GW, ports: [443], source: 'arcGateways' });
    for (const host of [GW, 'management.azure.com', 'westeurope.login.microsoft.com', 'gbl.his.arc.azure.com', 'packages.microsoft.com']) assert.equal(allows(config, host), true, host);
    for (const host of ['fabrikam7.gw.arc.azure.com', `x.${GW}`, 'x.blob.core.windows.net']) assert.equal(allows(config, host), false, host);
  });

  test('arc-gateway without arcGateways is a configuration error naming the setting, from the file or from --agents', () => {
    const [issue] = issuesOf('agents: [ama, arc-gateway]\n');
    assert.equal(issue?.key, 'arcGateways');
    assert.match(issue?.message ?? '', /^required with the arc-gateway preset: your Arc gateway's address, e\.g\. arcGateways: \[<prefix>\.gw\.arc\.azure\.com\]/);
    assert.equal(issuesOf('', { agents: 'arc-gateway' })[0]?.key, 'arcGateways');
  });

  test('arcGateways takes exact gateway addresses only', () => {
    for (const bad of ['*.gw.arc.azure.com', 'gw.arc.azure.com', 'a.b.gw.arc.azure.com', 'https://x.gw.arc.azure.com', 'x.gw.arc.azure.com:443', 'x.gw.arc.azure.com.evil.com']) {
      const [issue] = issuesOf(`arcGateways: ["${bad}"]\n`);
      assert.equal(issue?.key, 'arcGateways[0]', bad);
      assert.match(issue?.message ?? '', /^expected your Arc gateway's address, <prefix>\.gw\.arc\.azure\.com/);
    }
  });

  test('an allowedHosts or --allow-host wildcard over every tenant’s gateway is refused and names arcGateways', () => {
    for (const wildcard of ['*.gw.arc.azure.com', 'x*.gw.arc.azure.com', '*.arc.azure.com', '*.azure.com']) {
      const [issue] = issuesOf(`allowedHosts: ["${wildcard}"]\n`);
      assert.equal(issue?.key, 'allowedHosts[0]', wildcard);
      assert.match(issue?.message ?? '', /any tenant's Arc gateway .* arcGateways/);
    }
    assert.match(issuesOf('', { allowHosts: ['*.gw.arc.azure.com'] })[0]?.message ?? '', /arcGateways/);
    // Names that do not cover gateways stay allowed.
    assert.equal(parseConfigText('allowedHosts: ["*.his.arc.azure.com", "contoso1.gw.arc.azure.com"]\n', 'inline').policy.allowlist.length > 0, true);
  });

  test('a preset Microsoft documents for none of the selected clouds is an error; with one of them it applies there only', () => {
    const [issue] = issuesOf(`cloud: usgov\nagents: [arc-gateway]\narcGateways: [${GW}]\n`);
    assert.deepEqual(issue && { key: issue.key, message: issue.message }, {
      key: 'agents',
      message: 'arc-gateway: Microsoft documents this preset for cloud public only; add that cloud to cloud:, or remove arc-gateway',
    });
    const config = parseConfigText('cloud: [public, usgov]\nagents: [azure-local]\n', 'inline');
    assert.deepEqual(config.policy.allowlist.map((entry) => `${entry.pattern}:${entry.ports.join(',')} ${entry.source}`), ['*.obo.arc.azure.com:8084 preset:azure-local:public']);
  });

  test('kubernetes in the three clouds', () => {
    const config = parseConfigText('cloud: [public, usgov, china]\nagents: [kubernetes]\n', 'inline');
    for (const host of ['dce.westeurope-1.metrics.ingest.monitor.azure.com', 'dc.services.visualstudio.com', 'global.handler.control.monitor.azure.us', 'x.oms.opinsights.azure.cn']) {
      assert.equal(allows(config, host), true, host);
    }
  });

  test('the redacted configuration (config check) names the preset data version, not its entries', () => {
    const config = parseConfigText('', 'inline');
    const printed = redactConfig(config) as { policy: Record<string, unknown> };
    assert.equal(printed.policy['presetVersion'], config.policy.presets.version);
    assert.equal(printed.policy['presets'], undefined);
  });
});
