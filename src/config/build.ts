// The typed configuration from a validated file and the command-line flags: the allowlist is computed once
// here so the proxy only looks it up. Rules that depend on file and flags together are checked here too.

import { ARC_GATEWAY_SUFFIX, arcGatewayEntries, documentedClouds, enabledPresetEntries } from '../policy/presets.js';
import type { ConfigIssue, Locate } from './issues.js';
import { metricsCollisions } from './collisions.js';
import type { FlagValues } from './overrides.js';
import { PROXY_PROTOCOL_DEFAULTS, type ConfigFile } from './schema.js';
import { tlsFileIssues, withFlagTls } from './tls-files.js';
import type { ClientRuleConfig, GatewayConfig, HostMappingConfig, ListenerConfig, ParentProxyConfig, UpstreamProbeConfig } from './types.js';
import type { Agent, AllowEntryConfig, Cloud, PresetData } from '../policy/config-types.js';

export type BuildResult =
  | { readonly ok: true; readonly config: GatewayConfig }
  | { readonly ok: false; readonly issues: ConfigIssue[] };

const ADD_USER_HINT = 'add one with `oms-gateway user add NAME`';

interface PolicyScope {
  readonly data: PresetData;
  readonly clouds: readonly Cloud[];
  readonly agents: readonly Agent[];
  readonly arcGateways: readonly string[];
}

/**
 * Enabled presets for every selected cloud (minus the disabled patterns), the tenant's Arc gateways with the
 * arc-gateway preset, then the file's entries, then the flags'.
 */
function allowlist(file: ConfigFile, scope: PolicyScope, flags: FlagValues): AllowEntryConfig[] {
  const disabled = new Set(file.disabledDefaultHosts);
  const presets = file.defaultHosts ? enabledPresetEntries(scope.data, scope.agents, scope.clouds).filter((entry) => !disabled.has(entry.pattern)) : [];
  const gateways = scope.agents.includes('arc-gateway') ? arcGatewayEntries(scope.arcGateways) : [];
  return [...presets, ...gateways, ...file.allowedHosts, ...flags.allowHosts];
}

/** Preset rules: disabled patterns must belong to an enabled preset; presets need a documented cloud; arc-gateway its addresses. */
function presetIssues(file: ConfigFile, scope: PolicyScope, agentsKey: string, locate: Locate): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const builtIn = new Set(enabledPresetEntries(scope.data, file.agents, file.cloud).map((entry) => entry.pattern));
  file.disabledDefaultHosts.forEach((pattern, index) => {
    if (builtIn.has(pattern)) return;
    const expected = [...builtIn].join(', ');
    const presets = `agents ${file.agents.join(', ') || '(none)'} in cloud ${file.cloud.join(', ')}`;
    const key = ['disabledDefaultHosts', index] as const;
    issues.push({ key: `disabledDefaultHosts[${index}]`, line: locate([...key]), message: `not a preset host of ${presets}; expected one of: ${expected || '(none)'}` });
  });
  for (const agent of scope.agents) {
    const documented = documentedClouds(scope.data, agent);
    if (documented.some((cloud) => scope.clouds.includes(cloud))) continue;
    const where = documented.length === 0 ? 'in no cloud of the installed preset data' : `for cloud ${documented.join(', ')} only`;
    issues.push({ key: agentsKey, line: agentsKey === 'agents' ? locate(['agents']) : undefined, message: `${agent}: Microsoft documents this preset ${where}; add that cloud to cloud:, or remove ${agent}` });
  }
  if (scope.agents.includes('arc-gateway') && scope.arcGateways.length === 0) {
    const message = `required with the arc-gateway preset: your Arc gateway's address, e.g. arcGateways: [<prefix>.${ARC_GATEWAY_SUFFIX}] (another tenant's gateway is never allowed)`;
    issues.push({ key: 'arcGateways', line: locate(['arcGateways']) ?? locate(['agents']), message });
  }
  return issues;
}

/** `--listen` replaces the file's listeners; `--proxy-protocol-from` gives those listeners a PROXY protocol setting. */
function listeners(file: ConfigFile, flags: FlagValues): ListenerConfig[] {
  if (flags.listen === undefined) return file.listen.map((listener) => ({ ...listener }));
  if (flags.proxyProtocolFrom.length === 0) return flags.listen.map((listener) => ({ ...listener }));
  const proxyProtocol = { ...PROXY_PROTOCOL_DEFAULTS, trusted: [...flags.proxyProtocolFrom] };
  return flags.listen.map((listener) => ({ ...listener, proxyProtocol }));
}

/** Flags win over the file: a `--resolve` for a pattern the file already maps takes that mapping's place. */
function mappings(file: ConfigFile, flags: FlagValues): HostMappingConfig[] {
  const fromFlags = new Map(flags.resolve.map((mapping) => [mapping.pattern, mapping]));
  const kept = file.resolve.filter((mapping) => !fromFlags.has(mapping.pattern));
  return [...kept, ...flags.resolve];
}

/** AMA's own health check, in the first configured cloud. */
const CONTROL_SERVICE_PING: Readonly<Record<Cloud, string>> = {
  public: 'https://global.handler.control.monitor.azure.com/ping',
  usgov: 'https://global.handler.control.monitor.azure.us/ping',
  china: 'https://global.handler.control.monitor.azure.cn/ping',
};

function upstreamProbe(file: ConfigFile, clouds: readonly Cloud[]): UpstreamProbeConfig {
  const probe = file.upstreamProbe;
  return {
    enabled: probe.enabled,
    url: probe.url ?? CONTROL_SERVICE_PING[clouds[0] ?? 'public'],
    expect: probe.expect,
    intervalSeconds: probe.intervalSeconds,
    timeoutSeconds: probe.timeoutSeconds,
    failuresBeforeUnready: probe.failuresBeforeUnready,
    caFile: probe.caFile?.path,
    ca: probe.caFile?.pem,
  };
}

function parentProxy(file: ConfigFile): ParentProxyConfig | undefined {
  const parent = file.relayProxy;
  if (parent === undefined) return undefined;
  return {
    ...parent.url,
    username: parent.username,
    password: parent.password,
    bypass: [...parent.bypass],
    caFile: parent.caFile?.path,
    ca: parent.caFile?.pem,
  };
}

export function buildConfig(
  file: ConfigFile,
  flags: FlagValues,
  sourcePath: string | undefined,
  locate: Locate,
  presets: PresetData,
): BuildResult {
  const authMode = flags.authMode ?? file.auth.mode;
  const { usersFile, ...authFile } = file.auth;
  const users = [...file.auth.users, ...(usersFile?.users ?? [])];
  if (authMode === 'basic' && users.length === 0) {
    const fromFile = flags.authMode === undefined;
    const issue: ConfigIssue = fromFile
      ? { key: 'auth.mode', line: locate(['auth', 'mode']), message: `basic needs at least one entry under auth.users; ${ADD_USER_HINT}` }
      : { key: '--auth', line: undefined, message: `"basic": the configuration has no users; ${ADD_USER_HINT}` };
    return { ok: false, issues: [issue] };
  }
  if (flags.proxyProtocolFrom.length > 0 && flags.listen === undefined) {
    const message = 'applies to the listeners given with --listen HOST:PORT; give them, or set proxyProtocol in the file';
    return { ok: false, issues: [{ key: '--proxy-protocol-from', line: undefined, message }] };
  }
  if (flags.tls !== undefined && flags.listen === undefined) {
    const message = 'applies to the listeners given with --listen HOST:PORT; give them, or set tls in the file';
    return { ok: false, issues: [{ key: '--tls-cert', line: undefined, message }] };
  }
  const clouds = [...new Set(file.cloud)];
  const agents = [...new Set(flags.agents ?? file.agents)];
  const scope: PolicyScope = { data: presets, clouds, agents, arcGateways: [...new Set(file.arcGateways)] };
  const presetProblems = presetIssues(file, scope, flags.agents === undefined ? 'agents' : '--agents', locate);
  if (presetProblems.length > 0) return { ok: false, issues: presetProblems };
  const clients = file.clients.map((rule): ClientRuleConfig => {
    const ruleAgents = rule.agents === undefined ? undefined : [...new Set(rule.agents)];
    return {
      name: rule.name ?? rule.from[0] ?? '',
      from: [...rule.from],
      auth: rule.auth ?? authMode,
      agents: ruleAgents,
      allowlist: ruleAgents === undefined ? undefined : allowlist(file, { ...scope, agents: ruleAgents }, flags).map((entry) => ({ ...entry, ports: [...entry.ports] })),
    };
  });
  const basicRule = clients.findIndex((rule) => rule.auth === 'basic');
  if (authMode !== 'basic' && basicRule !== -1 && users.length === 0) {
    return { ok: false, issues: [{ key: `clients[${basicRule}].auth`, line: locate(['clients', basicRule, 'auth']), message: `basic needs at least one entry under auth.users; ${ADD_USER_HINT}` }] };
  }
  const config: GatewayConfig = {
    listen: flags.tls === undefined ? listeners(file, flags) : withFlagTls(listeners(file, flags), flags.tls),
    policy: {
      mode: flags.policyMode ?? file.policy.mode,
      clouds,
      agents,
      includeDefaults: file.defaultHosts,
      disabledDefaults: [...new Set(file.disabledDefaultHosts)],
      arcGateways: scope.arcGateways,
      presets,
      allowlist: allowlist(file, scope, flags).map((entry) => ({ ...entry, ports: [...entry.ports] })),
      workspaces: [...new Set(file.workspaces)],
      regions: [...new Set(file.regions)],
      deniedAddresses: [...file.deniedAddresses],
    },
    resolve: mappings(file, flags).map((mapping) => ({ ...mapping })),
    auth: { ...authFile, mode: authMode, users: users.map((user) => ({ ...user })), ...(usersFile && { usersFile: usersFile.path }), throttle: { ...file.auth.throttle } },
    clients,
    timeouts: { ...file.timeouts },
    limits: { ...file.limits },
    log: { level: flags.logLevel ?? file.log.level, format: flags.logFormat ?? file.log.format, file: file.log.file, bufferBytes: file.log.bufferBytes },
    metrics: {
      ...file.metrics,
      listen: { ...(flags.metricsListen ?? file.metrics.listen) },
      users: file.metrics.users.map((user) => ({ ...user })),
      tls: file.metrics.tls === undefined ? undefined : { ...file.metrics.tls },
    },
    pidFile: flags.pidFile ?? file.pidFile,
    watch: file.watch,
    reload: { ...file.reload },
    relayProxy: parentProxy(file),
    upstreamProbe: upstreamProbe(file, clouds),
    allowedClientCertificates: [...file.allowedClientCertificates],
    inspection: { ...file.inspection },
    workers: flags.workers ?? file.workers,
    workerScheduling: file.workerScheduling,
    dns: { ...file.dns },
    sourcePath,
  };
  const metricsKey = flags.metricsListen === undefined ? 'metrics.listen' : '--metrics-listen';
  const issues = [
    ...metricsCollisions(config.listen, config.metrics.enabled ? config.metrics.listen : undefined, metricsKey, locate),
    ...tlsFileIssues(config.listen, locate, flags.tls !== undefined),
  ];
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, config };
}
