import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Agent, AllowEntryConfig, Cloud, PolicyConfig } from '../../src/policy/config-types.js';
import { compilePolicy, decide, type CompiledPolicy } from '../../src/policy/decide.js';
import { DEFAULT_DENIED_ADDRESSES } from '../../src/policy/defaults.js';
import { addressHint, hintFor, type DenyHint } from '../../src/policy/hints.js';
import { parseAllowEntry } from '../../src/policy/patterns.js';
import { arcGatewayEntries, enabledPresetEntries } from '../../src/policy/presets.js';
import { parseAuthority } from '../../src/policy/target.js';
import { INSTALLED_PRESETS } from '../fixtures/presets.js';

const WS1 = '0b5e1d2c-1111-4a4a-8b8b-123456789abc';
const WS2 = 'f00dfeed-2222-4c4c-9d9d-cba987654321';

interface Options {
  readonly agents?: Agent[];
  readonly clouds?: Cloud[];
  readonly includeDefaults?: boolean;
  readonly disabled?: string[];
  readonly operator?: string[];
  readonly workspaces?: string[];
  readonly regions?: string[];
  readonly arcGateways?: string[];
}

function policyOf(options: Options = {}): CompiledPolicy {
  const { agents = ['legacy', 'ama'], clouds = ['public'], includeDefaults = true, disabled = [] } = options;
  const presets = includeDefaults ? enabledPresetEntries(INSTALLED_PRESETS, agents, clouds).filter((entry) => !disabled.includes(entry.pattern)) : [];
  const operator = (options.operator ?? []).map((text): AllowEntryConfig => {
    const parsed = parseAllowEntry(text, 'operator');
    assert.ok(parsed.ok, text);
    return parsed.entry;
  });
  const config: PolicyConfig = {
    mode: 'enforce',
    clouds,
    agents,
    includeDefaults,
    disabledDefaults: disabled,
    arcGateways: options.arcGateways ?? [],
    presets: INSTALLED_PRESETS,
    allowlist: [...presets, ...(agents.includes('arc-gateway') ? arcGatewayEntries(options.arcGateways ?? []) : []), ...operator],
    workspaces: options.workspaces ?? [],
    regions: options.regions ?? [],
    deniedAddresses: DEFAULT_DENIED_ADDRESSES,
  };
  return compilePolicy(config);
}

/** The decision must be a denial with `reason`; returns its hint. */
function hintOn(policy: CompiledPolicy, authority: string, reason: string): DenyHint | undefined {
  const parsed = parseAuthority(authority);
  assert.ok(parsed.ok, authority);
  const decision = decide(policy, { target: parsed.target, client: '192.0.2.10', user: undefined });
  assert.equal(decision.allow, false, authority);
  if (decision.allow) return undefined;
  assert.equal(decision.reason, reason);
  return hintFor(policy, parsed.target, decision);
}

describe('not-in-allowlist: the preset that would allow the name', () => {
  const cases: [string, Options, string, string][] = [
    ['an agent preset not enabled', { agents: ['legacy'] }, 'global.handler.control.monitor.azure.com:443',
      'global.handler.control.monitor.azure.com: enable agents: [ama] (preset ama, cloud public, entry global.handler.control.monitor.azure.com): set agents: [legacy, ama]'],
    ['the Arc notification relay', {}, 'azgn7f3a.servicebus.windows.net:443',
      'azgn7f3a.servicebus.windows.net: enable agents: [arc] (preset arc, cloud public, entry azgn*.servicebus.windows.net): set agents: [legacy, ama, arc]'],
    ['a cloud not selected', {}, `${WS1}.ods.opinsights.azure.us:443`,
      `${WS1}.ods.opinsights.azure.us: enable agents: [legacy] (preset legacy, cloud usgov, entry *.ods.opinsights.azure.us): set cloud: [public, usgov]`],
    ['a cloud and an agent not selected', {}, 'login.microsoftonline.us:443',
      'login.microsoftonline.us: enable agents: [arc] (preset arc, cloud usgov, entry login.microsoftonline.us): set cloud: [public, usgov]; set agents: [legacy, ama, arc]'],
    ['a preset pattern the operator disabled', { disabled: ['*.azure-automation.net'] }, 'we-jobruntimedata-prod-su1.azure-automation.net:443',
      'we-jobruntimedata-prod-su1.azure-automation.net: enable agents: [legacy] (preset legacy, cloud public, entry *.azure-automation.net): remove "*.azure-automation.net" from disabledDefaultHosts'],
    ['presets switched off', { includeDefaults: false }, 'global.handler.control.monitor.azure.com:443',
      'global.handler.control.monitor.azure.com: enable agents: [ama] (preset ama, cloud public, entry global.handler.control.monitor.azure.com): set defaultHosts: true'],
  ];
  for (const [title, options, authority, text] of cases) {
    test(title, () => assert.deepEqual(hintOn(policyOf(options), authority, 'not-in-allowlist'), { kind: 'enable-preset', text }));
  }

  test('the preset needing the fewest changes wins', () => {
    // *.blob.core.windows.net is in legacy and arc: with legacy's pattern disabled, arc is one change away.
    const hint = hintOn(policyOf({ agents: ['legacy'], disabled: ['*.blob.core.windows.net'] }), 'x.blob.core.windows.net:443', 'not-in-allowlist');
    assert.equal(hint?.kind, 'enable-preset');
    assert.match(hint?.text ?? '', /^x\.blob\.core\.windows\.net: enable agents: \[(legacy|arc)\]/);
  });
});

describe('not-in-allowlist without a preset: the allowed-host command', () => {
  const cases: [string, string, string][] = [
    ['a name', 'crl.microsoft.com:443', 'oms-gateway allowed-host add crl.microsoft.com:443'],
    ['another port', 'crl.microsoft.com:80', 'oms-gateway allowed-host add crl.microsoft.com:80'],
    ['a preset name on a port presets do not allow', 'global.handler.control.monitor.azure.us:8443', 'oms-gateway allowed-host add global.handler.control.monitor.azure.us:8443'],
  ];
  for (const [title, authority, command] of cases) {
    test(title, () => {
      const hint = hintOn(policyOf(), authority, 'not-in-allowlist');
      assert.equal(hint?.kind, 'add-host');
      assert.equal(hint?.command, command);
      assert.match(hint?.text ?? '', /is in no allowlist entry or preset/);
    });
  }
});

describe('the other reasons', () => {
  test('port-not-allowed: the ports the entries allow, and the command for this port', () => {
    const hint = hintOn(policyOf({ operator: ['crl.microsoft.com:80'] }), 'crl.microsoft.com:443', 'port-not-allowed');
    assert.deepEqual(hint, { kind: 'add-port', text: '[crl.microsoft.com] allows port 80, not 443', command: 'oms-gateway allowed-host add crl.microsoft.com:443' });
  });

  test('port-not-allowed with several entries', () => {
    const hint = hintOn(policyOf({ operator: ['*.blob.core.windows.net:8443'] }), 'x.blob.core.windows.net:22', 'port-not-allowed');
    assert.equal(hint?.text, '[*.blob.core.windows.net] allows ports 443, 8443, not 22');
  });

  test('workspace-not-allowed: the list that excluded it', () => {
    const hint = hintOn(policyOf({ workspaces: [WS1] }), `${WS2}.ods.opinsights.azure.com:443`, 'workspace-not-allowed');
    assert.deepEqual(hint, { kind: 'workspace', text: `workspace ${WS2} is not in workspaces: [${WS1}]; add it there to allow it` });
  });

  test('workspace-not-allowed for a name that carries no ID', () => {
    const hint = hintOn(policyOf({ workspaces: [WS1] }), `x.${WS1}.ods.opinsights.azure.com:443`, 'workspace-not-allowed');
    assert.deepEqual(hint, { kind: 'workspace', text: 'with workspaces: set, names below ods.opinsights.azure.com must be <workspace-id>.ods.opinsights.azure.com' });
  });

  test('long lists are cut', () => {
    const many = Array.from({ length: 12 }, (_, i) => `0b5e1d2c-1111-4a4a-8b8b-1234567890${String(i).padStart(2, '0')}`);
    const hint = hintOn(policyOf({ workspaces: many }), `${WS2}.ods.opinsights.azure.com:443`, 'workspace-not-allowed');
    assert.match(hint?.text ?? '', /, … 4 more\]/);
  });

  test('region-not-allowed: the region and the list', () => {
    const hint = hintOn(policyOf({ regions: ['westeurope'] }), 'eastus.handler.control.monitor.azure.com:443', 'region-not-allowed');
    assert.deepEqual(hint, { kind: 'region', text: 'region eastus is not in regions: [westeurope]; add it there to allow it' });
  });

  test('region-not-allowed for an Automation location code', () => {
    const hint = hintOn(policyOf({ agents: ['hybrid-worker'], regions: ['westeurope'] }), 'eus-jobruntimedata-prod-su1.azure-automation.net:443', 'region-not-allowed');
    assert.deepEqual(hint, { kind: 'region', text: 'Automation location code eus is region eastus, not one of regions: [westeurope]' });
  });

  test('region-not-allowed for an undocumented location code', () => {
    const hint = hintOn(policyOf({ agents: ['hybrid-worker'], regions: ['westeurope'] }), 'zz-jobruntimedata-prod-su1.azure-automation.net:443', 'region-not-allowed');
    assert.equal(hint?.text, 'Automation location code zz is not documented for any region, not one of regions: [westeurope]');
  });

  test('region-not-allowed for an Automation name of no documented shape names the Automation shapes (issue 16)', () => {
    const hint = hintOn(policyOf({ agents: ['hybrid-worker'], regions: ['westeurope'] }), 'x.eus-jobruntimedata-prod-su1.azure-automation.net:443', 'region-not-allowed');
    assert.equal(hint?.text, 'with regions: set, names below azure-automation.net must name a region (<code>-jobruntimedata-prod-<n>.…, <code>-agentservice-prod-<n>.… or <account>.{webhook,agentsvc,jrds}.<code>.…)');
  });

  test('region-not-allowed for a name that carries no region', () => {
    const hint = hintOn(policyOf({ regions: ['westeurope'] }), 'dce.ingest.monitor.azure.com:443', 'region-not-allowed');
    assert.equal(hint?.text, 'with regions: set, names below ingest.monitor.azure.com must name a region (<region>.… or <dce>.<region>-<n>.…)');
  });

  test('ip-literal: the command naming the address', () => {
    const hint = hintOn(policyOf(), '[2001:db8::7]:443', 'ip-literal');
    assert.equal(hint?.kind, 'ip-literal');
    assert.equal(hint?.command, "oms-gateway allowed-host add '[2001:db8::7]:443'");
  });

  test('ip-literal of a denied address: no command, since no entry could help', () => {
    const hint = hintOn(policyOf(), '169.254.169.254:80', 'ip-literal');
    assert.deepEqual(hint, { kind: 'ip-literal', text: '169.254.169.254 is an IP literal in deniedAddresses; no allowlist entry can make it reachable' });
  });

  test('address-not-allowed', () => {
    const target = parseAuthority('x.blob.core.windows.net:443');
    assert.ok(target.ok);
    const hint = hintFor(policyOf(), target.target, { allow: false, reason: 'address-not-allowed', entry: '*.blob.core.windows.net', reportOnly: false });
    assert.deepEqual(hint, addressHint());
    assert.equal(hint?.kind, 'address');
  });
});

describe('Arc gateways: the hint names arcGateways, never a command', () => {
  const OURS = 'contoso1.gw.arc.azure.com';
  const policy = (): CompiledPolicy => policyOf({ agents: ['ama', 'arc-gateway'], arcGateways: [OURS] });

  test('another tenant’s gateway is refused and the hint says why', () => {
    const hint = hintOn(policy(), 'fabrikam7.gw.arc.azure.com:443', 'not-in-allowlist');
    assert.equal(hint?.kind, 'arc-gateway');
    assert.equal(hint?.command, undefined);
    assert.match(hint?.text ?? '', /^fabrikam7\.gw\.arc\.azure\.com is an Arc gateway and it is not in arcGateways: \[contoso1\.gw\.arc\.azure\.com\]; .*add it to arcGateways$/);
  });

  test('with no gateway configured the hint says arcGateways is empty', () => {
    const hint = hintOn(policyOf(), 'fabrikam7.gw.arc.azure.com:443', 'not-in-allowlist');
    assert.match(hint?.text ?? '', /arcGateways is empty/);
  });

  test('our own gateway while the preset is off: turn the preset on', () => {
    const hint = hintOn(policyOf({ agents: ['ama'], arcGateways: [OURS] }), `${OURS}:443`, 'not-in-allowlist');
    assert.deepEqual(hint, { kind: 'arc-gateway', text: `${OURS} is in arcGateways, but the arc-gateway preset is off: set agents: [ama, arc-gateway]` });
  });

  test('a name deeper below the suffix is no gateway: the ordinary add-host hint', () => {
    assert.equal(hintOn(policy(), 'a.b.gw.arc.azure.com:443', 'not-in-allowlist')?.kind, 'add-host');
  });

  test('a preset entry on another port than 443 is found on its own port (azure-local, 8084)', () => {
    const hint = hintOn(policyOf(), 'westeurope.obo.arc.azure.com:8084', 'not-in-allowlist');
    assert.equal(hint?.kind, 'enable-preset');
    assert.match(hint?.text ?? '', /preset azure-local, cloud public, entry \*\.obo\.arc\.azure\.com/);
  });
});
