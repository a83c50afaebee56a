// The few figures an operator asks of a running gateway, computed from one scrape of its metrics: what
// `oms-gateway status` prints. Pure: the caller fetches the text and supplies the clock.
import { total, totalsBy, type Sample } from './exposition.js';
import { METRIC_PREFIX } from './metrics.js';

export interface Outcomes {
  readonly relayed: number;
  readonly refused: number;
  readonly failed: number;
}

export interface StatusSummary {
  readonly version: string | undefined;
  /** Seconds since the process started, from process_start_time_seconds. */
  readonly uptimeSeconds: number | undefined;
  readonly connectedClients: number;
  readonly activeConnections: number;
  readonly activeTunnels: number;
  readonly tunnels: Outcomes;
  readonly requests: Outcomes;
  readonly bytesFromClients: number;
  readonly bytesToClients: number;
  readonly errors: number;
  readonly rejections: number;
  /** Largest first, at most TOP_REJECTIONS. */
  readonly topRejections: readonly (readonly [reason: string, count: number])[];
  readonly upstreamErrors: readonly (readonly [kind: string, count: number])[];
  readonly lastReloadSuccessful: boolean;
  /** From the policy_enforcing gauge; undefined when the scrape has none. */
  readonly policyEnforcing: boolean | undefined;
  /** Tunnels and requests report mode relayed that enforce mode would refuse. */
  readonly wouldDeny: number;
  /** Epoch seconds of the last good configuration load or reload. */
  readonly lastGoodConfigAt: number | undefined;
}

export const TOP_REJECTIONS = 5;

const m = (suffix: string): string => `${METRIC_PREFIX}${suffix}`;

function outcomes(samples: readonly Sample[], name: string): Outcomes {
  return {
    relayed: total(samples, name, { outcome: 'relayed' }),
    refused: total(samples, name, { outcome: 'refused' }),
    failed: total(samples, name, { outcome: 'failed' }),
  };
}

export function summarize(samples: readonly Sample[], nowSeconds: number): StatusSummary {
  const build = samples.find((s) => s.name === m('build_info'));
  const started = samples.find((s) => s.name === 'process_start_time_seconds')?.value;
  const enforcing = samples.find((s) => s.name === m('policy_enforcing'))?.value;
  const lastGood = samples.find((s) => s.name === m('config_last_reload_success_timestamp_seconds'))?.value;
  return {
    version: build?.labels.version,
    uptimeSeconds: started === undefined ? undefined : Math.max(0, nowSeconds - started),
    connectedClients: total(samples, m('connected_clients')),
    activeConnections: total(samples, m('active_client_connections')),
    activeTunnels: total(samples, m('active_tunnels')),
    tunnels: outcomes(samples, m('tunnels_total')),
    requests: outcomes(samples, m('requests_total')),
    bytesFromClients: total(samples, m('relayed_bytes_total'), { direction: 'from_client' }),
    bytesToClients: total(samples, m('relayed_bytes_total'), { direction: 'to_client' }),
    errors: total(samples, m('errors_total')),
    rejections: total(samples, m('rejections_total')),
    topRejections: totalsBy(samples, m('rejections_total'), 'reason').filter(([, n]) => n > 0).slice(0, TOP_REJECTIONS),
    upstreamErrors: totalsBy(samples, m('upstream_errors_total'), 'kind').filter(([, n]) => n > 0),
    lastReloadSuccessful: total(samples, m('config_last_reload_successful')) === 1,
    policyEnforcing: enforcing === undefined ? undefined : enforcing === 1,
    wouldDeny: total(samples, m('would_deny_total')),
    lastGoodConfigAt: lastGood === undefined || lastGood === 0 ? undefined : lastGood,
  };
}

/** 3725 → "1h 02m 05s" */
export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const min = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${h}h ${pad(min)}m`;
  if (h > 0) return `${h}h ${pad(min)}m ${pad(sec)}s`;
  return min > 0 ? `${min}m ${pad(sec)}s` : `${sec}s`;
}

/** 1536 → "1.5 KiB" (binary units, as `ls -h` and most dashboards show them). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
