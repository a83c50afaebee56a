// What an operator can do about a policy refusal, computed from the compiled policy and the normalised target
// only: a hint never sees request headers or credentials, so it cannot echo them. The target host may appear
// in a hint; it passed target.ts, so it is plain lower-case DNS syntax or an IP literal.

import { isAddressDenied } from './addresses.js';
import { workspaceOf, type CompiledPolicy } from './decide.js';
import { isArcGatewayName, type CatalogEntry } from './presets.js';
import { AUTOMATION_CODES, regionOf } from './regions.js';
import { formatAuthority } from './target.js';
import type { DenyDecision, Target } from './types.js';

/** Closed set, so dashboards and scripts can branch on it. */
export type HintKind = 'enable-preset' | 'add-host' | 'add-port' | 'ip-literal' | 'workspace' | 'region' | 'address' | 'arc-gateway';

export interface DenyHint {
  readonly kind: HintKind;
  /** One line for a person. */
  readonly text: string;
  /** The exact command that would allow the request, where one exists. */
  readonly command?: string;
}

/** Lists in hints stay one line however long the configuration is. */
const MAX_LISTED = 8;
const SHELL_SAFE = /^[a-z0-9.:_-]+$/;

function listOf(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join(', ');
  return items.length > MAX_LISTED ? `[${shown}, … ${items.length - MAX_LISTED} more]` : `[${shown}]`;
}


function addCommand(target: Target): string {
  const entry = formatAuthority(target);
  return `oms-gateway allowed-host add ${SHELL_SAFE.test(entry) ? entry : `'${entry}'`}`;
}

/** The configuration changes that would bring a preset entry into the allowlist; empty when it already is. */
function changesFor(policy: CompiledPolicy, found: CatalogEntry): string[] {
  const { includeDefaults, clouds, agents, disabledDefaults } = policy.source;
  const changes: string[] = [];
  if (!includeDefaults) changes.push('set defaultHosts: true');
  if (!clouds.includes(found.cloud)) changes.push(`set cloud: ${listOf([...clouds, found.cloud])}`);
  if (!agents.includes(found.agent)) changes.push(`set agents: ${listOf([...agents, found.agent])}`);
  if (disabledDefaults.includes(found.pattern)) changes.push(`remove "${found.pattern}" from disabledDefaultHosts`);
  return changes;
}

/**
 * Another tenant's Arc gateway (or ours while the preset is off): never a preset entry, and never to be
 * allowed by a wildcard, so the hint names the setting instead of a command.
 */
function arcGateway(policy: CompiledPolicy, target: Target): DenyHint {
  const { arcGateways, agents } = policy.source;
  if (arcGateways.includes(target.host) && !agents.includes('arc-gateway')) {
    return { kind: 'arc-gateway', text: `${target.host} is in arcGateways, but the arc-gateway preset is off: set agents: ${listOf([...agents, 'arc-gateway'])}` };
  }
  const configured = arcGateways.length === 0 ? 'arcGateways is empty' : `it is not in arcGateways: ${listOf(arcGateways)}`;
  return {
    kind: 'arc-gateway',
    text: `${target.host} is an Arc gateway and ${configured}; only your own gateway may be allowed (any other tenant's would carry data out): if it is yours, add it to arcGateways`,
  };
}

function notInAllowlist(policy: CompiledPolicy, target: Target): DenyHint {
  if (isArcGatewayName(target.host)) return arcGateway(policy, target);
  const candidates = policy.presetCatalog.match(target.host).filter((entry) => entry.ports.includes(target.port));
  const options = candidates
    .map((found) => ({ found, changes: changesFor(policy, found) }))
    .filter((option) => option.changes.length > 0)
    .sort((a, b) => a.changes.length - b.changes.length);
  const best = options[0];
  if (best !== undefined) {
    const { agent, cloud, pattern } = best.found;
    return {
      kind: 'enable-preset',
      text: `${target.host}: enable agents: [${agent}] (preset ${agent}, cloud ${cloud}, entry ${pattern}): ${best.changes.join('; ')}`,
    };
  }
  return { kind: 'add-host', text: `${formatAuthority(target)} is in no allowlist entry or preset`, command: addCommand(target) };
}

function ipLiteral(policy: CompiledPolicy, target: Target): DenyHint {
  if (isAddressDenied(policy.deniedAddresses, target.host)) {
    return { kind: 'ip-literal', text: `${target.host} is an IP literal in deniedAddresses; no allowlist entry can make it reachable` };
  }
  return {
    kind: 'ip-literal',
    text: 'IP-literal targets are refused unless an entry names that exact address (agents use names)',
    command: addCommand(target),
  };
}

function portNotAllowed(policy: CompiledPolicy, target: Target): DenyHint {
  const matching = policy.allowlist.match(target.host);
  const ports = [...new Set(matching.flatMap((entry) => entry.ports))].sort((a, b) => a - b);
  const entries = [...new Set(matching.map((entry) => entry.pattern))];
  return {
    kind: 'add-port',
    text: `${listOf(entries)} allow${entries.length === 1 ? 's' : ''} port${ports.length === 1 ? '' : 's'} ${ports.join(', ')}, not ${target.port}`,
    command: addCommand(target),
  };
}

function workspaceNotAllowed(policy: CompiledPolicy, target: Target): DenyHint {
  const named = workspaceOf(policy, target.host);
  if (named?.id === undefined) {
    const suffix = named?.suffix ?? target.host;
    return { kind: 'workspace', text: `with workspaces: set, names below ${suffix} must be <workspace-id>.${suffix}` };
  }
  return { kind: 'workspace', text: `workspace ${named.id} is not in workspaces: ${listOf(policy.source.workspaces)}; add it there to allow it` };
}

function regionNotAllowed(policy: CompiledPolicy, target: Target): DenyHint {
  const found = regionOf(policy.regions, target.host);
  const configured = `regions: ${listOf(policy.source.regions)}`;
  switch (found.kind) {
    case 'region':
      return { kind: 'region', text: `region ${found.region} is not in ${configured}; add it there to allow it` };
    case 'automation-code': {
      const region = Object.keys(AUTOMATION_CODES).find((name) => AUTOMATION_CODES[name] === found.code);
      const which = region === undefined ? `Automation location code ${found.code} is not documented for any region` : `Automation location code ${found.code} is region ${region}`;
      return { kind: 'region', text: `${which}, not one of ${configured}` };
    }
    case 'unreadable':
    case 'none': {
      const suffix = 'suffix' in found ? found.suffix : target.host;
      const shapes = policy.regions.suffixes.get(suffix) === 'automation'
        ? '<code>-jobruntimedata-prod-<n>.…, <code>-agentservice-prod-<n>.… or <account>.{webhook,agentsvc,jrds}.<code>.…'
        : '<region>.… or <dce>.<region>-<n>.…';
      return { kind: 'region', text: `with regions: set, names below ${suffix} must name a region (${shapes})` };
    }
  }
}

/** The hint for a policy refusal of `target`, or undefined when there is nothing an operator should change. */
export function hintFor(policy: CompiledPolicy, target: Target, decision: DenyDecision): DenyHint | undefined {
  switch (decision.reason) {
    case 'not-in-allowlist':
      return notInAllowlist(policy, target);
    case 'ip-literal':
      return ipLiteral(policy, target);
    case 'port-not-allowed':
      return portNotAllowed(policy, target);
    case 'workspace-not-allowed':
      return workspaceNotAllowed(policy, target);
    case 'region-not-allowed':
      return regionNotAllowed(policy, target);
    case 'address-not-allowed':
      return addressHint();
  }
}

/** Needs no policy: every address the name resolved to is in deniedAddresses. */
export function addressHint(): DenyHint {
  return {
    kind: 'address',
    text: 'every address the name resolved to is in deniedAddresses (loopback, link-local, metadata …); check DNS, or map the name with resolve: if it must reach a private address',
  };
}
