// client → gateway (GET http://host/path) → target: refuse what the head alone rules out, admit, route,
// dial, then send the request over the socket that was dialled (exchange.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { audit } from '../observability/logger.js';
import { formatAuthority, parseAbsoluteUrl, parseAuthority } from '../policy/target.js';
import type { Target } from '../policy/types.js';
import { admit } from './admit.js';
import { auditEarlyRefusal } from './audit-records.js';
import { getContext } from './context.js';
import type { HandlerDeps } from './deps.js';
import type { ProxyErrorCode } from './errors.js';
import { exchange } from './exchange.js';
import { forwardRefusal, plainHttpToTlsPort } from './forward-rules.js';
import { reachTarget, recordRefusal, sessionFields, type Session } from './reach.js';
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
  const ctx = getContext(req.socket);
  const { logger } = deps;
  const refuseEarly = (code: ProxyErrorCode): void => {
    auditEarlyRefusal(logger, ctx, req.method, code);
    deps.metrics.refused('request', code);
    refuseResponse(res, code);
  };
  const url = req.url ?? '';
  const early = deps.isDraining() ? 'shutting-down' : forwardRefusal(req);
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
  if (plainHttpToTlsPort(target)) return refuseEarly('plain-http-to-tls-port');
  const fields = sessionFields(session, admission);

  const reached = await reachTarget(deps, runtime, session, admission, fields);
  if (!reached.ok) {
    refuseResponse(res, reached.code);
    return;
  }
  const socket = reached.upstream;
  // A tunnel through the relay comes back paused (parent.ts); Node's HTTP client only reads a flowing socket.
  socket.resume();

  const startedAt = performance.now();
  const meter = deps.metrics.requestForwarded({ entry, host: target.host }, socket);
  const completed = (): void => {
    deps.metrics.requestCompleted(meter);
    audit(logger, 'info', 'request-completed', {
      ...fields,
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
  exchange(req, res, socket, { host: formatAuthority(target, 80), path }, () => {
    deps.metrics.upstreamError('upstream-error');
    refuseResponse(res, 'upstream-error');
  });
}

/** RFC 9112 §3.2.2: the absolute URI wins; a Host that names something else is refused, not ignored. */
function hostHeaderMatches(req: IncomingMessage, target: Target): boolean {
  const host = req.headers.host;
  if (host === undefined) return true;
  const parsed = parseAuthority(host, 80);
  return parsed.ok && parsed.target.host === target.host && parsed.target.port === target.port;
}

