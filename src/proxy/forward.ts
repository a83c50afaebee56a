// client → gateway (GET http://host/path) → target: refuse what the head alone rules out, admit, route,
// dial (exchange.ts), then send the request over the socket that was dialled (origin-request.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatAuthority, parseAbsoluteUrl, parseAuthority } from '../policy/target.js';
import type { Target } from '../policy/types.js';
import { admit } from './admit.js';
import { getContext } from './context.js';
import type { HandlerDeps } from './deps.js';
import { Exchange } from './exchange.js';
import { forwardRefusal, plainHttpToTlsPort } from './forward-rules.js';
import { sendToOrigin } from './origin-request.js';
import { headRefusal } from './request-head.js';
import { refuseResponse } from './respond.js';

export function createForwarder(deps: HandlerDeps) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    forward(deps, req, res).catch((err: unknown) => {
      deps.logger.error({ event: 'error', eventId: 400, err }, 'unexpected error in forwarder');
      deps.metrics.internalError();
      res.destroy();
    });
  };
}

async function forward(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const runtime = deps.runtime();
  const exchange = new Exchange(deps, 'request', getContext(req.socket), req.method, (code, proxyAuthenticate) => refuseResponse(res, code, proxyAuthenticate));
  const url = req.url ?? '';
  const early = headRefusal(req, runtime.config.limits) ?? (deps.isDraining() ? 'shutting-down' : forwardRefusal(req));
  if (early !== undefined) return exchange.refuseEarly(early);

  let path = '/';
  const admission = await admit(runtime, req, exchange.ctx.client, () => {
    const parsed = parseAbsoluteUrl(url);
    if (!parsed.ok) return parsed;
    path = parsed.path;
    return { ok: true, target: parsed.target };
  });
  if (!admission.ok) return exchange.refuse(admission, runtime.proxyAuthenticate);
  const { target } = admission;
  if (!hostHeaderMatches(req, target)) return exchange.refuseEarly('host-mismatch');
  if (plainHttpToTlsPort(target)) return exchange.refuseEarly('plain-http-to-tls-port');
  exchange.admit(admission);

  const socket = await exchange.reach(runtime);
  if (socket === undefined) return;
  // A tunnel through the relay comes back paused (parent.ts); Node's HTTP client only reads a flowing socket.
  socket.resume();

  const startedAt = performance.now();
  exchange.opened(socket);
  const completed = (): void => {
    exchange.close({
      // No status when none was written: the client left before the target answered.
      status: res.headersSent ? res.statusCode : undefined,
      bytesFromClient: socket.bytesWritten,
      bytesToClient: socket.bytesRead,
      durationMs: Math.round(performance.now() - startedAt),
    });
    socket.destroy();
  };
  // The client may have left while the target was dialled: the request is recorded as ended, unsent.
  if (res.destroyed) return completed();
  res.once('close', completed);
  sendToOrigin(req, res, socket, { host: formatAuthority(target, 80), path }, () => exchange.failedUpstream());
}

/** RFC 9112 §3.2.2: the absolute URI wins; a Host that names something else is refused, not ignored. */
function hostHeaderMatches(req: IncomingMessage, target: Target): boolean {
  const host = req.headers.host;
  if (host === undefined) return true;
  const parsed = parseAuthority(host, 80);
  return parsed.ok && parsed.target.host === target.host && parsed.target.port === target.port;
}

