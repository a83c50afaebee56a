// client → gateway (CONNECT host:port) → target: admit, route, dial, answer 200, inspect, relay bytes.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { audit } from '../observability/logger.js';
import { parseAuthority } from '../policy/target.js';
import { admit } from './admit.js';
import { auditEarlyRefusal } from './audit-records.js';
import { getContext } from './context.js';
import type { HandlerDeps } from './deps.js';
import type { ProxyErrorCode } from './errors.js';
import { reachTarget, recordRefusal, sessionFields, type Admitted, type Session } from './reach.js';
import { relay } from './relay.js';
import { AdmittedTunnel, type RevokeReason } from './revoke.js';
import type { Runtime } from './runtime.js';
import { checkTunnel } from '../tls/tunnel.js';
import { refuseSocket } from './respond.js';

const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n';

export function createConnectHandler(deps: HandlerDeps) {
  return (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    // Hold the client's bytes (optimistic TLS) until the tunnel exists; pipe() resumes.
    socket.pause();
    socket.on('error', () => socket.destroy());
    openTunnel(deps, req, socket, head).catch((err: unknown) => {
      deps.logger.error({ event: 'error', eventId: 400, err }, 'unexpected error in CONNECT handler');
      deps.metrics.internalError();
      socket.destroy();
    });
  };
}

async function openTunnel(deps: HandlerDeps, req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
  const ctx = getContext(socket);
  const { logger } = deps;
  if (deps.isDraining()) {
    auditEarlyRefusal(logger, ctx, 'CONNECT', 'shutting-down');
    deps.metrics.refused('tunnel', 'shutting-down');
    refuseSocket(socket, 'shutting-down');
    return;
  }
  if (hasBody(req)) {
    auditEarlyRefusal(logger, ctx, 'CONNECT', 'body-on-connect');
    deps.metrics.refused('tunnel', 'body-on-connect');
    refuseSocket(socket, 'body-on-connect');
    return;
  }

  const runtime = deps.runtime();
  // The closure takes the authority, not `req`: closures of this function share one context, and the
  // tunnel's onClose keeps that context for the tunnel's life (the CONNECT request and its headers with it).
  const authority = req.url ?? '';
  const session: Session = { ctx, kind: 'tunnel', method: 'CONNECT' };
  const admission = await admit(runtime, req, ctx.client, () => parseAuthority(authority));
  if (!admission.ok) {
    recordRefusal(deps, session, admission);
    refuseSocket(socket, admission.code, runtime.proxyAuthenticate);
    return;
  }
  const { target, user } = admission;
  const fields = sessionFields(session, admission);
  if (!deps.limiter.admitTunnel(socket, user, fields)) return;
  // Registered from admission, so a reload can revoke it at any stage (revoke.ts).
  const tracked = new AdmittedTunnel({ target, user, client: ctx.client }, socket, runtime);
  deps.tunnels.add(tracked);
  try {
    await establish(deps, runtime, { session, admission, fields, tracked, socket, head });
  } finally {
    // Once relaying, the relay's onClose takes it out of the registry.
    if (!tracked.relaying) deps.tunnels.delete(tracked);
  }
}

interface Exchange {
  readonly session: Session;
  readonly admission: Admitted;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly tracked: AdmittedTunnel;
  readonly socket: Socket;
  readonly head: Buffer;
}

/** Dial, answer 200, inspect and relay an admitted exchange; each step ends it if a reload revoked it meanwhile. */
async function establish(deps: HandlerDeps, runtime: Runtime, exchange: Exchange): Promise<void> {
  const { logger } = deps;
  const { session, admission, fields, tracked, socket, head } = exchange;
  const { target, entry } = admission;
  const before = tracked.revocation(deps.runtime());
  if (before !== undefined) {
    refuseRevoked(deps, socket, before, fields);
    return;
  }
  const reached = await reachTarget(deps, runtime, session, admission, fields);
  if (!reached.ok) {
    refuseSocket(socket, reached.code);
    return;
  }
  const { upstream } = reached;
  tracked.dialled(upstream);
  if (socket.destroyed) {
    // The client gave up while the target was being dialled: the tunnel ends before it began.
    audit(logger, 'info', 'tunnel-closed', { ...fields, bytesFromClient: 0, bytesToClient: 0, durationMs: 0, closedBy: 'client' });
    deps.metrics.tunnelAbandoned('client-closed');
    upstream.destroy();
    return;
  }
  const dialled = tracked.revocation(deps.runtime());
  if (dialled !== undefined) {
    upstream.destroy();
    refuseRevoked(deps, socket, dialled, fields);
    return;
  }

  socket.write(ESTABLISHED);
  const establishedAt = performance.now();
  // Inspection waits on the client (its ClientHello) for up to inspection.timeoutSeconds: a reload may have
  // revoked the tunnel meanwhile, and nothing may be passed on for it then — asked again before the first byte goes.
  const checked = await checkTunnel(logger, runtime.inspection, { client: socket, upstream, head }, target.host, fields, () => tracked.revocation(deps.runtime()) === undefined);
  if (checked.outcome === 'refused') deps.metrics.refused('tunnel', checked.reason);
  if (checked.outcome === 'closed') deps.metrics.tunnelAbandoned('closed-during-handshake');
  if (checked.outcome !== 'relay' && checked.outcome !== 'held-back') return;
  const inspected = tracked.revocation(deps.runtime());
  // 'held-back' comes only from a revocation, which revocation() keeps: both name the same one.
  if (inspected !== undefined || checked.outcome === 'held-back') {
    socket.destroy();
    upstream.destroy();
    if (inspected !== undefined) countRevoked(deps, inspected, fields, 'handshake');
    audit(logger, 'info', 'tunnel-closed', {
      ...fields,
      bytesFromClient: upstream.bytesWritten,
      bytesToClient: upstream.bytesRead,
      durationMs: Math.round(performance.now() - establishedAt),
      closedBy: 'gateway',
    });
    return;
  }
  const meter = deps.metrics.tunnelOpened({ entry, host: target.host }, upstream);
  const tunnel = relay(socket, upstream, checked.head, {
    keepAliveMs: runtime.config.timeouts.keepAliveSeconds * 1000,
    idleTimeoutMs: runtime.config.timeouts.tunnelIdleSeconds * 1000,
    halfClosedTimeoutMs: runtime.config.timeouts.tunnelHalfClosedSeconds * 1000,
    maxLifetimeMs: runtime.config.timeouts.tunnelMaxSeconds * 1000,
    timers: deps.timers,
    onClose: (stats) => {
      deps.tunnels.delete(tracked);
      audit(logger, 'info', 'tunnel-closed', { ...fields, ...stats });
      deps.metrics.tunnelClosed(meter, stats);
    },
  });
  tracked.relayed(tunnel);
}

/** Logs and counts a revocation that ends an exchange during its set-up. */
function countRevoked(deps: HandlerDeps, reason: RevokeReason, fields: Readonly<Record<string, unknown>>, stage: 'connecting' | 'handshake'): ProxyErrorCode {
  audit(deps.logger, 'info', 'tunnel-revoked', { ...fields, reason, stage });
  if (reason === 'user-removed' || reason === 'credentials-required') {
    deps.metrics.refused('tunnel', 'auth-required');
    return 'auth-required';
  }
  deps.metrics.refused('tunnel', { code: 'denied', decision: { reason } });
  return 'denied';
}

/** Before the 200, a revoked exchange is answered as a new request would be: 403, or 407 for its credentials. */
function refuseRevoked(deps: HandlerDeps, socket: Socket, reason: RevokeReason, fields: Readonly<Record<string, unknown>>): void {
  const code = countRevoked(deps, reason, fields, 'connecting');
  refuseSocket(socket, code, code === 'auth-required' ? deps.runtime().proxyAuthenticate : undefined);
}

/** A CONNECT request has no body (RFC 9110 §9.3.6); any framing header is a smuggling attempt. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
