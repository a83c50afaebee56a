// Agent presets: the endpoints each agent family needs, per cloud. The names are code (AGENTS in
// config-types.ts, a closed set the configuration is checked against); the entries are data,
// `config/presets/<preset>.<cloud>.json`, read and validated by config/preset-data.ts and handed in here.
// Each entry names the Microsoft page it follows and the date it was compared with it (config/presets.md).
// The allowlist an operator gets is the union of the enabled presets for the selected clouds (config/build.ts).

import type { Agent, AllowEntryConfig, Cloud, PresetData, PresetDataFile } from './config-types.js';
import { PatternMap } from './patterns.js';

/** Most machines behind a gateway run the Azure Monitor Agent today; legacy keeps older agents working. */
export const DEFAULT_AGENTS: readonly Agent[] = Object.freeze(['legacy', 'ama']);

/**
 * Every tenant's Arc gateway lives below this suffix and fronts 200+ endpoints, blob storage among them
 * (Microsoft's "Arc gateway endpoints" page): only the tenant's own address (`arcGateways:`) is safe to allow.
 */
export const ARC_GATEWAY_SUFFIX = 'gw.arc.azure.com';
const ARC_GATEWAY = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.gw\.arc\.azure\.com$/;
export const ARC_GATEWAYS_SOURCE = 'arcGateways';

/** `preset:<agent>:<cloud>`: the source of a preset's entries in `config check` and audit hints. */
export function presetSource(agent: Agent, cloud: Cloud): string {
  return `preset:${agent}:${cloud}`;
}

export function presetFile(data: PresetData, agent: Agent, cloud: Cloud): PresetDataFile | undefined {
  return data.files.find((file) => file.preset === agent && file.cloud === cloud);
}

/** The clouds Microsoft documents a preset for (those with a data file), in file order. */
export function documentedClouds(data: PresetData, agent: Agent): Cloud[] {
  return data.files.filter((file) => file.preset === agent).map((file) => file.cloud);
}

/** The patterns of one preset in one cloud, in their documented order; none where it is not documented. */
export function presetPatterns(data: PresetData, agent: Agent, cloud: Cloud): string[] {
  return (presetFile(data, agent, cloud)?.entries ?? []).map((entry) => entry.pattern);
}

/** The entries of one preset in one cloud, with their documented ports. */
export function presetEntries(data: PresetData, agent: Agent, cloud: Cloud): AllowEntryConfig[] {
  const source = presetSource(agent, cloud);
  return (presetFile(data, agent, cloud)?.entries ?? []).map(({ pattern, ports }) => ({ pattern, ports: [...ports], source }));
}

/** Every entry of every preset the configuration enables, cloud by cloud, agent by agent. */
export function enabledPresetEntries(data: PresetData, agents: readonly Agent[], clouds: readonly Cloud[]): AllowEntryConfig[] {
  return clouds.flatMap((cloud) => agents.flatMap((agent) => presetEntries(data, agent, cloud)));
}

/** One preset entry in the catalog of every preset and cloud (enabled or not), for deny hints. */
export interface CatalogEntry {
  readonly agent: Agent;
  readonly cloud: Cloud;
  readonly pattern: string;
  readonly ports: readonly number[];
}

/** Every preset of every cloud in one lookup, built once per policy: hints find disabled presets as fast as enabled ones. */
export function presetCatalog(data: PresetData): PatternMap<CatalogEntry> {
  const catalog = new PatternMap<CatalogEntry>();
  for (const { preset, cloud, entries } of data.files) {
    for (const { pattern, ports } of entries) catalog.add(pattern, { agent: preset, cloud, pattern, ports });
  }
  return catalog;
}

export type ArcGatewayResult = { readonly ok: true; readonly host: string } | { readonly ok: false; readonly message: string };

/** One tenant's Arc gateway address, `<prefix>.gw.arc.azure.com` (lower-cased, one trailing dot removed). */
export function parseArcGateway(text: string): ArcGatewayResult {
  const host = text.toLowerCase().replace(/\.$/, '');
  if (ARC_GATEWAY.test(host)) return { ok: true, host };
  return { ok: false, message: `expected your Arc gateway's address, <prefix>.${ARC_GATEWAY_SUFFIX}, as Azure shows it for the gateway resource (no wildcard, no scheme, no port)` };
}

/** The entries of the configured gateway addresses, on 443. */
export function arcGatewayEntries(gateways: readonly string[]): AllowEntryConfig[] {
  return gateways.map((pattern) => ({ pattern, ports: [443], source: ARC_GATEWAYS_SOURCE }));
}

/** Whether `host` is some tenant's Arc gateway address (a name exactly one label below the suffix). */
export function isArcGatewayName(host: string): boolean {
  return ARC_GATEWAY.test(host);
}

/**
 * Whether a normalised pattern would match every tenant's gateway: `*.gw.arc.azure.com`, `pre*.gw.arc.azure.com`
 * or a `*.` wildcard over a parent domain (`*.arc.azure.com`, `*.azure.com`).
 */
export function coversArcGateways(pattern: string): boolean {
  const dot = pattern.indexOf('.');
  if (dot === -1 || !pattern.slice(0, dot).includes('*')) return false;
  const suffix = pattern.slice(dot + 1);
  if (suffix === ARC_GATEWAY_SUFFIX) return true;
  return pattern.startsWith('*.') && ARC_GATEWAY_SUFFIX.endsWith(`.${suffix}`);
}
