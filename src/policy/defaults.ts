// Built-in policy data besides the agent presets (presets.ts): which names carry a workspace ID, and the
// addresses no Azure endpoint resolves to.

import type { Cloud } from './config-types.js';

/** Names whose first label is a workspace ID, per cloud (Log Analytics ingestion and the agent service). */
const WORKSPACE_SUFFIXES: Readonly<Record<Cloud, readonly string[]>> = {
  public: ['ods.opinsights.azure.com', 'oms.opinsights.azure.com', 'agentsvc.azure-automation.net'],
  usgov: ['ods.opinsights.azure.us', 'oms.opinsights.azure.us', 'agentsvc.azure-automation.us'],
  china: ['ods.opinsights.azure.cn', 'oms.opinsights.azure.cn', 'agentsvc.azure-automation.cn'],
};

/** Names whose first label is a workspace ID (`<id>.ods.opinsights.azure.com`), scoped by `workspaces:`. */
export function workspaceSuffixes(cloud: Cloud): string[] {
  return [...WORKSPACE_SUFFIXES[cloud]];
}

const WORKSPACE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A Log Analytics workspace ID (a GUID) in lower case, as the service compares it; undefined when `text` is none. */
export function workspaceId(text: string): string | undefined {
  const id = text.toLowerCase();
  return WORKSPACE_ID.test(id) ? id : undefined;
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
