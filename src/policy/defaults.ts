// Built-in policy data. Endpoints: Microsoft's "Connect computers without internet access by using the Log
// Analytics gateway" (public, US Government and China lists; all on 443).

import type { AllowEntryConfig, Cloud } from '../config/types.js';

interface CloudEndpoints {
  readonly patterns: readonly string[];
  readonly workspaceSuffixes: readonly string[];
}

const ENDPOINTS: Readonly<Record<Cloud, CloudEndpoints>> = {
  public: {
    patterns: [
      '*.ods.opinsights.azure.com',
      '*.oms.opinsights.azure.com',
      '*.blob.core.windows.net',
      '*.azure-automation.net',
      'ods.systemcenteradvisor.com',
    ],
    workspaceSuffixes: ['ods.opinsights.azure.com', 'oms.opinsights.azure.com', 'agentsvc.azure-automation.net'],
  },
  usgov: {
    patterns: [
      '*.ods.opinsights.azure.us',
      '*.oms.opinsights.azure.us',
      '*.blob.core.usgovcloudapi.net',
      '*.azure-automation.us',
    ],
    workspaceSuffixes: ['ods.opinsights.azure.us', 'oms.opinsights.azure.us', 'agentsvc.azure-automation.us'],
  },
  china: {
    patterns: [
      '*.ods.opinsights.azure.cn',
      '*.oms.opinsights.azure.cn',
      '*.blob.core.chinacloudapi.cn',
      '*.azure-automation.cn',
    ],
    workspaceSuffixes: ['ods.opinsights.azure.cn', 'oms.opinsights.azure.cn', 'agentsvc.azure-automation.cn'],
  },
};

/** The endpoints the agents of `cloud` need, on port 443, with source `default:<cloud>`. */
export function defaultAllowEntries(cloud: Cloud): AllowEntryConfig[] {
  return ENDPOINTS[cloud].patterns.map((pattern) => ({ pattern, ports: [443], source: `default:${cloud}` }));
}

/** Names whose first label is a workspace ID (`<id>.ods.opinsights.azure.com`), scoped by `workspaces:`. */
export function workspaceSuffixes(cloud: Cloud): string[] {
  return [...ENDPOINTS[cloud].workspaceSuffixes];
}

/**
 * Addresses no Azure endpoint resolves to; refused after DNS unless an operator mapping points there.
 * Private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) are deliberately absent: Azure Private Link resolves
 * the same names to private addresses. IPv6 forms that embed an IPv4 address are checked as that address
 * (addresses.ts), so the IPv4 ranges here cover `::ffff:169.254.169.254` and friends.
 */
export const DEFAULT_DENIED_ADDRESSES: readonly string[] = Object.freeze([
  '0.0.0.0/8', // "this network", 0.0.0.0 reaches the local host on Linux
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, including the instance metadata service 169.254.169.254
  '100.64.0.0/10', // CGNAT shared space (RFC 6598)
  '168.63.129.16/32', // Azure platform address (WireServer, DNS, health probes)
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, including broadcast 255.255.255.255
  '::/128', // unspecified
  '::1/128', // loopback
  'fe80::/10', // link-local
  'ff00::/8', // multicast
]);
