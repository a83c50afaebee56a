// The effective configuration (file, defaults and command-line flags together) written with the keys and
// forms of the configuration file, for `config check`: what an operator reads there can be copied back into
// the file. Built-in hosts are not listed under allowedHosts (they come from cloud, agents and defaultHosts;
// `config check` prints the effective allowlist with sources after it). Secrets are redacted.

import { formatListenAddress } from './forms.js';
import { REDACTED } from './settings.js';
import type { GatewayConfig, HostMappingConfig, ListenerConfig } from './types.js';
import type { AllowEntryConfig } from '../policy/config-types.js';
import type { UserConfig } from '../auth/config-types.js';

function listener(config: ListenerConfig): unknown {
  const address = formatListenAddress(config);
  if (config.tls === undefined && config.proxyProtocol === undefined) return address;
  return { address, ...(config.proxyProtocol && { proxyProtocol: config.proxyProtocol }), ...(config.tls && { tls: config.tls }) };
}

function entry({ pattern, ports }: AllowEntryConfig): string {
  return ports.length === 1 && ports[0] === 443 ? pattern : `${pattern}:${ports.join(',')}`;
}

function mapping({ pattern, address, port }: HostMappingConfig): string {
  const host = address.includes(':') && port !== undefined ? `[${address}]` : address;
  return port === undefined ? `${pattern}=${host}` : `${pattern}=${host}:${port}`;
}

function users(list: readonly UserConfig[]): unknown[] {
  return list.map(({ name }) => ({ name, passwordHash: REDACTED }));
}

/** Keys without a value (an unset pidFile, say) are undefined, which YAML output leaves out as the file would. */
export function fileView(config: GatewayConfig): Record<string, unknown> {
  const { policy, auth, metrics, relayProxy } = config;
  return {
    listen: config.listen.map(listener),
    cloud: policy.clouds,
    agents: policy.agents,
    defaultHosts: policy.includeDefaults,
    disabledDefaultHosts: policy.disabledDefaults,
    allowedHosts: policy.allowlist.filter((e) => !e.source.startsWith('preset:')).map(entry),
    workspaces: policy.workspaces,
    regions: policy.regions,
    policy: { mode: policy.mode },
    deniedAddresses: policy.deniedAddresses,
    resolve: config.resolve.map(mapping),
    // Users of auth.usersFile are listed too: they are in force.
    auth: { ...auth, users: users(auth.users) },
    timeouts: config.timeouts,
    limits: config.limits,
    log: config.log,
    metrics: { ...metrics, listen: formatListenAddress(metrics.listen), users: users(metrics.users) },
    pidFile: config.pidFile,
    watch: config.watch,
    reload: config.reload,
    ...(relayProxy !== undefined && {
      relayProxy: {
        url: relayProxy.url,
        username: relayProxy.username,
        password: relayProxy.password === undefined ? undefined : REDACTED,
        bypass: relayProxy.bypass,
        caFile: relayProxy.caFile,
      },
    }),
    allowedClientCertificates: config.allowedClientCertificates,
    inspection: config.inspection,
    workers: config.workers,
    workerScheduling: config.workerScheduling,
    dns: config.dns,
  };
}
