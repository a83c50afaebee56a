// The running gateway: one strict HTTP parser shared by every listener, the CONNECT and absolute-URI
// handlers behind it, the set of open tunnels, and start/drain/stop.
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import type { GatewayConfig } from '../config/types.js';
import { packageVersion } from '../observability/build-info.js';
import { audit, type Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { auditPolicyMode } from './audit-records.js';
import { createConnectHandler } from './connect.js';
import { PROXY_HEADER_REFUSED, type ProxyHeaderRefusal } from './proxy-header.js';
import type { HandlerDeps } from './deps.js';
import { tunnelTimers } from './relay.js';
import { createForwarder } from './forward.js';
import { Pipelines } from './pipeline.js';
import { attachFaultSink, shielded, type FaultSink } from './guard.js';
import { listenerName, type BoundListener } from './listener.js';
import { closeListeners, openListeners, planListeners, RebindError, replaceListeners } from './rebind.js';
import { refuseSocket } from './respond.js';
import { closeDeniedTunnels, type AdmittedTunnel } from './revoke.js';
import { buildRuntime, type Runtime } from './runtime.js';
import { getContext } from './context.js';
import { connectionCeiling } from './fd-budget.js';
import { attachLimiter, ConnectionLimiter } from './limits.js';
import { attachTlsServices } from '../tls/listener.js';
import { enforceHeadTimeouts, headServerOptions, limitConnectHead, limitRequestHead } from './request-head.js';

export interface StopReport {
  /** 'drained': every tunnel ended within the grace period; 'grace-expired': the rest were closed. */
  readonly outcome: 'drained' | 'grace-expired';
  readonly closedTunnels: number;
}

/** What a reload changed besides the configuration itself. */
export interface ReloadReport {
  readonly listenersOpened: readonly string[];
  /** Kept on their address but bound again because their settings changed. */
  readonly listenersReplaced: readonly string[];
  readonly listenersClosed: readonly string[];
  /**
   * Tunnels the new configuration denies (reload.closeDeniedTunnels): closed now, or, while still being set
   * up, ended at the end of their set-up step before they relay a byte (revoke.ts).
   */
  readonly tunnelsClosed: number;
}

export interface GatewayOptions {
  /**
   * Log service-started, shutdown-started and service-stopped (default). Worker processes leave them to the
   * supervisor (cluster/supervisor.ts), which reports the gateway as a whole once.
   */
  readonly announce?: boolean;
}

/** The service-started record (and the report-mode warning) for a gateway listening on `listeners`. */
export function announceStart(
  logger: Logger,
  config: GatewayConfig,
  listeners: readonly { readonly address: string; readonly port: number }[],
  extra: Readonly<Record<string, unknown>> = {},
): void {
  audit(logger, 'info', 'service-started', {
    version: packageVersion(),
    // Absolute, as the gateway's working directory resolved it; null: the embedded default, no file.
    configFile: config.sourcePath === undefined ? null : resolvePath(config.sourcePath),
    listeners: listeners.map(({ address, port }) => ({ address, port })),
    auth: config.auth.mode,
    allowlistEntries: config.policy.allowlist.length,
    agents: config.policy.agents,
    policyMode: config.policy.mode,
    ...extra,
  });
  auditPolicyMode(logger, config.policy);
}

export class Gateway {
  readonly #logger: Logger;
  readonly #tunnels = new Set<AdmittedTunnel>();
  readonly #http: HttpServer;
  readonly #pipelines = new Pipelines();
  #runtime: Runtime;
  #listeners: BoundListener[] = [];
  #draining = false;
  /** Set on SIGTERM, before #draining: readiness is false while the listeners still accept (drain delay). */
  #leaving = false;
  readonly metrics: GatewayMetrics;
  readonly #announce: boolean;
  /** One process: `workers` above 1 needs a restart (config/reload-scope.ts). */
  readonly clustered = false;

  constructor(config: GatewayConfig, logger: Logger, metrics: GatewayMetrics, options: GatewayOptions = {}) {
    this.#logger = logger;
    this.#announce = options.announce ?? true;
    this.metrics = metrics;
    metrics.policyMode(config.policy.mode);
    this.#runtime = buildRuntime(config);
    metrics.observeBufferedBytes(() => {
      let held = 0;
      for (const tunnel of this.#tunnels) held += tunnel.bufferedBytes();
      return held;
    });
    const limiter = new ConnectionLimiter({ limits: () => this.#runtime.config.limits, logger, metrics, ceiling: connectionCeiling() });
    const deps: HandlerDeps = {
      runtime: () => this.#runtime,
      logger,
      metrics,
      tunnels: this.#tunnels,
      isDraining: () => this.#draining,
      limiter,
      timers: tunnelTimers(),
    };
    this.#http = createServer({
      ...headServerOptions(config),
      // Bodies of forwarded requests may be long uploads; the head timeout guards against slowloris.
      requestTimeout: 0,
      connectionsCheckingInterval: 1000,
      // The Linux agent's CONNECT carries Host, but HTTP/1.0 clients and some probes do not.
      requireHostHeader: false,
      insecureHTTPParser: false,
    });
    // Every listener hands its accepted sockets to this server, so this sees every client connection.
    this.#http.on('connection', (socket: Socket) => metrics.clientConnected(socket, getContext(socket).client));
    enforceHeadTimeouts(this.#http);
    attachLimiter(this.#http, limiter);
    attachTlsServices(this.#http, { logger, metrics, handshakeTimeoutMs: () => this.#runtime.config.timeouts.requestHeadSeconds * 1000 });
    const sink: FaultSink = { logger, metrics };
    attachFaultSink(this.#http, sink);
    const pipelines = this.#pipelines;
    const forwarder = shielded(() => sink, 'request', ([req]) => req.socket, pipelines.oneAtATime(limitRequestHead(deps, createForwarder(deps))));
    this.#http.on('request', forwarder);
    // With this listener Node no longer answers `Expect: 100-continue` itself: the 100 comes from the target,
    // relayed only for a request that was admitted and sent (exchange.ts), never before a 407 or 403.
    this.#http.on('checkContinue', forwarder);
    this.#http.on('connect', shielded(() => sink, 'connect', ([, socket]) => socket, pipelines.handOverInTurn(limitConnectHead(deps, createConnectHandler(deps)))));
    this.#http.on('upgrade', shielded(() => sink, 'upgrade', ([, socket]) => socket, pipelines.handOverInTurn((req: IncomingMessage, socket: Socket) => {
      audit(logger, 'warn', 'bad-request', { client: getContext(req.socket).client, method: req.method, reason: 'upgrade-not-supported', status: 501 });
      metrics.refused('request', 'upgrade-not-supported');
      refuseSocket(socket, 'upgrade-not-supported');
    })));
    this.#http.on('clientError', shielded(() => sink, 'client-error', ([, socket]) => socket, (err: NodeJS.ErrnoException, socket: Socket) => this.#onClientError(err, socket)));
    this.#http.on(PROXY_HEADER_REFUSED, (refusal: ProxyHeaderRefusal) => audit(logger, 'warn', 'proxy-header-refused', { ...refusal, decision: 'deny' }));
  }

  get runtime(): Runtime {
    return this.#runtime;
  }

  get activeTunnels(): number {
    return this.#tunnels.size;
  }

  /** True from the start of a drain (SIGTERM): readiness probes answer "not ready" then. */
  get draining(): boolean {
    return this.#leaving;
  }

  get listeners(): readonly BoundListener[] {
    return this.#listeners;
  }

  /** Listeners bound and not draining: what /readyz reports. */
  isReady(): boolean {
    return this.#listeners.length > 0 && !this.#leaving;
  }

  async start(): Promise<readonly BoundListener[]> {
    this.#listeners = await openListeners(this.#runtime.config.listen, this.#http, this.#logger);
    if (this.#announce) announceStart(this.#logger, this.#runtime.config, this.#listeners);
    return this.#listeners;
  }

  /**
   * Reports not ready and keeps serving for `drainDelayMs` (timeouts.drainDelaySeconds), so load balancers
   * and Kubernetes stop sending new clients before anyone is refused; then stops accepting, lets open
   * tunnels finish within `graceMs`, and closes what is left.
   */
  async stop(graceMs: number, drainDelayMs = 0): Promise<StopReport> {
    this.#leaving = true;
    if (this.#announce) audit(this.#logger, 'info', 'shutdown-started', { activeTunnels: this.#tunnels.size, graceMs, drainDelayMs });
    if (drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
    this.#draining = true;
    const closing = this.#closeListeners();
    this.#http.closeIdleConnections();
    const drained = await this.#waitForTunnels(graceMs);
    const closedTunnels = this.#tunnels.size;
    for (const tunnel of [...this.#tunnels]) tunnel.close();
    this.#http.closeAllConnections();
    await closing;
    const report: StopReport = { outcome: drained ? 'drained' : 'grace-expired', closedTunnels };
    if (this.#announce) audit(this.#logger, 'info', 'service-stopped', { ...report });
    return report;
  }

  /**
   * Applies a new, validated configuration: binds the listeners it adds before closing the ones it drops,
   * then swaps the runtime in (requests already admitted keep theirs; open tunnels keep running unless
   * reload.closeDeniedTunnels closes the ones now denied). Throws, changing nothing, when a new listener
   * cannot bind.
   */
  async reload(config: GatewayConfig): Promise<ReloadReport> {
    const runtime = buildRuntime(config, this.#runtime);
    const plan = planListeners(this.#listeners, config.listen);
    const opened = await openListeners(plan.add, this.#http, this.#logger);
    let replaced: BoundListener[];
    try {
      replaced = await replaceListeners(plan.replace, this.#http);
    } catch (err) {
      for (const listener of opened) void listener.close();
      if (err instanceof RebindError) this.#listeners = this.#listeners.map((bound) => err.swaps.get(bound) ?? bound);
      throw err;
    }
    this.#runtime = runtime;
    this.metrics.policyMode(config.policy.mode);
    this.#listeners = [...plan.keep, ...replaced, ...opened];
    this.#http.headersTimeout = config.timeouts.requestHeadSeconds * 1000;
    this.#logger.level = config.log.level;
    // Connections accepted by a dropped listener are served to their end by the shared HTTP server.
    for (const listener of plan.drop) void listener.close();
    const tunnelsClosed = config.reload.closeDeniedTunnels ? closeDeniedTunnels(this.#tunnels, runtime, this.#logger) : 0;
    const name = ({ address, port }: BoundListener): string => listenerName({ host: address, port });
    return {
      listenersOpened: opened.map(name),
      listenersReplaced: replaced.map(name),
      listenersClosed: plan.drop.map(name),
      tunnelsClosed,
    };
  }

  #waitForTunnels(graceMs: number): Promise<boolean> {
    if (this.#tunnels.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const deadline = Date.now() + graceMs;
      const poll = setInterval(() => {
        if (this.#tunnels.size === 0 || Date.now() >= deadline) {
          clearInterval(poll);
          resolve(this.#tunnels.size === 0);
        }
      }, 50);
    });
  }

  async #closeListeners(): Promise<void> {
    const listeners = this.#listeners;
    this.#listeners = [];
    await closeListeners(listeners);
  }

  /**
   * Parse errors and timeouts from Node's HTTP parser. A probe that connects and closes without a byte
   * raises nothing; one that resets is logged at debug level only. Bytes after a request that closes the
   * connection (HTTP/1.0, `Connection: close`) are ignored unanswered (RFC 9112 §9.6); any other error is
   * answered in its place among the answers (pipeline.ts), and the connection closed.
   */
  #onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const client = getContext(socket).client;
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable) {
      audit(this.#logger, 'debug', 'client-reset', { client, code: err.code }, 'client connection reset');
      socket.destroy();
      return;
    }
    // Read no more: the parser has failed, and what follows would only fail it again.
    socket.pause();
    if (err.code === 'HPE_CLOSED_CONNECTION') {
      this.#pipelines.parseFailed(socket, () => socket.end());
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    audit(this.#logger, 'warn', 'bad-request', { client, reason: err.code ?? 'parse-error', status });
    this.metrics.refused('request', 'bad-request');
    const text = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
    this.#pipelines.parseFailed(socket, () => {
      // The last answer may have closed the connection already.
      if (!socket.writable) return;
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
    });
  }
}
