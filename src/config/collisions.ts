// Two sockets of one gateway on one address: start would fail with EADDRINUSE on the second, and a reload
// that adds one would be refused by the kernel. Caught when the configuration is loaded instead, with both
// keys named. IPv6 sockets are v6-only (proxy/listener.ts, metrics-server.ts), so `::` and `0.0.0.0` share
// nothing; a wildcard overlaps every address of its own family. Port 0 takes a fresh port, never a clash.

import { isIPv6 } from 'node:net';
import { formatListenAddress } from './forms.js';
import type { ConfigIssue, Locate } from './issues.js';
import type { ListenerConfig } from './types.js';

function overlap(a: ListenerConfig, b: ListenerConfig): boolean {
  if (a.port === 0 || a.port !== b.port || isIPv6(a.host) !== isIPv6(b.host)) return false;
  const wildcard = isIPv6(a.host) ? '::' : '0.0.0.0';
  return a.host === b.host || a.host === wildcard || b.host === wildcard;
}

/** The metrics listener against every proxy listener; `metricsKey` is the key or flag that set it. */
export function metricsCollisions(listen: readonly ListenerConfig[], metrics: ListenerConfig | undefined, metricsKey: string, locate: Locate): ConfigIssue[] {
  if (metrics === undefined) return [];
  return listen.flatMap((listener, index): ConfigIssue[] => {
    if (!overlap(listener, metrics)) return [];
    const message = `${formatListenAddress(metrics)} is also a proxy listener (listen[${index}]: ${formatListenAddress(listener)}); give the metrics listener a port of its own`;
    return [{ key: metricsKey, line: metricsKey.startsWith('--') ? undefined : locate(['metrics', 'listen']), message }];
  });
}
