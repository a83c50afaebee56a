// Region scoping (`regions:`): names that carry an Azure region are allowed only for the listed regions, as
// `workspaces:` does for names that carry a workspace ID. Which names carry a region, per Microsoft's pages:
//   <region>.handler.control.monitor.azure.com            AMA data collection rules ("global" is not a region)
//   <dce>.<region>-<n>.handler.control.monitor.azure.com   configuration access endpoint of a DCE
//   <dce>.<region>-<n>.ingest.monitor.azure.com            logs ingestion endpoint of a DCE
//   <dce>.<region>-<n>.metrics.ingest.monitor.azure.com    metrics ingestion endpoint (managed Prometheus)
//   <code>-jobruntimedata-prod-su1.azure-automation.net    Hybrid Runbook Worker, by Automation location code
//   <code>-agentservice-prod-1.azure-automation.net
//   <account>.{webhook,agentsvc,jrds}.<code>.azure-automation.net
// Under the monitor suffixes every other shape is refused while regions are set (it would carry no region we
// could check), and so is any other Automation name with a regional or account-service label in it (a name
// below a regional host, `x.eus-jobruntimedata-prod-su1.azure-automation.net`, must not pass as regionless);
// other Automation names (`<workspace>.agentsvc.azure-automation.net`) carry none.

import type { Cloud } from './config-types.js';

type SuffixKind = 'handler' | 'ingest' | 'automation';

export interface RegionScope {
  /** Allowed region names; empty means no scoping. */
  readonly regions: ReadonlySet<string>;
  /** Automation location codes of the allowed regions. */
  readonly automationCodes: ReadonlySet<string>;
  /** Region-carrying suffixes of the selected clouds. */
  readonly suffixes: ReadonlyMap<string, SuffixKind>;
}

/** What a host says about regions: none, or the region (or Automation code) it names, or a shape we cannot read. */
export type RegionOf =
  | { readonly kind: 'none' }
  | { readonly kind: 'region'; readonly region: string; readonly suffix: string }
  | { readonly kind: 'automation-code'; readonly code: string; readonly suffix: string }
  | { readonly kind: 'unreadable'; readonly suffix: string };

const SUFFIXES: Readonly<Record<Cloud, Readonly<Record<string, SuffixKind>>>> = {
  public: {
    'handler.control.monitor.azure.com': 'handler',
    'ingest.monitor.azure.com': 'ingest',
    'metrics.ingest.monitor.azure.com': 'ingest',
    'azure-automation.net': 'automation',
    'azure-automation.de': 'automation',
  },
  usgov: {
    'handler.control.monitor.azure.us': 'handler', 'ingest.monitor.azure.us': 'ingest', 'metrics.ingest.monitor.azure.us': 'ingest',
    'azure-automation.us': 'automation',
  },
  china: {
    'handler.control.monitor.azure.cn': 'handler', 'ingest.monitor.azure.cn': 'ingest', 'metrics.ingest.monitor.azure.cn': 'ingest',
    'azure-automation.cn': 'automation',
  },
};

/**
 * Azure Automation location codes by region name, from "DNS records for Azure regions used by Azure
 * Automation" (2024-07-29). A region missing here has no documented code: its regional Automation names are
 * refused while `regions:` is set (config/presets.md says so).
 */
export const AUTOMATION_CODES: Readonly<Record<string, string>> = Object.freeze({
  australiacentral: 'ac', australiacentral2: 'cbr2', australiaeast: 'ae', australiasoutheast: 'ase',
  brazilsouth: 'brs', brazilsoutheast: 'brse', canadacentral: 'cc', centralindia: 'cid', centralus: 'cus',
  chinaeast2: 'sha2', chinanorth: 'bjb', chinanorth2: 'bjs2', chinanorth3: 'cnn3', eastasia: 'ea', eastus: 'eus',
  eastus2: 'eus2', francecentral: 'fc', francesouth: 'mrs', germanywestcentral: 'dewc', japaneast: 'jpe',
  japanwest: 'jpw', koreacentral: 'kc', koreasouth: 'ps', northcentralus: 'ncus', northeurope: 'ne',
  norwayeast: 'noe', norwaywest: 'now', southafricanorth: 'san', southcentralus: 'scus', southeastasia: 'sea',
  southindia: 'ma', switzerlandnorth: 'stzn', switzerlandwest: 'stzw', uaecentral: 'auh', uaenorth: 'uaen',
  uksouth: 'uks', ukwest: 'cw', usgovarizona: 'phx', usgovtexas: 'ussc', usgovvirginia: 'usge',
  westcentralus: 'wcus', westeurope: 'we', westus: 'wus', westus2: 'wus2', westus3: 'usw3',
});

const REGION_NAME = /^[a-z][a-z0-9]{1,49}$/;
const REGION_WITH_INDEX = /^([a-z][a-z0-9]{1,49})-[0-9]{1,3}$/;
const AUTOMATION_REGIONAL_LABEL = /^([a-z0-9]{1,10})-(?:jobruntimedata|agentservice)-prod-[a-z0-9]{1,10}$/;
const AUTOMATION_ACCOUNT_SERVICES: ReadonlySet<string> = new Set(['webhook', 'agentsvc', 'jrds']);

export type RegionNameResult = { readonly ok: true; readonly region: string } | { readonly ok: false; readonly message: string };

/** An Azure region's programmatic name (`westeurope`, `usgovvirginia`), compared in lower case. */
export function parseRegionName(text: string): RegionNameResult {
  const region = text.toLowerCase();
  if (!REGION_NAME.test(region) || region === 'global') {
    return { ok: false, message: 'expected an Azure region name in lower case without spaces, e.g. westeurope or usgovvirginia' };
  }
  return { ok: true, region };
}

export function compileRegionScope(regions: readonly string[], clouds: readonly Cloud[]): RegionScope {
  const codes = regions.map((region) => AUTOMATION_CODES[region]).filter((code): code is string => code !== undefined);
  const suffixes = new Map<string, SuffixKind>();
  for (const cloud of clouds) for (const [suffix, kind] of Object.entries(SUFFIXES[cloud])) suffixes.set(suffix, kind);
  return { regions: new Set(regions), automationCodes: new Set(codes), suffixes };
}

/**
 * A regional Automation label, or an account service label with a label after it, anywhere in the name makes
 * it region-carrying; only the two documented shapes say which region. Any other shape that carries one
 * (`x.eus-jobruntimedata-prod-su1.…`, `x.<account>.jrds.eus.…`) is unreadable, so refused while regions are set.
 */
function readAutomationLabels(labels: readonly string[], suffix: string): RegionOf {
  const regional = labels.map((label) => AUTOMATION_REGIONAL_LABEL.exec(label));
  const service = labels.findIndex((label, i) => i < labels.length - 1 && AUTOMATION_ACCOUNT_SERVICES.has(label));
  if (regional.every((match) => match === null) && service === -1) return { kind: 'none' };
  const code = labels.length === 1 ? regional[0]?.[1] : labels.length === 3 && service === 1 ? labels[2] : undefined;
  return code === undefined ? { kind: 'unreadable', suffix } : { kind: 'automation-code', code, suffix };
}

function readLabels(kind: SuffixKind, labels: readonly string[], suffix: string): RegionOf {
  const [first, second] = labels;
  if (kind === 'automation') return readAutomationLabels(labels, suffix);
  if (kind === 'handler' && labels.length === 1 && first !== undefined && REGION_NAME.test(first)) {
    return first === 'global' ? { kind: 'none' } : { kind: 'region', region: first, suffix };
  }
  const indexed = labels.length === 2 ? REGION_WITH_INDEX.exec(second ?? '') : null;
  if (indexed?.[1] !== undefined) return { kind: 'region', region: indexed[1], suffix };
  return { kind: 'unreadable', suffix };
}

/** The region a host names, by the longest region-carrying suffix it ends in. Cost grows with its labels only. */
export function regionOf(scope: RegionScope, host: string): RegionOf {
  for (let at = host.indexOf('.'); at !== -1; at = host.indexOf('.', at + 1)) {
    const suffix = host.slice(at + 1);
    const kind = scope.suffixes.get(suffix);
    if (kind !== undefined) return readLabels(kind, host.slice(0, at).split('.'), suffix);
  }
  return { kind: 'none' };
}

/** True when regions are not scoped, or the host names no region, or names an allowed one. */
export function regionAllowed(scope: RegionScope, host: string): boolean {
  if (scope.regions.size === 0) return true;
  const found = regionOf(scope, host);
  switch (found.kind) {
    case 'none':
      return true;
    case 'region':
      return scope.regions.has(found.region);
    case 'automation-code':
      return scope.automationCodes.has(found.code);
    case 'unreadable':
      return false;
  }
}
