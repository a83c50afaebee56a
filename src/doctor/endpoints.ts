// Which names `oms-gateway doctor` tests: one per allowlist entry. An exact name or an IP literal is tested
// as it is; a wildcard needs a real name below it: `<workspace>.<suffix>` for the workspace-named
// endpoints when a workspace ID is known (--workspace, else the first of `workspaces`), `<region>.<suffix>`
// for per-region names when a region is configured, or a fixed, well-known host (the agents' management
// pack store on blob storage). Anything else is listed as not testable, with the way to make it testable.

import type { GatewayConfig } from '../config/types.js';
import type { AllowEntryConfig } from '../policy/config-types.js';
import { workspaceSuffixes } from '../policy/defaults.js';

export interface Endpoint {
  /** The allowlist pattern this endpoint stands for. */
  readonly entry: string;
  readonly host: string;
  readonly port: number;
}

export interface Untestable {
  readonly entry: string;
  readonly port: number;
  readonly hint: string;
}

/** Fixed hosts below wildcard entries that answer for everybody (public cloud only: documented there). */
const WELL_KNOWN: Readonly<Record<string, string>> = {
  'blob.core.windows.net': 'scadvisorcontent.blob.core.windows.net',
};

/** Suffixes whose first label is a region (AMA's per-region handler). */
const REGION_SUFFIXES = ['handler.control.monitor.azure.com', 'handler.control.monitor.azure.us', 'handler.control.monitor.azure.cn'];

function hostBelow(suffix: string, config: GatewayConfig, workspace: string | undefined): string | undefined {
  const byWorkspace = config.policy.clouds.flatMap(workspaceSuffixes).find((w) => w === suffix || w.endsWith(`.${suffix}`));
  if (byWorkspace !== undefined && workspace !== undefined) return `${workspace}.${byWorkspace}`;
  const region = config.policy.regions[0];
  if (REGION_SUFFIXES.includes(suffix) && region !== undefined) return `${region}.${suffix}`;
  return WELL_KNOWN[suffix];
}

function hintFor(entry: AllowEntryConfig): string {
  if (entry.pattern.startsWith('*.')) return 'no fixed name below this wildcard: give --workspace ID, or --host NAME for a name you use';
  return 'a "*" inside a label has no fixed name: give --host NAME for a name you use';
}

/** The endpoints to test, and the entries that cannot be tested as configured. */
export function endpointsOf(config: GatewayConfig, workspace: string | undefined, extraHosts: readonly Endpoint[]): { endpoints: Endpoint[]; untestable: Untestable[] } {
  const id = workspace ?? config.policy.workspaces[0];
  const endpoints: Endpoint[] = [];
  const untestable: Untestable[] = [];
  for (const entry of config.policy.allowlist) {
    const port = entry.ports.includes(443) ? 443 : (entry.ports[0] ?? 443);
    if (!entry.pattern.includes('*')) {
      endpoints.push({ entry: entry.pattern, host: entry.pattern, port });
      continue;
    }
    const host = entry.pattern.startsWith('*.') ? hostBelow(entry.pattern.slice(2), config, id) : undefined;
    if (host === undefined) untestable.push({ entry: entry.pattern, port, hint: hintFor(entry) });
    else endpoints.push({ entry: entry.pattern, host, port });
  }
  const seen = new Set<string>();
  return {
    endpoints: [...endpoints, ...extraHosts].filter((e) => {
      const key = `${e.host}:${e.port}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    }),
    untestable,
  };
}
