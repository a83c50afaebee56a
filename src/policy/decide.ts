// The allowlist decision: one pure function over a parsed Target and a policy compiled once at start-up
// (and on reload). The hot path only looks things up.

import type { AllowEntryConfig, PolicyConfig } from '../config/types.js';
import { type AddressRules, compileAddressRules, isAddressDenied } from './addresses.js';
import { workspaceSuffixes } from './defaults.js';
import { PatternMap } from './patterns.js';
import type { AllowDecision, Decision, PolicyRequest } from './types.js';

export interface CompiledPolicy {
  readonly allowlist: Pick<PatternMap<AllowEntryConfig>, 'match'>;
  /** Allowed workspace IDs; empty means any. */
  readonly workspaces: ReadonlySet<string>;
  /** Names whose first label is a workspace ID, for every selected cloud. */
  readonly workspaceSuffixes: ReadonlySet<string>;
  readonly deniedAddresses: AddressRules;
}

export function compilePolicy(config: PolicyConfig): CompiledPolicy {
  const allowlist = new PatternMap<AllowEntryConfig>();
  for (const entry of config.allowlist) allowlist.add(entry.pattern, entry);
  return Object.freeze({
    allowlist,
    workspaces: new Set(config.workspaces.map((id) => id.toLowerCase())),
    workspaceSuffixes: new Set(config.clouds.flatMap(workspaceSuffixes)),
    deniedAddresses: compileAddressRules(config.deniedAddresses),
  });
}

/**
 * True when `host` is a workspace-carrying name of an allowed workspace, or not a workspace-carrying name at
 * all. A name at or below a workspace suffix must be exactly `<id>.<suffix>`: `x.<id>.<suffix>` and the bare
 * suffix would carry no ID we could check.
 */
function workspaceAllowed(policy: CompiledPolicy, host: string): boolean {
  let at = -1;
  do {
    if (policy.workspaceSuffixes.has(host.slice(at + 1))) {
      return at > 0 && policy.workspaces.has(host.slice(0, at));
    }
    at = host.indexOf('.', at + 1);
  } while (at !== -1);
  return true;
}

/**
 * Decides whether a client may reach `request.target`. Checks, in order:
 * 1. An IP-literal target is allowed only by an entry naming exactly that address, else 'ip-literal'.
 * 2. At least one allowlist pattern must match the host, else 'not-in-allowlist'.
 * 3. Workspace scoping: when workspaces are configured and the host is at or below a workspace suffix, it
 *    must be exactly `<id>.<suffix>` with an allowed id, else 'workspace-not-allowed'.
 * 4. The port must be among the ports of a matching entry, else 'port-not-allowed'.
 * `entry` is the most specific matching pattern that allows the port (on deny: the most specific match).
 * The client and user are part of the request so that per-client rules need no new signature; no rule
 * reads them yet.
 */
export function decide(policy: CompiledPolicy, request: PolicyRequest): Decision {
  const { host, port, kind } = request.target;
  // For an IP literal only an entry spelling that address can match: parsePattern puts no wildcard over numbers.
  const matches = policy.allowlist.match(host);
  const first = matches[0];
  if (first === undefined) {
    return { allow: false, reason: kind === 'name' ? 'not-in-allowlist' : 'ip-literal', entry: undefined };
  }
  if (policy.workspaces.size > 0 && !workspaceAllowed(policy, host)) {
    return { allow: false, reason: 'workspace-not-allowed', entry: first.pattern };
  }
  const allowing = matches.find((entry) => entry.ports.includes(port));
  if (allowing === undefined) return { allow: false, reason: 'port-not-allowed', entry: first.pattern };
  return { allow: true, entry: allowing.pattern };
}

/**
 * Re-checks an allowed request against one address its host resolved to (or the IP literal itself), so the
 * address that is dialled is the address that was checked. Keeps the entry of the earlier decision.
 */
export function checkResolvedAddress(policy: CompiledPolicy, ip: string, allowed: AllowDecision): Decision {
  if (!isAddressDenied(policy.deniedAddresses, ip)) return allowed;
  return { allow: false, reason: 'address-not-allowed', entry: allowed.entry };
}
