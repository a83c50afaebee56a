// client → gateway (GET http://host/path) → target: admit, route, dial, then http-proxy forwards the
// request over the socket that was dialled, with hop-by-hop headers and credentials removed.
import { Agent, type ClientRequestArgs, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import { audit } from '../observability/logger.js';
import { parseAbsoluteUrl, parseAuthority } from '../policy/target.js';
import type { Target } from '../policy/types.js';
import { admit } from './admit.js';
import { auditEarlyRefusal } from './audit-records.js';
import { getContext } from './context.js';
import type { HandlerDeps } from './deps.js';
import type { ProxyErrorCode } from './errors.js';
import { reachTarget, recordRefusal, sessionFields, type Session } from './reach.js';
import { refuseResponse } from './respond.js';

/** RFC 9110 §7.6.1 hop-by-hop fields, plus the proxy's own credentials and the legacy Proxy-Connection. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade'];

/** Hands http-proxy the socket the gateway already dialled to a checked address; no second DNS lookup. */
class DialledSocketAgent extends Agent {
  constructor(private readonly socket: Socket) {
    super({ keepAlive: false });
  }

  override createConnection(_options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex {
    callback?.(null, this.socket);
    return this.socket;
  }
}

export function createForwarder(deps: HandlerDeps) {
  const proxy = httpProxy.createProxyServer({ xfwd: false, prependPath: false, changeOrigin: false, ws: false });
  proxy.on('error', (_err, _req, res) => {
    deps.metrics.upstreamError('upstream-error');
    if ('writeHead' in res) refuseResponse(res, 'upstream-error');
    else res.destroy();
  });
  proxy.on('proxyRes', (proxyRes) => stripHopByHop(proxyRes.headers));

  return (req: IncomingMessage, res: ServerResponse): void => {
    forward(deps, proxy, req, res).catch((err: unknown) => {
      deps.logger.error({ event: 'error', eventId: 400, err }, 'unexpected error in forwarder');
      deps.metrics.internalError();
      res.destroy();
    });
  };
}

async function forward(deps: HandlerDeps, proxy: httpProxy, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ctx = getContext(req.socket);
  const { logger } = deps;
  const refuseEarly = (code: ProxyErrorCode): void => {
    auditEarlyRefusal(logger, ctx, req.method, code);
    deps.metrics.refused('request', code);
    refuseResponse(res, code);
  };
  const url = req.url ?? '';
  const early = earlyRefusal(deps, req, url);
  if (early !== undefined) return refuseEarly(early);

  const runtime = deps.runtime();
  const session: Session = { ctx, kind: 'request', method: req.method };
  let path = '/';
  const admission = await admit(runtime, req, ctx.client, () => {
    const parsed = parseAbsoluteUrl(url);
    if (!parsed.ok) return parsed;
    path = parsed.path;
    return { ok: true, target: parsed.target };
  });
  if (!admission.ok) {
    recordRefusal(deps, session, admission);
    refuseResponse(res, admission.code, runtime.proxyAuthenticate);
    return;
  }
  const { target, entry } = admission;
  if (!hostHeaderMatches(req, target)) return refuseEarly('host-mismatch');
  const fields = sessionFields(session, admission);

  const reached = await reachTarget(deps, runtime, session, admission, fields);
  if (!reached.ok) {
    refuseResponse(res, reached.code, undefined, reached.detail);
    return;
  }
  const socket = reached.upstream;
  // A tunnel through the relay comes back paused (parent.ts); Node's HTTP client only reads a flowing socket.
  socket.resume();

  const startedAt = performance.now();
  const meter = deps.metrics.requestForwarded({ entry, host: target.host }, socket);
  res.once('close', () => {
    deps.metrics.requestCompleted(meter);
    audit(logger, 'info', 'request-completed', {
      ...fields,
      status: res.statusCode,
      bytesFromClient: socket.bytesWritten,
      bytesToClient: socket.bytesRead,
      durationMs: Math.round(performance.now() - startedAt),
    });
    socket.destroy();
  });
  stripHopByHop(req.headers);
  req.headers.host = authority(target);
  req.url = path;
  proxy.web(req, res, { target: `http://${authority(target)}`, agent: new DialledSocketAgent(socket) });
}

function earlyRefusal(deps: HandlerDeps, req: IncomingMessage, url: string): ProxyErrorCode | undefined {
  if (deps.isDraining()) return 'shutting-down';
  if (url.startsWith('/') || url === '*') return 'not-a-proxy-request';
  if (/^https:\/\//i.test(url)) return 'https-not-via-connect';
  // http-proxy (node-http-proxy#1721) rewrites DELETE/OPTIONS without Content-Length to
  // `Content-Length: 0` and drops Transfer-Encoding while still piping the body: a smuggled request.
  const method = req.method ?? '';
  if ((method === 'DELETE' || method === 'OPTIONS') && req.headers['transfer-encoding'] !== undefined) return 'unsafe-framing';
  return undefined;
}

/** RFC 9112 §3.2.2: the absolute URI wins; a Host that names something else is refused, not ignored. */
function hostHeaderMatches(req: IncomingMessage, target: Target): boolean {
  const host = req.headers.host;
  if (host === undefined) return true;
  const parsed = parseAuthority(host, 80);
  return parsed.ok && parsed.target.host === target.host && parsed.target.port === target.port;
}

function authority(target: Target): string {
  const host = target.kind === 'ipv6' ? `[${target.host}]` : target.host;
  return target.port === 80 ? host : `${host}:${target.port}`;
}

/**
 * Removes hop-by-hop fields. Transfer-Encoding stays: Node decoded the body, and the header tells
 * http.request to re-chunk it rather than send it unframed (the cousin of the http-proxy flaw above).
 */
function stripHopByHop(headers: IncomingMessage['headers']): void {
  const named = String(headers.connection ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  for (const name of [...HOP_BY_HOP, ...named]) {
    if (name !== 'transfer-encoding') delete headers[name];
  }
}
