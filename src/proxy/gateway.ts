// The running gateway: one strict HTTP parser shared by every listener, the CONNECT and absolute-URI
// handlers behind it, the set of open tunnels, and start/drain/stop.
import { createServer, type Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import type { GatewayConfig } from '../config/types.js';
import { audit, type Logger } from '../observability/logger.js';
import { createConnectHandler } from './connect.js';
import type { HandlerDeps } from './deps.js';
import { createForwarder } from './forward.js';
import { listenerName, openListener, type BoundListener } from './listener.js';
import type { Tunnel } from './relay.js';
import { refuseSocket } from './respond.js';
import { buildRuntime, type Runtime } from './runtime.js';
import { getContext } from './context.js';

/** Errors an absent address family raises; the embedded default's IPv6 listener is skipped on them. */
const FAMILY_ABSENT = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL']);

export interface StopReport {
  /** 'drained': every tunnel ended within the grace period; 'grace-expired': the rest were closed. */
  readonly outcome: 'drained' | 'grace-expired';
  readonly closedTunnels: number;
}

export class Gateway {
  readonly #logger: Logger;
  readonly #tunnels = new Set<Tunnel>();
  readonly #http: HttpServer;
  #runtime: Runtime;
  #listeners: BoundListener[] = [];
  #draining = false;

  constructor(config: GatewayConfig, logger: Logger) {
    this.#logger = logger;
    this.#runtime = buildRuntime(config);
    const deps: HandlerDeps = {
      runtime: () => this.#runtime,
      logger,
      tunnels: this.#tunnels,
      isDraining: () => this.#draining,
    };
    this.#http = createServer({
      headersTimeout: config.timeouts.requestHeadSeconds * 1000,
      // Bodies of forwarded requests may be long uploads; the head timeout guards against slowloris.
      requestTimeout: 0,
      connectionsCheckingInterval: 1000,
      // The Linux agent's CONNECT carries Host, but HTTP/1.0 clients and some probes do not.
      requireHostHeader: false,
      insecureHTTPParser: false,
    });
    this.#http.on('connect', createConnectHandler(deps));
    this.#http.on('request', createForwarder(deps));
    this.#http.on('upgrade', (req, socket) => {
      audit(logger, 'warn', 'bad-request', { client: getContext(req.socket).client, method: req.method, reason: 'upgrade-not-supported', status: 501 });
      refuseSocket(socket, 'upgrade-not-supported');
    });
    this.#http.on('clientError', (err: NodeJS.ErrnoException, socket) => this.#onClientError(err, socket as Socket));
  }

  get runtime(): Runtime {
    return this.#runtime;
  }

  get activeTunnels(): number {
    return this.#tunnels.size;
  }

  async start(): Promise<readonly BoundListener[]> {
    for (const listener of this.#runtime.config.listen) {
      try {
        this.#listeners.push(await openListener(listener, this.#http));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (!(listener.optional && FAMILY_ABSENT.has(code))) {
          await this.#closeListeners();
          throw err;
        }
        audit(this.#logger, 'warn', 'listener-skipped', { listener: listenerName(listener), reason: code });
      }
    }
    audit(this.#logger, 'info', 'service-started', {
      listeners: this.#listeners.map(({ address, port }) => ({ address, port })),
      auth: this.#runtime.config.auth.mode,
      allowlistEntries: this.#runtime.config.policy.allowlist.length,
    });
    return this.#listeners;
  }

  /** Stops accepting, lets open tunnels finish within `graceMs`, then closes what is left. */
  async stop(graceMs: number): Promise<StopReport> {
    this.#draining = true;
    audit(this.#logger, 'info', 'shutdown-started', { activeTunnels: this.#tunnels.size, graceMs });
    const closing = this.#closeListeners();
    this.#http.closeIdleConnections();
    const drained = await this.#waitForTunnels(graceMs);
    const closedTunnels = this.#tunnels.size;
    for (const tunnel of [...this.#tunnels]) tunnel.close();
    this.#http.closeAllConnections();
    await closing;
    const report: StopReport = { outcome: drained ? 'drained' : 'grace-expired', closedTunnels };
    audit(this.#logger, 'info', 'service-stopped', { ...report });
    return report;
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
    await Promise.all(listeners.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }

  /**
   * Parse errors and timeouts from Node's HTTP parser. A probe that connects and closes without a byte
   * raises nothing; one that resets is logged at debug level only.
   */
  #onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const client = getContext(socket).client;
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable) {
      this.#logger.debug({ event: 'client-reset', client, code: err.code }, 'client connection reset');
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    audit(this.#logger, 'warn', 'bad-request', { client, reason: err.code ?? 'parse-error', status });
    const text = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
  }
}
