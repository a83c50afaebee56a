// Every Prometheus metric of the gateway, declared eagerly in one private registry, and the methods the data
// path calls (one line each) to update them. Names: one prefix, base units, `_total` for counters. Every
// label value comes from a closed set (refusal codes, policy reasons, error kinds) or from the configuration
// (allowlist patterns), except workspace IDs, whose number of distinct values is capped.
import type { Socket } from 'node:net';
import { UnansweredChallenges } from './challenges.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Aggregator } from 'prom-client';
import type { AuthFailure } from '../auth/authenticator.js';
import type { MetricsConfig } from '../config/types.js';
import type { PolicyMode } from '../policy/config-types.js';
import type { DenyReason } from '../policy/types.js';
import { packageVersion } from './build-info.js';
import type { ClosedBy, InspectionFailure, ProxyErrorCode, RelayStats } from './outcomes.js';
import { socketBytes, TrafficLedger, type ByteCounts, type TrafficSession, type TrafficTotals } from './traffic.js';
import { WorkspaceLabels } from './workspace-label.js';

export const METRIC_PREFIX = 'oms_gateway_';

/** CONNECT tunnels and plain-HTTP requests are counted in families of their own. */
export type SessionKind = 'tunnel' | 'request';
export type DnsResult = 'ok' | 'error' | 'timeout';

/**
 * A refusal as a handler holds it: a bare code (a refusal code, or why the tunnel inspection closed a tunnel),
 * or an admission result with the policy decision or auth failure.
 */
export type RefusalInfo =
  | ProxyErrorCode
  | InspectionFailure
  | {
      readonly code: ProxyErrorCode;
      readonly decision?: { readonly reason: DenyReason };
      readonly authFailure?: AuthFailure;
    };

export interface MetricsOptions {
  readonly version: string;
  /** Count traffic per workspace ID (metrics.workspaceLabels). */
  readonly workspaceLabels: boolean;
  /** Distinct workspace IDs labelled before the rest share the label "other". */
  readonly maxWorkspaces: number;
}

/** Where an admitted request goes: the allowlist pattern that allowed it (none in report mode) and the normalised host. */
export interface Destination {
  readonly entry: string | undefined;
  readonly host: string;
}

/** The entry label of traffic that report mode relayed without an allowlist entry. */
export const NO_ENTRY = 'none';

export interface CertificateTracker {
  expires(notAfter: Date): void;
  release(): void;
}

/** The meter of one open tunnel or forwarded request, returned when it opens and handed back when it ends. */
export type SessionMeter = TrafficSession;

// Agents hold tunnels for minutes between uploads; short ones are refusals inside the tunnel or probes.
const TUNNEL_SECONDS = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14_400];
const CONNECT_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const name = (suffix: string): string => `${METRIC_PREFIX}${suffix}`;

const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #traffic = new TrafficLedger();
  readonly #workspaces: WorkspaceLabels | undefined;
  readonly #clients = new Map<string, number>();
  readonly #certificateHolders = new Map<string, number>();
  #upstreamUrl: string | undefined;
  readonly #challenges = new UnansweredChallenges();
  #bufferedBytes: () => number = () => 0;

  // The Windows gateway's performance counters (category "Log Analytics Gateway"), same meaning.
  readonly #activeConnections = this.#gauge('active_client_connections', 'Open client TCP connections (Windows: Active Client Connection).');
  readonly #connectedClients = this.#gauge('connected_clients', 'Distinct client addresses with at least one open connection (Windows: Connected Client).');
  readonly #errors = this.#counter('errors_total', 'Errors: upstream failures and unexpected internal errors (Windows: Error Count).', ['kind']);
  readonly #rejections = this.#counter('rejections_total', 'Refused requests and tunnels, by reason (Windows: Rejection Count).', ['reason']);

  readonly #tunnels = this.#counter('tunnels_total', 'CONNECT requests by outcome (relayed, refused, failed) and reason.', ['outcome', 'reason']);
  readonly #requests = this.#counter('requests_total', 'Plain-HTTP proxy requests and unparseable request heads, by outcome and reason.', ['outcome', 'reason']);
  readonly #activeTunnels = this.#gauge('active_tunnels', 'Open CONNECT tunnels.');
  readonly #tunnelSeconds = new Histogram({
    name: name('tunnel_duration_seconds'),
    help: 'Lifetime of closed tunnels, by the side that ended them.',
    labelNames: ['closed_by'],
    buckets: TUNNEL_SECONDS,
    registers: [this.registry],
  });
  readonly #connectSeconds = new Histogram({
    name: name('upstream_connect_duration_seconds'),
    help: 'Time to establish the TCP connection to the target (after name resolution).',
    buckets: CONNECT_SECONDS,
    registers: [this.registry],
  });
  readonly #upstreamErrors = this.#counter('upstream_errors_total', 'Failures reaching the target, by kind.', ['kind']);

  readonly #entryRequests = this.#counter('entry_requests_total', 'Relayed tunnels and requests per allowlist entry (the pattern).', ['entry']);
  readonly #workspaceRequests = this.#counter('workspace_requests_total', 'Relayed tunnels and requests per workspace ID (when metrics.workspaceLabels is on).', ['workspace']);

  readonly #authFailures = this.#counter('auth_failures_total', 'Authentication failures, by reason and listener (proxy or metrics).', ['reason', 'listener']);
  readonly #authLockouts = this.#counter('auth_lockouts_total', 'Temporary lockouts after repeated authentication failures.', []);
  readonly #dnsLookups = this.#counter('dns_lookups_total', 'Name resolutions of targets and mapped addresses, by result.', ['result']);
  readonly #dnsCacheHits = this.#counter('dns_cache_hits_total', 'Name resolutions answered from the cache.', []);
  readonly #reloads = this.#counter('config_reloads_total', 'Configuration reloads, by result.', ['result']);
  readonly #lastReloadOk = this.#gauge('config_last_reload_successful', '1 when the last configuration load or reload succeeded, else 0.', [], 'min');
  readonly #lastReloadTime = this.#gauge('config_last_reload_success_timestamp_seconds', 'Time of the last successful configuration load or reload.', [], 'max');
  readonly #certificateExpiry = this.#gauge('certificate_expiry_timestamp_seconds', 'Expiry time (notAfter) of each certificate the gateway serves.', ['certificate'], 'min');
  readonly #wouldDeny = this.#counter('would_deny_total', 'Tunnels and requests relayed in report mode (policy.mode: report) that enforce mode would refuse, by reason.', ['kind', 'reason']);
  readonly #enforcing = this.#gauge('policy_enforcing', '1 when the allowlist is enforced; 0 in report mode (policy.mode: report), where requests outside it are relayed.', [], 'min');
  readonly #connectionLimit = this.#gauge('client_connections_limit', 'Open client connections the gateway accepts at most (0 until the limiter reports it).');
  // Labelled by the probed URL so that the series exist only where a probe runs (never in worker processes).
  readonly #upstreamUp = this.#gauge('upstream_up', '1 when the last upstream probe (upstreamProbe) reached the control service through the gateway\'s route, else 0.', ['url'], 'max');
  readonly #upstreamProbes = this.#counter('upstream_probes_total', 'Upstream probes, by result: ok or why they failed.', ['url', 'result']);
  readonly #upstreamProbeSeconds = this.#gauge('upstream_probe_duration_seconds', 'How long the last upstream probe took.', ['url'], 'max');
  readonly #buildInfo = this.#gauge('build_info', 'Always 1; the labels carry the gateway and Node.js versions.', ['version', 'node_version'], 'first');

  constructor(options: MetricsOptions) {
    this.#workspaces = options.workspaceLabels ? new WorkspaceLabels(options.maxWorkspaces) : undefined;
    this.#buildInfo.set({ version: options.version, node_version: process.version }, 1);
    this.#liveBytes('relayed_bytes_total', 'Bytes relayed, from and to clients, including open tunnels.', [], (t) => [[{}, t.all]]);
    this.#liveBytes('entry_relayed_bytes_total', 'Bytes relayed per allowlist entry (the pattern).', ['entry'], (t) =>
      [...t.byEntry].map(([entry, bytes]) => [{ entry }, bytes]),
    );
    this.#liveBytes('workspace_relayed_bytes_total', 'Bytes relayed per workspace ID (when metrics.workspaceLabels is on).', ['workspace'], (t) =>
      [...t.byWorkspace].map(([workspace, bytes]) => [{ workspace }, bytes]),
    );
    // Registered through `registers`; read from the open tunnels when scraped.
    const read = (): number => this.#bufferedBytes();
    new Gauge({
      name: name('tunnel_buffered_bytes'),
      help: 'Bytes the gateway holds in the socket buffers of its tunnels (both legs, both directions); stays small while backpressure works.',
      aggregator: 'sum',
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
    const challenges = this.#challenges;
    // Registered through `registers`; computed from the ledger when scraped.
    new Gauge<'client_rule'>({
      name: name('unanswered_auth_sources'),
      help: 'Client addresses answered 407 for missing credentials in the last 15 minutes and not authenticated since, by per-source rule (default: none).',
      labelNames: ['client_rule'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [rule, count] of challenges.countByRule()) this.set({ client_rule: rule }, count);
      },
    });
    // The client libraries' standard process_* and nodejs_* names, unprefixed, so stock dashboards work.
    collectDefaultMetrics({ register: this.registry });
    // Gauges that prom-client names like counters; `promtool check metrics` rejects them.
    for (const misnamed of MISNAMED_DEFAULT_METRICS) this.registry.removeSingleMetric(misnamed);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text of every metric. */
  expose(): Promise<string> {
    return this.registry.metrics();
  }

  /** A client TCP connection was accepted; it is counted until clientDisconnected() says it closed. */
  clientConnected(client: string): void {
    this.#activeConnections.inc();
    this.#clients.set(client, (this.#clients.get(client) ?? 0) + 1);
    this.#connectedClients.set(this.#clients.size);
  }

  /** A connection clientConnected() counted has closed. */
  clientDisconnected(client: string): void {
    this.#activeConnections.dec();
    const left = (this.#clients.get(client) ?? 1) - 1;
    if (left > 0) this.#clients.set(client, left);
    else this.#clients.delete(client);
    this.#connectedClients.set(this.#clients.size);
  }

  /** Addresses with at least one open connection. */
  clientAddresses(): string[] {
    return [...this.#clients.keys()];
  }

  /** Sets the distinct-client gauge where the connections are counted elsewhere (the supervisor: the union over its workers). */
  distinctClients(count: number): void {
    this.#connectedClients.set(count);
  }

  refused(kind: SessionKind, refusal: RefusalInfo): void {
    const code = typeof refusal === 'string' ? refusal : refusal.code;
    const reason = typeof refusal === 'string' ? code : refusal.decision?.reason ?? code;
    this.#family(kind).inc({ outcome: 'refused', reason });
    this.#rejections.inc({ reason });
    if (typeof refusal !== 'string' && refusal.authFailure !== undefined) this.#authFailures.inc({ reason: refusal.authFailure, listener: 'proxy' });
  }

  /** Where the tunnel_buffered_bytes gauge reads its value (the gateway's open tunnels). */
  observeBufferedBytes(read: () => number): void {
    this.#bufferedBytes = read;
  }

  /** A 407 for missing credentials went to `client`, under per-source rule `rule` (undefined: none). */
  credentialsMissing(client: string, rule: string | undefined): void {
    this.#challenges.challenged(client, rule ?? 'default');
  }

  /** `client` authenticated: whatever it was asked before, it can answer. */
  authenticated(client: string): void {
    this.#challenges.authenticated(client);
  }

  /** Resolving or reaching the target failed (502/504 answered). */
  upstreamFailed(kind: SessionKind, code: ProxyErrorCode): void {
    this.#family(kind).inc({ outcome: 'failed', reason: code });
    this.upstreamError(code);
  }

  /** The target failed after the request was relayed (a forwarded request's answer never came). */
  upstreamError(code: ProxyErrorCode): void {
    this.#upstreamErrors.inc({ kind: code });
    this.#errors.inc({ kind: 'upstream' });
  }

  internalError(): void {
    this.#errors.inc({ kind: 'internal' });
  }

  /** Observes how long `connecting` takes when it succeeds. */
  async timeUpstreamConnect<T>(connecting: Promise<T>): Promise<T> {
    const started = performance.now();
    const connected = await connecting;
    this.#connectSeconds.observe((performance.now() - started) / 1000);
    return connected;
  }

  tunnelOpened(destination: Destination, upstream: Socket): SessionMeter {
    this.#activeTunnels.inc();
    return this.#opened('tunnel', destination, upstream);
  }

  tunnelClosed(meter: SessionMeter, stats: RelayStats): void {
    this.#activeTunnels.dec();
    this.#tunnelSeconds.observe({ closed_by: stats.closedBy satisfies ClosedBy }, stats.durationMs / 1000);
    this.#traffic.close(meter, [stats.bytesFromClient, stats.bytesToClient]);
  }

  /** The tunnel ended before it relayed: the client left while the target was dialled, or a side left during the TLS handshake. */
  tunnelAbandoned(reason: 'client-closed' | 'closed-during-handshake'): void {
    this.#tunnels.inc({ outcome: 'failed', reason });
  }

  requestForwarded(destination: Destination, upstream: Socket): SessionMeter {
    return this.#opened('request', destination, upstream);
  }

  requestCompleted(meter: SessionMeter): void {
    this.#traffic.close(meter, socketBytes(meter.upstream));
  }

  /** A scrape refused for its credentials (401), or held back by the throttle (429, 503). */
  scrapeAuthFailed(reason: AuthFailure): void {
    this.#authFailures.inc({ reason, listener: 'metrics' });
  }

  authLockout(): void {
    this.#authLockouts.inc();
  }

  dnsLookup(result: DnsResult): void {
    this.#dnsLookups.inc({ result });
  }

  dnsCacheHit(): void {
    this.#dnsCacheHits.inc();
  }

  /** One upstream probe finished (service/upstream-probe.ts). */
  upstreamProbed(url: string, result: { readonly ok: boolean; readonly failure?: string; readonly seconds: number }): void {
    // One probed URL at a time: a reload that changes it drops the old series.
    if (this.#upstreamUrl !== url) {
      this.#upstreamUp.reset();
      this.#upstreamProbeSeconds.reset();
      this.#upstreamUrl = url;
    }
    this.#upstreamUp.set({ url }, result.ok ? 1 : 0);
    this.#upstreamProbes.inc({ url, result: result.ok ? 'ok' : (result.failure ?? 'failed') });
    this.#upstreamProbeSeconds.set({ url }, result.seconds);
  }

  /** The configuration in force was loaded (at start) or a reload was attempted. */
  configLoaded(ok: boolean, reload: boolean): void {
    if (reload) this.#reloads.inc({ result: ok ? 'success' : 'failure' });
    this.#lastReloadOk.set(ok ? 1 : 0);
    if (ok) this.#lastReloadTime.set(Date.now() / 1000);
  }

  certificateExpiry(certificate: string, notAfter: Date): void {
    this.#certificateExpiry.set({ certificate }, notAfter.getTime() / 1000);
  }

  /**
   * A listener serves `certificate` until it calls `release`; `expires` records each version it loads. The
   * series goes when the last listener serving that file closes (a reload that removed it), so alerts never
   * fire for a certificate nothing serves.
   */
  trackCertificate(certificate: string): CertificateTracker {
    this.#certificateHolders.set(certificate, (this.#certificateHolders.get(certificate) ?? 0) + 1);
    let released = false;
    return {
      expires: (notAfter) => this.certificateExpiry(certificate, notAfter),
      release: () => {
        if (released) return;
        released = true;
        const left = (this.#certificateHolders.get(certificate) ?? 1) - 1;
        if (left > 0) {
          this.#certificateHolders.set(certificate, left);
          return;
        }
        this.#certificateHolders.delete(certificate);
        this.#certificateExpiry.remove({ certificate });
      },
    };
  }

  /** Report mode relayed what enforce mode would refuse. */
  wouldDeny(kind: SessionKind, reason: DenyReason): void {
    this.#wouldDeny.inc({ kind, reason });
  }

  /** The policy mode in force, at start and after every reload. */
  policyMode(mode: PolicyMode): void {
    this.#enforcing.set(mode === 'enforce' ? 1 : 0);
  }

  /** The connection limit in force (the configured one, or lower when file descriptors are scarce). */
  connectionLimit(max: number): void {
    this.#connectionLimit.set(max);
  }

  #opened(kind: SessionKind, destination: Destination, upstream: Socket): SessionMeter {
    const entry = destination.entry ?? NO_ENTRY;
    this.#family(kind).inc({ outcome: 'relayed', reason: 'none' });
    this.#entryRequests.inc({ entry });
    const workspace = this.#workspaces?.of(destination.host);
    if (workspace !== undefined) this.#workspaceRequests.inc({ workspace });
    return this.#traffic.open({ entry, workspace }, upstream);
  }

  #family(kind: SessionKind): Counter<'outcome' | 'reason'> {
    return kind === 'tunnel' ? this.#tunnels : this.#requests;
  }

  #counter<L extends string>(suffix: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name: name(suffix), help, labelNames, registers: [this.registry] });
  }

  /** `aggregator`: how worker processes' values combine into one scrape (cluster/metrics.ts); counts add up. */
  #gauge<L extends string = never>(suffix: string, help: string, labelNames: readonly L[] = [], aggregator: Aggregator = 'sum'): Gauge<L> {
    return new Gauge({ name: name(suffix), help, labelNames, aggregator, registers: [this.registry] });
  }

  /** A byte counter whose values are computed from the traffic ledger when scraped. */
  #liveBytes(
    suffix: string,
    help: string,
    labelNames: readonly string[],
    rows: (totals: TrafficTotals) => [Readonly<Record<string, string>>, ByteCounts][],
  ): void {
    const traffic = this.#traffic;
    // Registered through `registers`; nothing else holds it.
    new Counter<string>({
      name: name(suffix),
      help,
      labelNames: [...labelNames, 'direction'],
      registers: [this.registry],
      collect() {
        // Totals only grow, so resetting and setting them again keeps the counter monotonic.
        this.reset();
        for (const [labels, [fromClient, toClient]] of rows(traffic.totals())) {
          this.inc(Object.assign({}, labels, { direction: 'from_client' }), fromClient);
          this.inc(Object.assign({}, labels, { direction: 'to_client' }), toClient);
        }
      },
    });
  }
}

/** The metrics of a gateway started with `config`: this package's version, and the start-up load counted as good. */
export function metricsFor(config: MetricsConfig): GatewayMetrics {
  const metrics = new GatewayMetrics({ version: packageVersion(), workspaceLabels: config.workspaceLabels, maxWorkspaces: config.maxWorkspaces });
  metrics.configLoaded(true, false);
  return metrics;
}
