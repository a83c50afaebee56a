// client → gateway (CONNECT host:port) → target: admit, route, dial, answer 200, relay bytes.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { audit } from '../observability/logger.js';
import { parseAuthority } from '../policy/target.js';
import { admit } from './admit.js';
import { auditEarlyRefusal, auditRefusal, auditUpstreamError, baseFields, targetString } from './audit-records.js';
import { getContext } from './context.js';
import type { HandlerDeps } from './deps.js';
import { ProxyError } from './errors.js';
import { relay } from './relay.js';
import { refuseSocket } from './respond.js';
import { dial, findRoute } from './upstream.js';

const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n';

export function createConnectHandler(deps: HandlerDeps) {
  return (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    // Hold the client's bytes (optimistic TLS) until the tunnel exists; pipe() resumes.
    socket.pause();
    socket.on('error', () => socket.destroy());
    openTunnel(deps, req, socket, head).catch((err: unknown) => {
      deps.logger.error({ event: 'error', eventId: 400, err }, 'unexpected error in CONNECT handler');
      socket.destroy();
    });
  };
}

async function openTunnel(deps: HandlerDeps, req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
  const ctx = getContext(socket);
  const { logger } = deps;
  if (deps.isDraining()) {
    auditEarlyRefusal(logger, ctx, 'CONNECT', 'shutting-down');
    refuseSocket(socket, 'shutting-down');
    return;
  }
  if (hasBody(req)) {
    auditEarlyRefusal(logger, ctx, 'CONNECT', 'body-on-connect');
    refuseSocket(socket, 'body-on-connect');
    return;
  }

  const runtime = deps.runtime();
  const admission = await admit(runtime, req, ctx.client, () => parseAuthority(req.url ?? ''));
  if (!admission.ok) {
    auditRefusal(logger, ctx, 'CONNECT', admission);
    refuseSocket(socket, admission.code, runtime.proxyAuthenticate);
    return;
  }
  const { target, user, entry } = admission;
  const fields = { ...baseFields(ctx, 'CONNECT'), user, target: targetString(target), entry };

  let upstream: Socket;
  try {
    const found = await findRoute(runtime, target, entry);
    if (!found.ok) {
      auditRefusal(logger, ctx, 'CONNECT', { ok: false, code: 'denied', decision: found.decision, target, user });
      refuseSocket(socket, 'denied');
      return;
    }
    audit(logger, 'info', 'request-allowed', { ...fields, decision: 'allow', mapped: found.route.mapped });
    upstream = await dial(found.route, runtime.config.timeouts.connectSeconds * 1000);
  } catch (err) {
    const code = err instanceof ProxyError ? err.code : 'network-error';
    auditUpstreamError(logger, ctx, 'CONNECT', user, target, code);
    refuseSocket(socket, code);
    return;
  }
  if (socket.destroyed) {
    upstream.destroy();
    return;
  }

  socket.write(ESTABLISHED);
  const tunnel = relay(socket, upstream, head, {
    keepAliveMs: runtime.config.timeouts.keepAliveSeconds * 1000,
    onClose: (stats) => {
      deps.tunnels.delete(tunnel);
      audit(logger, 'info', 'tunnel-closed', { ...fields, ...stats });
    },
  });
  deps.tunnels.add(tunnel);
}

/** A CONNECT request has no body (RFC 9110 §9.3.6); any framing header is a smuggling attempt. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
