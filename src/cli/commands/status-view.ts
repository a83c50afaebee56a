// What `oms-gateway status` shows, from what status.ts gathered: the state file's view of the gateway and
// the metrics endpoint's figures, as a table for people or one JSON object for scripts. Report mode is said
// loudly: it relays what the allowlist would refuse.
import { formatBytes, formatDuration, type StatusSummary } from '../../observability/summary.js';
import type { GatewayStateRecord, ReloadResult } from '../../service/state-file.js';
import { printTable } from '../io.js';

/** Where to look, from the flags and what the configuration file says. */
export interface Sources {
  readonly configFile: string | undefined;
  /** The file's problems when it is not a valid configuration now. */
  readonly configProblem: string | undefined;
  readonly metrics: URL | undefined;
  /** Why there is no metrics URL. */
  readonly metricsMissing: string | undefined;
  readonly pidFile: string | undefined;
}

/** What the pid file and the state file beside it say. */
export type Process =
  | { readonly running: true; readonly pid: number; readonly state: GatewayStateRecord | undefined; readonly stateProblem: string | undefined }
  | { readonly running: false; readonly reason: string };

export interface Scraped {
  readonly url: string;
  readonly ready: string;
  readonly summary: StatusSummary;
}

export interface Report {
  readonly sources: Sources;
  readonly process: Process | undefined;
  readonly scraped: Scraped | undefined;
  readonly metricsProblem: string | undefined;
}

export function toJson({ sources, process: p, scraped, metricsProblem }: Report): Record<string, unknown> {
  const state = p?.running === true ? p.state : undefined;
  return {
    url: scraped?.url ?? null,
    state: scraped?.ready ?? (p?.running === true ? 'running' : 'not-running'),
    pid: p?.running === true ? p.pid : null,
    policyMode: state?.policyMode ?? (scraped?.summary.policyEnforcing === undefined ? null : scraped.summary.policyEnforcing ? 'enforce' : 'report'),
    authMode: state?.authMode ?? null,
    listeners: state?.listeners ?? null,
    workers: state?.workers ?? null,
    configFile: state?.configFile ?? sources.configFile ?? null,
    configFileValid: sources.configProblem === undefined,
    generation: state?.generation ?? null,
    lastReload: state?.lastReload ?? null,
    ...(metricsProblem !== undefined && { metricsProblem }),
    ...(p?.running === false && { processProblem: p.reason }),
    ...(p?.running === true && p.stateProblem !== undefined && { processProblem: p.stateProblem }),
    ...scraped?.summary,
  };
}

function describeReload(result: ReloadResult | null): string {
  if (result === null) return 'none since start';
  const when = new Date(result.finishedAt).toISOString();
  if (result.outcome !== 'applied') return `${result.outcome.toUpperCase()} at ${when} (${result.trigger}): ${result.reason ?? ''} — the previous configuration is in force`;
  const parts = [`applied at ${when} (${result.trigger})`, result.changes.length === 0 ? 'no change' : [...new Set(result.changes.map((c) => c.key))].join(', ')];
  if (result.restartRequired.length > 0) parts.push(`RESTART NEEDED for ${result.restartRequired.map((c) => c.key).join(', ')}`);
  if (result.pinned.length > 0) parts.push(`pinned by flags: ${result.pinned.map((c) => `${c.key} (${c.flag})`).join(', ')}`);
  return parts.join('; ');
}

export function render(report: Report): string {
  const { sources, process: p, scraped, metricsProblem } = report;
  const s = scraped?.summary;
  const state = p?.running === true ? p.state : undefined;
  const rows: [string, string][] = [];
  rows.push(['state', scraped?.ready ?? (p?.running === true ? `running (metrics not read: ${metricsProblem ?? 'unknown'})` : 'not running')]);
  if (p?.running === true) {
    const since = state === undefined ? '' : ` since ${new Date(state.startedAt).toISOString()}`;
    rows.push(['pid', `${p.pid}${since}${p.stateProblem === undefined ? '' : ` (${p.stateProblem})`}`]);
  } else if (p !== undefined) {
    rows.push(['pid', p.reason]);
  }
  const enforcing = state === undefined ? s?.policyEnforcing : state.policyMode === 'enforce';
  if (enforcing !== undefined) {
    const wouldDeny = s === undefined ? '' : `: ${s.wouldDeny} tunnels and requests relayed that enforce mode would refuse`;
    rows.push(['policy mode', enforcing ? 'enforce' : `REPORT — NOT ENFORCING the allowlist${wouldDeny}`]);
  }
  if (state !== undefined) {
    rows.push(['auth', state.authMode]);
    rows.push(['listeners', state.listeners.join(', ') || 'none']);
    rows.push(['workers', String(state.workers)]);
    rows.push(['configuration', `${state.configFile ?? '(embedded default)'}, generation ${state.generation}`]);
    rows.push(['last reload', describeReload(state.lastReload)]);
  } else if (s !== undefined) {
    rows.push(['configuration', s.lastReloadSuccessful ? 'last load ok' : 'last reload FAILED (old configuration in force)']);
  }
  if (sources.configProblem !== undefined) {
    const count = sources.configProblem.split('\n').length;
    rows.push(['configuration file', `${sources.configFile ?? ''} is INVALID now (${count} problem${count === 1 ? '' : 's'}): a reload would be refused; see oms-gateway config check`]);
  }
  if (s !== undefined) {
    const list = (pairs: readonly (readonly [string, number])[]): string => pairs.map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    const outcomes = (o: StatusSummary['tunnels']): string => `${o.relayed} relayed, ${o.refused} refused, ${o.failed} failed`;
    rows.push(
      ['uptime', s.uptimeSeconds === undefined ? 'unknown' : formatDuration(s.uptimeSeconds)],
      ['connected clients', `${s.connectedClients} (${s.activeConnections} connections)`],
      ['active tunnels', String(s.activeTunnels)],
      ['tunnels', outcomes(s.tunnels)],
      ['requests', outcomes(s.requests)],
      ['bytes', `${formatBytes(s.bytesFromClients)} from clients, ${formatBytes(s.bytesToClients)} to clients`],
      ['errors', String(s.errors)],
      ['top rejections', list(s.topRejections)],
      ['upstream errors', list(s.upstreamErrors)],
    );
  }
  const version = s?.version ?? state?.version ?? '(unknown version)';
  const where = scraped?.url ?? (p?.running === true ? `pid ${p.pid}` : (sources.pidFile ?? ''));
  return `oms-gateway ${version} at ${where}\n${printTable(rows.map(([k, v]) => [`  ${k}`, v]))}\n`;
}
