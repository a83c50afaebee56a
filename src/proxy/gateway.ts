// The running gateway: one strict HTTP parser shared by every listener, the CONNECT and absolute-URI
// handlers behind it, the set of open tunnels, and start/drain/stop.
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import type { GatewayConfig } from '../config/types.js';
import { packageVersion } from '../observability/build-info.js';
import { audit, type Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { auditPolicyMode } from './audit-records.js';
import { createConnectHandler } from './connect.js';
import type { HandlerDeps } from './deps.js';
import { Exchange, ExchangeIds, type Answer } from './exchange.js';
import { Landing } from '../net/landing.js';
import { tunnelTimers } from './relay.js';
import { createForwarder } from './forward.js';
import { Pipelines } from './pipeline.js';
import { shielded } from './guard.js';
import { listenerName, type BoundListener, type ListenerServices } from './listener.js';
import { closeListeners, openListeners, planListeners, RebindError, replaceListeners } from './rebind.js';
import { refuseResponse, refuseSocket, refuseUnparsed } from './respond.js';
import { closeDeniedTunnels, type AdmittedTunnel } from './revoke.js';
import { buildRuntime, type Runtime } from './runtime.js';
import { getContext } from './context.js';
import { connectionCeiling } from './fd-budget.js';
import { ConnectionLimiter } from './limits.js';
import { headServerOptions, headTimeoutMs } from './request-head.js';
import { ClientConnections } from './client-connections.js';
import { PROXY_ERRORS, type ProxyErrorCode } from './errors.js';

/** How an unparsed head is answered: the parser refused it, or it did not arrive in time. */
type UnparsedCode = Extract<ProxyErrorCode, 'bad-request' | 'header-too-large' | 'request-timeout'>;

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
  readonly #connections: ClientConnections;
  readonly #services: ListenerServices;
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
      ids: new ExchangeIds(),
      landing: new Landing(),
      timers: tunnelTimers(),
    };
    // It never listens: listeners hand it their sockets, so its head timeout is the gateway's own
    // (client-connections.ts), and Node's requestTimeout, enforced only on a listening server, never cuts an upload.
    this.#http = createServer(
      Object.assign({}, headServerOptions(config), {
        // The Linux agent's CONNECT carries Host, but HTTP/1.0 clients and some probes do not.
        requireHostHeader: false,
        insecureHTTPParser: false,
      }),
    );
    const headTimeout = (): number => headTimeoutMs(this.#runtime.config);
    const sink = { logger, metrics };
    this.#connections = new ClientConnections(headTimeout, shielded(sink, 'client-error', ([socket]) => socket, (socket: Socket) => {
      socket.pause();
      this.#refuseUnparsed(socket, 'request-timeout', 'ERR_HTTP_REQUEST_TIMEOUT');
    }));
    const connections = this.#connections;
    this.#services = {
      http: this.#http,
      limiter,
      logger,
      metrics,
      handshakeTimeoutMs: headTimeout,
      proxyHeaderRefused: (refusal) => audit(logger, 'warn', 'proxy-header-refused', { client: refusal.client, clientPort: refusal.clientPort, listener: refusal.listener, reason: refusal.reason, decision: 'deny' }),
    };
    // Every listener hands its accepted sockets to this server, so this sees every client connection.
    this.#http.on('connection', (socket: Socket) => {
      const { client } = getContext(socket);
      metrics.clientConnected(client);
      connections.add(socket);
      // One listener for both: each is a closure an open tunnel keeps for its life (memory per idle tunnel).
      socket.on('close', () => {
        metrics.clientDisconnected(client);
        connections.release(socket);
      });
    });
    // Registered before the handlers: a head is complete before anything answers it.
    const parsed = (req: IncomingMessage, res: ServerResponse): void => connections.requestParsed(req.socket, res);
    const handedOver = (_req: IncomingMessage, socket: Socket): void => connections.release(socket);
    this.#http.on('request', parsed).on('checkContinue', parsed).on('checkExpectation', parsed).on('connect', handedOver).on('upgrade', handedOver);
    const pipelines = this.#pipelines;
    const forwarder = shielded(sink, 'request', ([req]) => req.socket, pipelines.oneAtATime(createForwarder(deps)));
    this.#http.on('request', forwarder);
    // With this listener Node no longer answers `Expect: 100-continue` itself: the 100 comes from the target,
    // relayed only for a request that was admitted and sent (exchange.ts), never before a 407 or 403.
    this.#http.on('checkContinue', forwarder);
    // Requests the gateway serves no way at all: refused through an exchange like any other refusal.
    const refuseRequest = (req: IncomingMessage, answer: Answer, code: ProxyErrorCode): void =>
      new Exchange(deps, 'request', getContext(req.socket), req.method, answer).refuseEarly(code);
    // Without this listener Node would answer an Expect it does not know with a bare 417 of its own.
    this.#http.on('checkExpectation', shielded(sink, 'request', ([req]) => req.socket, pipelines.oneAtATime((req: IncomingMessage, res: ServerResponse) => {
      refuseRequest(req, (code) => refuseResponse(res, code), 'expectation-failed');
    })));
    this.#http.on('connect', shielded(sink, 'connect', ([, socket]) => socket, pipelines.handOverInTurn(createConnectHandler(deps))));
    this.#http.on('upgrade', shielded(sink, 'upgrade', ([, socket]) => socket, pipelines.handOverInTurn((req: IncomingMessage, socket: Socket) => {
      refuseRequest(req, (code) => refuseSocket(socket, code), 'upgrade-not-supported');
    })));
    this.#http.on('clientError', shielded(sink, 'client-error', ([, socket]) => socket, (err: NodeJS.ErrnoException, socket: Socket) => this.#onClientError(err, socket)));
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
    this.#listeners = await openListeners(this.#runtime.config.listen, this.#services);
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
    this.#connections.closeIdle();
    const drained = await this.#waitForTunnels(graceMs);
    const closedTunnels = this.#tunnels.size;
    for (const tunnel of [...this.#tunnels]) tunnel.close();
    this.#connections.closeAll();
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
    const opened = await openListeners(plan.add, this.#services);
    let replaced: BoundListener[];
    try {
      replaced = await replaceListeners(plan.replace, this.#services);
    } catch (err) {
      for (const listener of opened) void listener.close();
      if (err instanceof RebindError) this.#listeners = this.#listeners.map((bound) => err.swaps.get(bound) ?? bound);
      throw err;
    }
    this.#runtime = runtime;
    this.metrics.policyMode(config.policy.mode);
    this.#listeners = [...plan.keep, ...replaced, ...opened];
    this.#logger.level = config.log.level;
    // Connections accepted by a dropped listener are served to their end by the shared HTTP server.
    for (const listener of plan.drop) void listener.close();
    const tunnelsClosed = config.reload.closeDeniedTunnels ? closeDeniedTunnels(this.#tunnels, runtime) : 0;
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
   * Parse errors from Node's HTTP parser. A probe that connects and closes without a byte raises nothing;
   * one that resets is logged at debug level only. Bytes after a request that closes the connection
   * (HTTP/1.0, `Connection: close`) are ignored unanswered (RFC 9112 §9.6); any other error is answered
   * from the error table.
   */
  #onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    this.#connections.release(socket);
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable) {
      audit(this.#logger, 'debug', 'client-reset', { client: getContext(socket).client, code: err.code }, 'client connection reset');
      socket.destroy();
      return;
    }
    // Read no more: the parser has failed, and what follows would only fail it again.
    socket.pause();
    if (err.code === 'HPE_CLOSED_CONNECTION') {
      this.#pipelines.parseFailed(socket, () => socket.end());
      return;
    }
    this.#refuseUnparsed(socket, err.code === 'HPE_HEADER_OVERFLOW' ? 'header-too-large' : 'bad-request', err.code ?? 'parse-error');
  }

  /** Audits, counts and answers a head that never reached a handler, in its place among the answers (pipeline.ts). */
  #refuseUnparsed(socket: Socket, code: UnparsedCode, reason: string): void {
    audit(this.#logger, 'warn', 'bad-request', { client: getContext(socket).client, reason, status: PROXY_ERRORS[code].status });
    this.metrics.refused('request', code);
    this.#pipelines.parseFailed(socket, () => refuseUnparsed(socket, code));
  }
}
