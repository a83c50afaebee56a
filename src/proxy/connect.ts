// client → gateway (CONNECT host:port) → target: admit, route, dial, answer 200, inspect, relay bytes.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { parseAuthority } from '../policy/target.js';
import { admit } from './admit.js';
import { getContext } from './context.js';
import type { HandlerDeps } from './deps.js';
import { Exchange } from './exchange.js';
import type { RelayStats } from '../observability/outcomes.js';
import { relay } from './relay.js';
import { headRefusal } from './request-head.js';
import { AdmittedTunnel, type RevokeReason } from './revoke.js';
import type { Runtime } from './runtime.js';
import { checkTunnel } from '../tls/tunnel.js';
import { refuseSocket } from './respond.js';

const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n';

export function createConnectHandler(deps: HandlerDeps) {
  return (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    // Hold the client's bytes (optimistic TLS) until the tunnel exists; pipe() resumes.
    // Errors are already handled: handOverInTurn (pipeline.ts) gave the socket a shared 'error' listener.
    socket.pause();
    openTunnel(deps, req, socket, head).catch((err: unknown) => {
      deps.logger.error({ event: 'error', eventId: 400, err }, 'unexpected error in CONNECT handler');
      deps.metrics.internalError();
      socket.destroy();
    });
  };
}

async function openTunnel(deps: HandlerDeps, req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
  const exchange = new Exchange(deps, 'tunnel', getContext(socket), 'CONNECT', (code, proxyAuthenticate) => refuseSocket(socket, code, proxyAuthenticate));
  const runtime = deps.runtime();
  const early = headRefusal(req, runtime.config.limits) ?? (deps.isDraining() ? 'shutting-down' : hasBody(req) ? 'body-on-connect' : undefined);
  if (early !== undefined) return exchange.refuseEarly(early);

  // The closure takes the authority, not `req`: closures of this function share one context, and the
  // exchange's answer keeps that context for the tunnel's life (the CONNECT request and its headers with it).
  const authority = req.url ?? '';
  const admission = await admit(runtime, req, exchange.ctx.client, () => parseAuthority(authority));
  if (!admission.ok) return exchange.refuse(admission, runtime.proxyAuthenticate);
  exchange.admit(admission);
  const overLimit = deps.limiter.holdTunnel(socket, admission.user);
  if (overLimit !== undefined) return exchange.refuseLimit(overLimit);
  // Registered from admission, so a reload can revoke it at any stage (revoke.ts).
  const tracked = new AdmittedTunnel({ target: admission.target, user: admission.user, client: exchange.ctx.client }, socket, runtime, exchange);
  deps.tunnels.add(tracked);
  try {
    await establish(deps, runtime, exchange, tracked, socket, head);
  } finally {
    // Once relaying, the relay's onClose takes it out of the registry.
    if (!tracked.relaying) deps.tunnels.delete(tracked);
  }
}

/** Dial, answer 200, inspect and relay an admitted exchange; each step ends it if a reload revoked it meanwhile. */
async function establish(deps: HandlerDeps, runtime: Runtime, exchange: Exchange, tracked: AdmittedTunnel, socket: Socket, head: Buffer): Promise<void> {
  const revocation = (): RevokeReason | undefined => tracked.revocation(deps.runtime());
  const revoked = (reason: RevokeReason, stage: 'connecting' | 'handshake'): void => exchange.revoked(reason, stage, deps.runtime().proxyAuthenticate);
  const before = revocation();
  if (before !== undefined) return revoked(before, 'connecting');
  const upstream = await exchange.reach(runtime);
  if (upstream === undefined) return;
  tracked.dialled(upstream);
  if (socket.destroyed) {
    // The client gave up while the target was being dialled: the tunnel ends before it began.
    deps.metrics.tunnelAbandoned('client-closed');
    exchange.close({ bytesFromClient: 0, bytesToClient: 0, durationMs: 0, closedBy: 'client' });
    upstream.destroy();
    return;
  }
  const dialled = revocation();
  if (dialled !== undefined) {
    upstream.destroy();
    return revoked(dialled, 'connecting');
  }

  socket.write(ESTABLISHED);
  const establishedAt = performance.now();
  // Inspection waits on the client (its ClientHello) for up to inspection.timeoutSeconds: a reload may have
  // revoked the tunnel meanwhile, and nothing may be passed on for it then — asked again before the first byte goes.
  const checked = await checkTunnel(runtime.inspection, { client: socket, upstream, head }, tracked.target.host, () => revocation() === undefined);
  exchange.inspected(checked);
  if (checked.outcome !== 'relay' && checked.outcome !== 'held-back') return;
  const inspected = revocation();
  // 'held-back' comes only from a revocation, which revocation() keeps: both name the same one.
  if (inspected !== undefined || checked.outcome === 'held-back') {
    socket.destroy();
    upstream.destroy();
    if (inspected !== undefined) revoked(inspected, 'handshake');
    exchange.close({
      bytesFromClient: upstream.bytesWritten,
      bytesToClient: upstream.bytesRead,
      durationMs: Math.round(performance.now() - establishedAt),
      closedBy: 'gateway',
    });
    return;
  }
  exchange.opened(upstream);
  const { timeouts } = runtime.config;
  const tunnel = relay(socket, upstream, checked.head, {
    keepAliveMs: timeouts.keepAliveSeconds * 1000,
    idleTimeoutMs: timeouts.tunnelIdleSeconds * 1000,
    halfClosedTimeoutMs: timeouts.tunnelHalfClosedSeconds * 1000,
    maxLifetimeMs: timeouts.tunnelMaxSeconds * 1000,
    timers: deps.timers,
    onClose: closing(deps.tunnels, tracked, exchange),
  });
  tracked.relayed(tunnel);
}

/**
 * The relay's end: out of the registry, and the exchange's close record. Made here rather than inline in
 * establish(), whose scope (its revocation check and what that holds) would otherwise live as long as the tunnel.
 */
function closing(tunnels: Set<AdmittedTunnel>, tracked: AdmittedTunnel, exchange: Exchange): (stats: RelayStats) => void {
  return (stats) => {
    tunnels.delete(tracked);
    exchange.close(stats);
  };
}

/** A CONNECT request has no body (RFC 9110 §9.3.6); any framing header is a smuggling attempt. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
