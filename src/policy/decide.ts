// The allowlist decision: one pure function over a parsed Target and a policy compiled once at start-up
// (and on reload). The hot path only looks things up.

import type { AllowEntryConfig, PolicyConfig, PolicyMode } from './config-types.js';
import { type AddressRules, compileAddressRules, isAddressDenied } from './addresses.js';
import { workspaceSuffixes } from './defaults.js';
import { PatternMap } from './patterns.js';
import { presetCatalog, type CatalogEntry } from './presets.js';
import { compileRegionScope, regionAllowed, type RegionScope } from './regions.js';
import type { Decision, DenyDecision, DenyReason, PolicyRequest } from './types.js';

export interface CompiledPolicy {
  /** The configuration this was compiled from, for deny hints. */
  readonly source: PolicyConfig;
  readonly mode: PolicyMode;
  readonly allowlist: Pick<PatternMap<AllowEntryConfig>, 'match'>;
  /** Allowed workspace IDs; empty means any. */
  readonly workspaces: ReadonlySet<string>;
  /** Names whose first label is a workspace ID, for every selected cloud. */
  readonly workspaceSuffixes: ReadonlySet<string>;
  readonly regions: RegionScope;
  readonly deniedAddresses: AddressRules;
  /** Every preset entry of the data in effect, enabled or not (hints.ts). */
  readonly presetCatalog: Pick<PatternMap<CatalogEntry>, 'match'>;
}

/** What report mode relaxes: the allowlist and its scoping. IP literals and address rules stay enforced. */
const REPORTABLE: ReadonlySet<DenyReason> = new Set(['not-in-allowlist', 'port-not-allowed', 'workspace-not-allowed', 'region-not-allowed']);

export function compilePolicy(config: PolicyConfig): CompiledPolicy {
  const allowlist = new PatternMap<AllowEntryConfig>();
  for (const entry of config.allowlist) allowlist.add(entry.pattern, entry);
  return Object.freeze({
    source: config,
    mode: config.mode,
    allowlist,
    workspaces: new Set(config.workspaces.map((id) => id.toLowerCase())),
    workspaceSuffixes: new Set(config.clouds.flatMap(workspaceSuffixes)),
    regions: compileRegionScope(config.regions, config.clouds),
    deniedAddresses: compileAddressRules(config.deniedAddresses),
    presetCatalog: presetCatalog(config.presets),
  });
}

/** A workspace-carrying name: the suffix it ends in and the ID before it (undefined when the shape is wrong). */
export interface WorkspaceName {
  readonly suffix: string;
  readonly id: string | undefined;
}

/**
 * The workspace a host names, if it is at or below a workspace suffix. Such a name must be exactly
 * `<id>.<suffix>`: `x.<id>.<suffix>` and the bare suffix carry no ID we could check.
 */
export function workspaceOf(policy: CompiledPolicy, host: string): WorkspaceName | undefined {
  let at = -1;
  do {
    const suffix = host.slice(at + 1);
    if (policy.workspaceSuffixes.has(suffix)) {
      const id = host.slice(0, Math.max(at, 0));
      return { suffix, id: at > 0 && !id.includes('.') ? id : undefined };
    }
    at = host.indexOf('.', at + 1);
  } while (at !== -1);
  return undefined;
}

function workspaceAllowed(policy: CompiledPolicy, host: string): boolean {
  const named = workspaceOf(policy, host);
  return named === undefined || (named.id !== undefined && policy.workspaces.has(named.id));
}

function deny(policy: CompiledPolicy, reason: DenyReason, entry: string | undefined): DenyDecision {
  return { allow: false, reason, entry, reportOnly: policy.mode === 'report' && REPORTABLE.has(reason) };
}

/**
 * Decides whether a client may reach `request.target`. Checks, in order:
 * 1. An IP-literal target is allowed only by an entry naming exactly that address, else 'ip-literal'.
 * 2. At least one allowlist pattern must match the host, else 'not-in-allowlist'.
 * 3. Workspace scoping: when workspaces are configured and the host is at or below a workspace suffix, it
 *    must be exactly `<id>.<suffix>` with an allowed id, else 'workspace-not-allowed'.
 * 4. Region scoping: when regions are configured, a region-carrying name (regions.ts) must name one of them,
 *    else 'region-not-allowed'.
 * 5. The port must be among the ports of a matching entry, else 'port-not-allowed'.
 * In report mode the denials of 2-5 come back with `reportOnly` set; 1 and the address rules never do.
 * `entry` is the most specific matching pattern that allows the port (on deny: the most specific match).
 * The client and user are part of the request so that per-client rules need no new signature; no rule
 * reads them yet.
 */
export function decide(policy: CompiledPolicy, request: PolicyRequest): Decision {
  const { host, port, kind } = request.target;
  // For an IP literal only an entry spelling that address can match: parsePattern puts no wildcard over numbers.
  const matches = policy.allowlist.match(host);
  const first = matches[0];
  if (first === undefined) return deny(policy, kind === 'name' ? 'not-in-allowlist' : 'ip-literal', undefined);
  if (policy.workspaces.size > 0 && !workspaceAllowed(policy, host)) return deny(policy, 'workspace-not-allowed', first.pattern);
  if (!regionAllowed(policy.regions, host)) return deny(policy, 'region-not-allowed', first.pattern);
  const allowing = matches.find((entry) => entry.ports.includes(port));
  if (allowing === undefined) return deny(policy, 'port-not-allowed', first.pattern);
  return { allow: true, entry: allowing.pattern };
}

/**
 * Re-checks an admitted request against one address its host resolved to (or the IP literal itself), so the
 * address that is dialled is the address that was checked. `entry` is the entry that admitted it (none for a
 * request relayed in report mode). A safety check: report mode never relaxes it.
 */
export function checkResolvedAddress(policy: CompiledPolicy, ip: string, entry: string | undefined): DenyDecision | undefined {
  if (!isAddressDenied(policy.deniedAddresses, ip)) return undefined;
  return { allow: false, reason: 'address-not-allowed', entry, reportOnly: false };
}
