// The metrics and health listener, apart from the proxy listeners: GET <path> (Prometheus exposition,
// optionally behind Basic auth), GET /healthz and GET /readyz (never behind auth: systemd, kubelet and load
// balancer probes carry no credentials). Plain HTTP on loopback by default; HTTPS with a certificate and key
// for scrapers that cross a network boundary.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIPv6 } from 'node:net';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { claimedUser, createAuthenticator, proxyAuthenticateHeader, type Authenticator } from '../auth/authenticator.js';
import { AuthThrottle, type SlowPathLimits, type ThrottledResult } from '../auth/throttle.js';
import type { MetricsConfig } from '../config/types.js';
import type { AuthConfig } from '../auth/config-types.js';
import { EventLoopWatch, liveness, readiness, type GatewayState, type HealthAnswer, type UpstreamCheck } from './health.js';
import { clientText } from './log-text.js';
import { audit, type Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';

export const HEALTH_PATH = '/healthz';
export const READY_PATH = '/readyz';
const REALM = 'oms-gateway metrics';

export type MetricsServerErrorCode = 'METRICS_LISTEN' | 'METRICS_TLS';

export class MetricsServerError extends Error {
  readonly code: MetricsServerErrorCode;

  constructor(code: MetricsServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MetricsServerError';
    this.code = code;
  }
}

export interface MetricsServerOptions {
  readonly config: MetricsConfig;
  readonly proxyAuth: AuthConfig;
  /** The proxy's bounds on password checks (auth/throttle.ts slowPathLimits). */
  readonly authLimits: SlowPathLimits;
  readonly metrics: GatewayMetrics;
  readonly gateway: GatewayState;
  readonly logger: Logger;
  /** The upstream probe's last outcome, when it is switched on. */
  readonly upstream?: () => UpstreamCheck | undefined;
}

export interface MetricsServer {
  /** `http(s)://host:port` as a local client reaches it (a wildcard address becomes loopback). */
  readonly url: string;
  readonly port: number;
  /**
   * Takes the reloaded settings a running listener can change: its users (and the proxy's auth settings
   * their checks share), its path and the event-loop limit of /healthz. Its address, TLS files and
   * workspace labels are bound at start (config/reload-scope.ts).
   */
  apply(config: MetricsConfig, proxyAuth: AuthConfig): void;
  close(): Promise<void>;
}

/** What a request is served with; replaced as a whole on reload. */
interface Settings {
  readonly config: MetricsConfig;
  readonly auth: ScrapeAuth | undefined;
}

/**
 * The proxy's verdict cache, throttle settings and bounds on pending checks apply to scrapers as well,
 * counted apart from the proxy's: a lockout here does not lock agents out of the proxy. A reload keeps the
 * counts (`previous`), as the proxy's throttle does.
 */
function settings(config: MetricsConfig, proxyAuth: AuthConfig, limits: SlowPathLimits, previous: ScrapeAuth | undefined): Settings {
  if (config.users.length === 0) return { config, auth: undefined };
  return {
    config,
    auth: {
      authenticator: createAuthenticator(Object.assign({}, proxyAuth, { mode: 'basic', realm: REALM, users: config.users })),
      throttle: new AuthThrottle(proxyAuth.throttle, limits, previous?.throttle),
    },
  };
}

/** Binds the listener; rejects with MetricsServerError when the port cannot be bound or the TLS files are unusable. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { config, metrics } = options;
  const tls = config.tls === undefined ? undefined : loadTls(config.tls, metrics);
  let current = settings(config, options.proxyAuth, options.authLimits, undefined);
  const watch = new EventLoopWatch();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    route(options, current, watch, req, res).catch((err: unknown) => {
      options.logger.error({ event: 'error', eventId: 400, err }, 'metrics listener: unexpected error');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'Internal Server Error\n');
      else res.destroy();
    });
  };
  const server: Server = tls === undefined ? createHttpServer(handler) : createHttpsServer(tls, handler);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  const { host, port } = config.listen;
  const name = isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, ipv6Only: isIPv6(host) }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    watch.close();
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new MetricsServerError('METRICS_LISTEN', `cannot listen for metrics on ${name} (${code}); set metrics.listen or --metrics-listen, or metrics.enabled: false`, { cause: err });
  }
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound !== null ? bound.port : port;
  const url = `${tls === undefined ? 'http' : 'https'}://${localHost(host)}:${boundPort}`;
  audit(options.logger, 'info', 'metrics-listening', {
    address: host,
    port: boundPort,
    url,
    path: config.path,
    tls: tls !== undefined,
    auth: current.auth === undefined ? 'none' : 'basic',
  });
  return {
    url,
    port: boundPort,
    apply: (next, proxyAuth) => {
      current = settings(next, proxyAuth, options.authLimits, current.auth);
    },
    close: () =>
      new Promise<void>((resolve) => {
        watch.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface ScrapeAuth {
  readonly authenticator: Authenticator;
  readonly throttle: AuthThrottle;
}

/** Seconds a scraper held back by the throttle should wait, as the proxy's answers say (proxy/errors.ts). */
const RETRY_AFTER_SECONDS = { 'locked-out': 60, 'too-many-attempts': 5, busy: 5 } as const;

async function route(
  options: MetricsServerOptions,
  { config, auth }: Settings,
  watch: EventLoopWatch,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const known = path === config.path || path === HEALTH_PATH || path === READY_PATH;
  if (!known) return send(res, 404, 'text/plain; charset=utf-8', 'Not Found\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n');
  }
  if (path === HEALTH_PATH) return sendHealth(res, liveness(watch, config.maxEventLoopDelaySeconds, config.stallReportSeconds));
  if (path === READY_PATH) return sendHealth(res, readiness(options.gateway, options.upstream?.()));
  if (auth !== undefined) {
    const header = req.headers.authorization;
    const result = await auth.throttle.authenticate(auth.authenticator, header, req.socket.remoteAddress ?? '');
    if (!result.ok) return refuseScrape(options, req, res, result, header === undefined ? undefined : claimedUser(header));
  }
  send(res, 200, options.metrics.contentType, await options.metrics.expose());
}

/** 401 with the challenge; 429 or 503 with Retry-After when the throttle held the check back. Audited and counted. */
function refuseScrape(
  options: MetricsServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
  result: Extract<ThrottledResult, { ok: false }>,
  user: string | undefined,
): void {
  const { reason, lockouts } = result;
  const held = reason === 'locked-out' || reason === 'too-many-attempts' || reason === 'busy' ? reason : undefined;
  const status = held === undefined ? 401 : held === 'busy' ? 503 : 429;
  const fields = { listener: 'metrics', client: req.socket.remoteAddress, user: user === undefined ? undefined : clientText(user) };
  audit(options.logger, 'warn', 'auth-failed', Object.assign({}, fields, { reason, status }));
  options.metrics.scrapeAuthFailed(reason);
  for (const lockout of lockouts) {
    const who = lockout.scope === 'user' ? { user: clientText(lockout.key) } : { clientKey: lockout.key };
    audit(options.logger, 'warn', 'auth-lockout', Object.assign({}, fields, { scope: lockout.scope }, who, { failures: lockout.failures, lockoutSeconds: lockout.seconds }));
    options.metrics.authLockout();
  }
  if (held === undefined) {
    res.setHeader('WWW-Authenticate', proxyAuthenticateHeader(REALM));
    return send(res, 401, 'text/plain; charset=utf-8', 'Unauthorized\n');
  }
  res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS[held]));
  send(res, status, 'text/plain; charset=utf-8', status === 429 ? 'Too Many Requests\n' : 'Service Unavailable\n');
}

function sendHealth(res: ServerResponse, answer: HealthAnswer): void {
  res.setHeader('Cache-Control', 'no-store');
  send(res, answer.status, 'application/json', `${JSON.stringify(answer.body)}\n`);
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Reads the pair once at start: a missing, unreadable or mismatched pair stops the start with the file named. */
function loadTls(files: NonNullable<MetricsConfig['tls']>, metrics: GatewayMetrics): SecureContextOptions {
  const read = (key: 'cert' | 'key'): string => {
    try {
      return readFileSync(files[key], 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new MetricsServerError('METRICS_TLS', `cannot read metrics.tls.${key} ${files[key]} (${code})`, { cause: err });
    }
  };
  const pair = { cert: read('cert'), key: read('key'), minVersion: 'TLSv1.2' as const };
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pair.cert);
    // OpenSSL accepts some mismatched pairs when the context is built; the handshake would fail later.
    if (!certificate.checkPrivateKey(createPrivateKey(pair.key))) throw new Error('the key does not belong to the certificate');
    createSecureContext(pair);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new MetricsServerError('METRICS_TLS', `metrics.tls: the certificate ${files.cert} and key ${files.key} are not a usable pair (${reason})`, { cause: err });
  }
  metrics.certificateExpiry(`metrics:${files.cert}`, new Date(certificate.validTo));
  return pair;
}

function localHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIPv6(host) ? `[${host}]` : host;
}
