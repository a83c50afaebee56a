// Agent presets: the endpoints each agent family needs, per cloud, all on port 443. Each list follows
// Microsoft's own network-requirements page for that agent (dated in config/presets.md, which also records
// where those pages differ from a plain ".com → .us / .cn" reading). The allowlist an operator gets is the
// union of the enabled presets for the selected clouds (config/build.ts).

import type { Agent, AllowEntryConfig, Cloud } from '../config/types.js';

export const AGENTS = ['legacy', 'ama', 'arc', 'hybrid-worker'] as const satisfies readonly Agent[];
/** Most machines behind a gateway run the Azure Monitor Agent today; legacy keeps older agents working. */
export const DEFAULT_AGENTS: readonly Agent[] = Object.freeze(['legacy', 'ama']);

type PresetTable = Readonly<Record<Agent, Readonly<Record<Cloud, readonly string[]>>>>;

const PRESETS: PresetTable = {
  // "Connect computers without internet access by using the Log Analytics gateway": the Log Analytics agent
  // (retired 2024-08-31) and the agent-based Hybrid Runbook Worker.
  legacy: {
    public: [
      '*.ods.opinsights.azure.com',
      '*.oms.opinsights.azure.com',
      '*.blob.core.windows.net',
      '*.azure-automation.net',
      'ods.systemcenteradvisor.com',
    ],
    usgov: ['*.ods.opinsights.azure.us', '*.oms.opinsights.azure.us', '*.blob.core.usgovcloudapi.net', '*.azure-automation.us'],
    china: ['*.ods.opinsights.azure.cn', '*.oms.opinsights.azure.cn', '*.blob.core.chinacloudapi.cn', '*.azure-automation.cn'],
  },
  // "Azure Monitor Agent network configuration": control service, per-region DCR handler (and the
  // configuration access endpoints of data collection endpoints below it), workspace ingestion, DCE ingestion.
  // Custom metrics (management.azure.com, <region>.monitoring.azure.com) never go through a proxy.
  ama: {
    public: [
      'global.handler.control.monitor.azure.com',
      '*.handler.control.monitor.azure.com',
      '*.ods.opinsights.azure.com',
      '*.ingest.monitor.azure.com',
    ],
    usgov: [
      'global.handler.control.monitor.azure.us',
      '*.handler.control.monitor.azure.us',
      '*.ods.opinsights.azure.us',
      '*.ingest.monitor.azure.us',
    ],
    china: [
      'global.handler.control.monitor.azure.cn',
      '*.handler.control.monitor.azure.cn',
      '*.ods.opinsights.azure.cn',
      '*.ingest.monitor.azure.cn',
    ],
  },
  // "Connected Machine agent network requirements", the endpoints needed always or when connecting; the
  // installation-time download hosts are left to the operator. US Government has no notification service
  // and its identity and Resource Manager hosts are not the ".us" spelling of the public ones.
  arc: {
    public: [
      'login.microsoftonline.com',
      'login.windows.net',
      'pas.windows.net',
      'management.azure.com',
      '*.his.arc.azure.com',
      '*.guestconfiguration.azure.com',
      'guestnotificationservice.azure.com',
      '*.guestnotificationservice.azure.com',
      'azgn*.servicebus.windows.net',
      '*.blob.core.windows.net',
    ],
    usgov: [
      'login.microsoftonline.us',
      'pasff.usgovcloudapi.net',
      'management.usgovcloudapi.net',
      '*.his.arc.azure.us',
      '*.guestconfiguration.azure.us',
      '*.blob.core.usgovcloudapi.net',
    ],
    china: [
      'login.chinacloudapi.cn',
      'login.partner.chinacloudapi.cn',
      'pas.chinacloudapi.cn',
      'management.chinacloudapi.cn',
      '*.his.arc.azure.cn',
      '*.guestconfiguration.azure.cn',
      'guestnotificationservice.azure.cn',
      '*.guestnotificationservice.azure.cn',
      'azgn*.servicebus.chinacloudapi.cn',
      '*.blob.core.chinacloudapi.cn',
    ],
  },
  // "Azure Automation network configuration details" and "DNS records for Azure regions used by Azure
  // Automation": one global wildcard covers the regional job-runtime, agent-service, webhook and JRDS hosts.
  // Germany West Central's account-specific records live under azure-automation.de.
  'hybrid-worker': {
    public: ['*.azure-automation.net', '*.azure-automation.de'],
    usgov: ['*.azure-automation.us'],
    china: ['*.azure-automation.cn'],
  },
};

/** `preset:<agent>:<cloud>`: the source of a preset's entries in `config check` and audit hints. */
function presetSource(agent: Agent, cloud: Cloud): string {
  return `preset:${agent}:${cloud}`;
}

/** The patterns of one preset in one cloud, in their documented order. */
export function presetPatterns(agent: Agent, cloud: Cloud): string[] {
  return [...PRESETS[agent][cloud]];
}

/** The entries of one preset in one cloud, each on port 443. */
export function presetEntries(agent: Agent, cloud: Cloud): AllowEntryConfig[] {
  return PRESETS[agent][cloud].map((pattern) => ({ pattern, ports: [443], source: presetSource(agent, cloud) }));
}

/** Every entry of every preset the configuration enables, cloud by cloud, agent by agent. */
export function enabledPresetEntries(agents: readonly Agent[], clouds: readonly Cloud[]): AllowEntryConfig[] {
  return clouds.flatMap((cloud) => agents.flatMap((agent) => presetEntries(agent, cloud)));
}
