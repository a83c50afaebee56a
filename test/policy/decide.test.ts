import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { AllowEntryConfig, Cloud, PolicyConfig, PolicyMode } from '../../src/policy/config-types.js';
import { checkResolvedAddress, compilePolicy, decide, type CompiledPolicy } from '../../src/policy/decide.js';
import { DEFAULT_DENIED_ADDRESSES, workspaceSuffixes } from '../../src/policy/defaults.js';
import { parseAllowEntry } from '../../src/policy/patterns.js';
import { presetEntries } from '../../src/policy/presets.js';
import { parseAuthority } from '../../src/policy/target.js';
import type { AllowDecision, Decision } from '../../src/policy/types.js';
import { INSTALLED_PRESETS } from '../fixtures/presets.js';

const WS1 = '0b5e1d2c-1111-4a4a-8b8b-123456789abc';
const WS2 = 'f00dfeed-2222-4c4c-9d9d-cba987654321';

function operator(...texts: string[]): AllowEntryConfig[] {
  return texts.map((text) => {
    const parsed = parseAllowEntry(text, 'operator');
    assert.ok(parsed.ok, text);
    return parsed.entry;
  });
}

interface PolicyOptions {
  readonly clouds?: Cloud[];
  readonly extra?: AllowEntryConfig[];
  readonly workspaces?: string[];
  readonly regions?: string[];
  readonly mode?: PolicyMode;
}

const legacy = (cloud: Cloud): AllowEntryConfig[] => presetEntries(INSTALLED_PRESETS, 'legacy', cloud);

function policyOf(options: PolicyOptions = {}): CompiledPolicy {
  const clouds = options.clouds ?? ['public'];
  const config: PolicyConfig = {
    mode: options.mode ?? 'enforce',
    clouds,
    agents: ['legacy'],
    includeDefaults: true,
    disabledDefaults: [], arcGateways: [], presets: INSTALLED_PRESETS,
    allowlist: [...clouds.flatMap(legacy), ...(options.extra ?? [])],
    workspaces: options.workspaces ?? [],
    regions: options.regions ?? [],
    deniedAddresses: DEFAULT_DENIED_ADDRESSES,
  };
  return compilePolicy(config);
}

function decideOn(policy: CompiledPolicy, authority: string): Decision {
  const parsed = parseAuthority(authority);
  assert.ok(parsed.ok, `${authority} should parse`);
  return decide(policy, { target: parsed.target, client: '192.0.2.10', user: undefined });
}

const allow = (entry: string): AllowDecision => ({ allow: true, entry });
const deny = (reason: Extract<Decision, { allow: false }>['reason'], entry?: string): Decision => ({
  allow: false,
  reason,
  entry,
  reportOnly: false,
});

type Case = [title: string, authority: string, expected: Decision];

function table(policy: CompiledPolicy, cases: Case[]): void {
  for (const [title, authority, expected] of cases) {
    test(title, () => assert.deepEqual(decideOn(policy, authority), expected));
  }
}

describe('decide with the public defaults and operator entries', () => {
  const policy = policyOf({
    extra: operator(
      'azgn*.servicebus.windows.net',
      'crl.microsoft.com:80',
      '*.blob.core.windows.net:8443',
      'special.blob.core.windows.net:9443',
      '10.9.8.7',
      '[2001:db8::7]:443',
      'global.handler.control.monitor.azure.com',
    ),
  });
  const ODS = '*.ods.opinsights.azure.com';
  const BLOB = '*.blob.core.windows.net';
  table(policy, [
    ['workspace ingestion name', `${WS1}.ods.opinsights.azure.com:443`, allow(ODS)],
    ['mixed case', `${WS1.toUpperCase()}.ODS.OpInsights.Azure.Com:443`, allow(ODS)],
    ['trailing dot', `${WS1}.ods.opinsights.azure.com.:443`, allow(ODS)],
    ['punycode label under an allowed suffix', 'xn--bcher-kva.blob.core.windows.net:443', allow(BLOB)],
    ['deep name under an allowed suffix', 'a.b.c.blob.core.windows.net:443', allow(BLOB)],
    ['exact default name', 'ods.systemcenteradvisor.com:443', allow('ods.systemcenteradvisor.com')],
    ['operator exact name', 'global.handler.control.monitor.azure.com:443', allow('global.handler.control.monitor.azure.com')],
    ['look-alike before the suffix', 'evilods.opinsights.azure.com:443', deny('not-in-allowlist')],
    ['allowed name inside another domain', 'x.ods.opinsights.azure.com.evil.com:443', deny('not-in-allowlist')],
    ['the wildcard suffix itself', 'ods.opinsights.azure.com:443', deny('not-in-allowlist')],
    ['subdomain of an exact entry', 'x.ods.systemcenteradvisor.com:443', deny('not-in-allowlist')],
    ['unrelated name', 'example.com:443', deny('not-in-allowlist')],
    ['sovereign name without that cloud', 'ws.ods.opinsights.azure.us:443', deny('not-in-allowlist')],
    ['default entries allow only 443', `${WS1}.ods.opinsights.azure.com:80`, deny('port-not-allowed', ODS)],
    ['operator port on a plain-HTTP entry', 'crl.microsoft.com:80', allow('crl.microsoft.com')],
    ['operator entry without 443', 'crl.microsoft.com:443', deny('port-not-allowed', 'crl.microsoft.com')],
    ['ports of same-pattern entries are united', 'x.blob.core.windows.net:8443', allow(BLOB)],
    ['most specific entry that has the port', 'special.blob.core.windows.net:443', allow(BLOB)],
    ['exact entry wins when it has the port', 'special.blob.core.windows.net:9443', allow('special.blob.core.windows.net')],
    ['port denial names the most specific match', 'special.blob.core.windows.net:22', deny('port-not-allowed', 'special.blob.core.windows.net')],
    ['in-label wildcard', 'azgn123.servicebus.windows.net:443', allow('azgn*.servicebus.windows.net')],
    ['in-label wildcard needs a character', 'azgn.servicebus.windows.net:443', deny('not-in-allowlist')],
    ['in-label wildcard stays in its label', 'azgn.x.servicebus.windows.net:443', deny('not-in-allowlist')],
    ['in-label wildcard is anchored', 'xazgn1.servicebus.windows.net:443', deny('not-in-allowlist')],
    ['in-label wildcard inside another domain', 'azgn1.servicebus.windows.net.evil.com:443', deny('not-in-allowlist')],
    ['named IPv4 literal', '10.9.8.7:443', allow('10.9.8.7')],
    ['named IPv4 literal on another port', '10.9.8.7:8443', deny('port-not-allowed', '10.9.8.7')],
    ['unnamed IPv4 literal', '10.9.8.8:443', deny('ip-literal')],
    ['loopback literal', '127.0.0.1:443', deny('ip-literal')],
    ['metadata literal', '169.254.169.254:443', deny('ip-literal')],
    ['named IPv6 literal in another spelling', '[2001:DB8:0:0::7]:443', allow('2001:db8::7')],
    ['unnamed IPv6 literal', '[2001:db8::8]:443', deny('ip-literal')],
    ['IPv4-mapped form of a named IPv4 literal', '[::ffff:10.9.8.7]:443', deny('ip-literal')],
  ]);
});

describe('workspace scoping', () => {
  const scoped = policyOf({ clouds: ['public', 'usgov'], workspaces: [WS1, WS2.toUpperCase()] });
  table(scoped, [
    ['listed workspace on ods', `${WS1}.ods.opinsights.azure.com:443`, allow('*.ods.opinsights.azure.com')],
    ['listed workspace on oms', `${WS2}.oms.opinsights.azure.com:443`, allow('*.oms.opinsights.azure.com')],
    ['listed workspace on agentsvc', `${WS1}.agentsvc.azure-automation.net:443`, allow('*.azure-automation.net')],
    ['listed workspace in upper case', `${WS1.toUpperCase()}.ODS.opinsights.azure.com:443`, allow('*.ods.opinsights.azure.com')],
    ['listed workspace in the US Government cloud', `${WS1}.ods.opinsights.azure.us:443`, allow('*.ods.opinsights.azure.us')],
    ['unlisted workspace', 'deadbeef-0000-0000-0000-000000000000.ods.opinsights.azure.com:443',
      deny('workspace-not-allowed', '*.ods.opinsights.azure.com')],
    ['unlisted workspace on agentsvc', 'someone-else.agentsvc.azure-automation.net:443',
      deny('workspace-not-allowed', '*.azure-automation.net')],
    ['listed workspace below another label', `x.${WS1}.ods.opinsights.azure.com:443`,
      deny('workspace-not-allowed', '*.ods.opinsights.azure.com')],
    ['unlisted workspace in the US Government cloud', 'other.oms.opinsights.azure.us:443',
      deny('workspace-not-allowed', '*.oms.opinsights.azure.us')],
    ['names without a workspace are unaffected', 'account.blob.core.windows.net:443', allow('*.blob.core.windows.net')],
    ['regional automation names are unaffected', 'eus-jobruntimedata-prod-su1.azure-automation.net:443',
      allow('*.azure-automation.net')],
    ['scoping comes after the allowlist', 'other.ods.opinsights.azure.cn:443', deny('not-in-allowlist')],
    ['scoping comes before the port', 'other.ods.opinsights.azure.com:80',
      deny('workspace-not-allowed', '*.ods.opinsights.azure.com')],
  ]);

  const exactSuffix = policyOf({ extra: operator('ods.opinsights.azure.com'), workspaces: [WS1] });
  table(exactSuffix, [
    ['an entry for the bare suffix carries no workspace', 'ods.opinsights.azure.com:443',
      deny('workspace-not-allowed', 'ods.opinsights.azure.com')],
  ]);

  const unscoped = policyOf();
  table(unscoped, [
    ['without workspaces any workspace is allowed', 'deadbeef.ods.opinsights.azure.com:443', allow('*.ods.opinsights.azure.com')],
  ]);
});

describe('checkResolvedAddress', () => {
  const ODS = '*.ods.opinsights.azure.com';
  const cases: [string, Decision | undefined][] = [
    ['10.1.2.3', undefined],
    ['20.42.65.1', undefined],
    ['::ffff:10.1.2.3', undefined],
    ['169.254.169.254', deny('address-not-allowed', ODS)],
    ['::ffff:a9fe:a9fe', deny('address-not-allowed', ODS)],
    ['64:ff9b::7f00:1', deny('address-not-allowed', ODS)],
    ['127.0.0.1', deny('address-not-allowed', ODS)],
    ['::1', deny('address-not-allowed', ODS)],
  ];
  for (const mode of ['enforce', 'report'] as const) {
    const policy = policyOf({ mode });
    for (const [ip, expected] of cases) {
      test(`${ip} in ${mode} mode`, () => assert.deepEqual(checkResolvedAddress(policy, ip, ODS), expected));
    }
  }

  test('keeps "no entry" for a request report mode relayed', () => {
    assert.deepEqual(checkResolvedAddress(policyOf({ mode: 'report' }), '127.0.0.1', undefined), deny('address-not-allowed'));
  });

  test('uses the configured ranges, not the defaults', () => {
    const config: PolicyConfig = {
      mode: 'enforce', clouds: ['public'], agents: [], includeDefaults: true, disabledDefaults: [], arcGateways: [], presets: INSTALLED_PRESETS, allowlist: [],
      workspaces: [], regions: [], deniedAddresses: ['10.0.0.0/8'],
    };
    const custom = compilePolicy(config);
    assert.notEqual(checkResolvedAddress(custom, '10.1.2.3', ODS), undefined);
    assert.equal(checkResolvedAddress(custom, '127.0.0.1', ODS), undefined);
  });
});

describe('properties', () => {
  const extra = operator('azgn*.servicebus.windows.net', 'crl.microsoft.com:80');
  const policy = policyOf({ extra });
  const entries = [...legacy('public'), ...extra];

  // An independent reading of the pattern syntax, as regular expressions.
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  const oracle = entries.map((entry) => {
    const { pattern } = entry;
    const source = pattern.startsWith('*.')
      ? `^.+\\.${escape(pattern.slice(2))}$`
      : `^${pattern.split('*').map(escape).join('[^.]+')}$`;
    return { regex: new RegExp(source), ports: entry.ports };
  });
  const oracleAllows = (host: string, port: number): boolean =>
    oracle.some((rule) => rule.regex.test(host) && rule.ports.includes(port));

  // Labels of the allowlist itself and their look-alikes, so random names land near the edges.
  const piece = fc.constantFrom(
    'ods', 'oms', 'opinsights', 'azure', 'com', 'net', 'blob', 'core', 'windows', 'azure-automation', 'agentsvc',
    'servicebus', 'azgn', 'azgnx', 'xazgn1', 'systemcenteradvisor', 'evilods', 'evil', 'crl', 'microsoft', 'us', 'x',
  );
  const nearNames = fc.array(piece, { minLength: 1, maxLength: 7 }).map((labels) => labels.join('.'));
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
  const suffixes = fc.constantFrom(...entries.filter((e) => e.pattern.startsWith('*.')).map((e) => e.pattern.slice(2)));
  const allowedNames = fc.oneof(
    fc.tuple(suffixes, fc.array(label, { minLength: 1, maxLength: 3 }))
      .map(([suffix, labels]) => `${labels.join('.')}.${suffix}`),
    fc.stringMatching(/^[a-z0-9]{1,20}$/).map((middle) => `azgn${middle}.servicebus.windows.net`),
    fc.constant('ods.systemcenteradvisor.com'),
  );
  const lookAlikes = fc.oneof(
    allowedNames.map((name) => `${name}.evil.com`),
    fc.tuple(label, allowedNames).map(([prefix, name]) => `${prefix}${name}`),
    fc.tuple(label, label, suffixes).map(([first, glued, suffix]) => `${first}.${glued}${suffix}`),
    allowedNames.map((name) => name.slice(name.indexOf('.') + 1)),
  );
  const names = fc.oneof(nearNames, fc.domain(), allowedNames, lookAlikes);
  const ports = fc.constantFrom(443, 80, 8443, 22);

  test('no name outside the allowlist is allowed, and every name inside is', () => {
    fc.assert(
      fc.property(names, ports, (host, port) => {
        const parsed = parseAuthority(`${host}:${port}`);
        assert.ok(parsed.ok, host);
        const decision = decide(policy, { target: parsed.target, client: '192.0.2.10', user: undefined });
        assert.equal(decision.allow, oracleAllows(parsed.target.host, port), parsed.target.host);
      }),
      { numRuns: 500 },
    );
  });

  test('an allowed name stays allowed, with the same entry, under case changes and one trailing dot', () => {
    const variants = allowedNames.chain((canonical) =>
      fc.tuple(fc.constant(canonical), fc.mixedCase(fc.constant(canonical)), fc.boolean()));
    fc.assert(
      fc.property(variants, ([canonical, variant, dot]) => {
        const base = decideOn(policy, `${canonical}:443`);
        assert.equal(base.allow, true, canonical);
        assert.deepEqual(decideOn(policy, `${variant}${dot ? '.' : ''}:443`), base);
      }),
      { numRuns: 500 },
    );
  });

  test('under workspace scoping a workspace-carrying name is allowed exactly for listed IDs', () => {
    const scoped = policyOf({ workspaces: [WS1, WS2] });
    const suffix = fc.constantFrom(...workspaceSuffixes('public'));
    const id = fc.oneof(fc.constantFrom(WS1, WS2), fc.uuid(), label);
    fc.assert(
      fc.property(id, suffix, (workspace, name) => {
        const decision = decideOn(scoped, `${workspace}.${name}:443`);
        assert.equal(decision.allow, workspace === WS1 || workspace === WS2);
      }),
      { numRuns: 300 },
    );
  });
});

describe('report mode relaxes the allowlist, never the safety checks', () => {
  const report = policyOf({ mode: 'report', workspaces: [WS1], regions: ['westeurope'], extra: operator('*.handler.control.monitor.azure.com') });
  const reportOnly = (reason: Extract<Decision, { allow: false }>['reason'], entry?: string): Decision => ({
    allow: false,
    reason,
    entry,
    reportOnly: true,
  });
  table(report, [
    ['a name outside the allowlist', 'example.com:443', reportOnly('not-in-allowlist')],
    ['a port no entry allows', `${WS1}.ods.opinsights.azure.com:22`, reportOnly('port-not-allowed', '*.ods.opinsights.azure.com')],
    ['an unlisted workspace', `${WS2}.ods.opinsights.azure.com:443`, reportOnly('workspace-not-allowed', '*.ods.opinsights.azure.com')],
    ['an unlisted region', 'eastus.handler.control.monitor.azure.com:443', reportOnly('region-not-allowed', '*.handler.control.monitor.azure.com')],
    ['an IP literal stays enforced', '169.254.169.254:443', deny('ip-literal')],
    ['an IPv6 literal stays enforced', '[::1]:443', deny('ip-literal')],
    ['an allowed name is simply allowed', `${WS1}.ods.opinsights.azure.com:443`, allow('*.ods.opinsights.azure.com')],
  ]);

  test('enforce mode answers the same requests with reportOnly false', () => {
    const enforce = policyOf({ workspaces: [WS1], regions: ['westeurope'], extra: operator('*.handler.control.monitor.azure.com') });
    for (const authority of ['example.com:443', `${WS2}.ods.opinsights.azure.com:443`, 'eastus.handler.control.monitor.azure.com:443']) {
      const decision = decideOn(enforce, authority);
      assert.equal(decision.allow, false);
      if (!decision.allow) assert.equal(decision.reportOnly, false);
    }
  });
});
