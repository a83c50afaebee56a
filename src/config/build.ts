// The typed configuration from a validated file and the command-line flags: the allowlist is computed once
// here so the proxy only looks it up. Rules that depend on file and flags together are checked here too.

import { defaultAllowEntries } from '../policy/defaults.js';
import type { ConfigIssue, Locate } from './issues.js';
import type { FlagValues } from './overrides.js';
import type { ConfigFile } from './schema.js';
import type { AllowEntryConfig, Cloud, GatewayConfig, HostMappingConfig } from './types.js';

export type BuildResult =
  | { readonly ok: true; readonly config: GatewayConfig }
  | { readonly ok: false; readonly issues: ConfigIssue[] };

const ADD_USER_HINT = 'add one with `oms-gateway user add NAME`';

function allowlist(file: ConfigFile, clouds: readonly Cloud[], flags: FlagValues): AllowEntryConfig[] {
  const disabled = new Set(file.disabledDefaultHosts);
  const defaults = file.defaultHosts
    ? clouds.flatMap((cloud) => defaultAllowEntries(cloud)).filter((entry) => !disabled.has(entry.pattern))
    : [];
  return [...defaults, ...file.allowedHosts, ...flags.allowHosts];
}

/** Flags win over the file: a `--resolve` for a pattern the file already maps takes that mapping's place. */
function mappings(file: ConfigFile, flags: FlagValues): HostMappingConfig[] {
  const fromFlags = new Map(flags.resolve.map((mapping) => [mapping.pattern, mapping]));
  const kept = file.resolve.filter((mapping) => !fromFlags.has(mapping.pattern));
  return [...kept, ...flags.resolve];
}

export function buildConfig(
  file: ConfigFile,
  flags: FlagValues,
  sourcePath: string | undefined,
  locate: Locate,
): BuildResult {
  const authMode = flags.authMode ?? file.auth.mode;
  if (authMode === 'basic' && file.auth.users.length === 0) {
    const fromFile = flags.authMode === undefined;
    const issue: ConfigIssue = fromFile
      ? { key: 'auth.mode', line: locate(['auth', 'mode']), message: `basic needs at least one entry under auth.users; ${ADD_USER_HINT}` }
      : { key: '--auth', line: undefined, message: `"basic": the configuration has no users; ${ADD_USER_HINT}` };
    return { ok: false, issues: [issue] };
  }
  const clouds = [...new Set(file.cloud)];
  const config: GatewayConfig = {
    listen: (flags.listen ?? file.listen).map((listener) => ({ ...listener })),
    policy: {
      clouds,
      includeDefaults: file.defaultHosts,
      disabledDefaults: [...new Set(file.disabledDefaultHosts)],
      allowlist: allowlist(file, clouds, flags).map((entry) => ({ ...entry, ports: [...entry.ports] })),
      workspaces: [...new Set(file.workspaces)],
      deniedAddresses: [...file.deniedAddresses],
    },
    resolve: mappings(file, flags).map((mapping) => ({ ...mapping })),
    auth: { ...file.auth, mode: authMode, users: file.auth.users.map((user) => ({ ...user })) },
    timeouts: { ...file.timeouts },
    log: { level: flags.logLevel ?? file.log.level },
    sourcePath,
  };
  return { ok: true, config };
}
