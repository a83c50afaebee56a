// proxy client → listener (TLS or plain, on one port) → the shared HTTP parser. The Linux agent's daemon
// speaks plain HTTP CONNECT to an `https://` proxy value while its onboarding curl speaks TLS to the same
// value, so a TLS listener serves both, told apart by the first byte of the connection: a TLS handshake
// record starts with 0x16, which no HTTP request line does. TLS clients are decrypted by the listener's
// endpoint (tls/endpoint.ts), their client certificate judged here, and handed on like plain ones.

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ListenerTlsConfig } from '../tls/config-types.js';
import { audit } from '../observability/logger.js';
import { checkClientCertificate, handshakeFailure, openTlsEndpoint } from '../tls/endpoint.js';
import type { ConnectionSecurity } from '../tls/security.js';
import { getContext, setContext, type ConnectionContext } from './context.js';
import { PROXY_ERRORS, type ProxyErrorCode } from './errors.js';
import { shielded } from './guard.js';
import type { ListenerServices } from './listener.js';
import { refuseSocket } from './respond.js';

export interface TlsAcceptor {
  /** Takes a connection the listener accepted and admitted. */
  accept(socket: Socket): void;
  /**
   * Answers a connection the limits refused (already recorded and counted) in the protocol its client
   * speaks: a TLS client after its handshake, so that it reads the 503 or 429 rather than plaintext its
   * TLS stack cannot parse ("wrong version number"); a plain client at once.
   */
  refuse(socket: Socket, code: ProxyErrorCode): void;
  /** Stops watching the certificate files; open connections are not touched. */
  close(): void;
}

const TLS_HANDSHAKE = 0x16;

/** How long a TLS client the limits refused has for its hello, handshake and the answer, together. */
const REFUSED_TLS_MS = 5000;

/** The TCP four-tuple: the same for a raw socket and the TLS socket made from it while both are open. */
function tupleOf(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress}|${socket.localPort}`;
}

/** The first byte the client sends, left unread in the socket; undefined when it closes or stays silent. */
function firstByte(socket: Socket, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const done = (value: number | undefined): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable).off('end', onGone).off('close', onGone).off('error', onGone);
      resolve(value);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null = null;
      try {
        chunk = socket.read(1) as Buffer | null;
        if (chunk !== null) socket.unshift(chunk);
      } catch {
        // Only a stream that already ended can refuse the byte back: the connection is over.
        done(undefined);
        return;
      }
      if (chunk !== null) done(chunk[0]);
    };
    const onGone = (): void => done(undefined);
    const timer = setTimeout(onGone, timeoutMs);
    socket.on('readable', onReadable).once('end', onGone).once('close', onGone).once('error', onGone);
  });
}

function contextFields(ctx: ConnectionContext): Record<string, unknown> {
  return { client: ctx.client, clientPort: ctx.clientPort, listener: ctx.listener };
}

/** Loads the listener's certificate and key (throws TlsMaterialError) and returns the acceptor of its connections. */
export function tlsAcceptor(config: ListenerTlsConfig, services: ListenerServices): TlsAcceptor {
  const { http, logger, metrics } = services;
  const endpoint = openTlsEndpoint(config, logger, metrics, services.handshakeTimeoutMs());
  /** Contexts of raw sockets in their handshake, by four-tuple: the TLS socket made from one is another object. */
  const handshaking = new Map<string, ConnectionContext>();
  /** Refusals waiting for their connection's handshake, by four-tuple. */
  const refusing = new Map<string, ProxyErrorCode>();
  /** The refusal waiting for `socket`'s handshake, if it is one of those. */
  const takeRefusal = (socket: TLSSocket): ProxyErrorCode | undefined => {
    const key = tupleOf(socket);
    const code = refusing.get(key);
    refusing.delete(key);
    return code;
  };
  const takeContext = (socket: TLSSocket): ConnectionContext => {
    const key = tupleOf(socket);
    const ctx = handshaking.get(key) ?? getContext(socket);
    handshaking.delete(key);
    return ctx;
  };

  endpoint.server.on('secureConnection', shielded(services, 'tls-handshake', ([socket]) => socket, (socket: TLSSocket) => {
    const refusal = takeRefusal(socket);
    if (refusal !== undefined) {
      refuseSocket(socket, refusal);
      return;
    }
    const ctx = takeContext(socket);
    let certificate: ConnectionSecurity['certificate'];
    const { clientAuth } = endpoint;
    if (clientAuth !== undefined) {
      const checked = checkClientCertificate(socket, clientAuth);
      if (!checked.ok) {
        audit(
          logger,
          'warn',
          'auth-failed',
          Object.assign(contextFields(ctx), {
            decision: 'deny',
            reason: checked.reason,
            clientCertificate: checked.subject,
            verifyError: checked.verifyError,
          }),
        );
        socket.destroy();
        return;
      }
      certificate = checked.subject === undefined ? undefined : { subject: checked.subject, mode: clientAuth.mode };
    }
    const security: ConnectionSecurity = { encrypted: true, refusePlainCredentials: false, certificate };
    setContext(socket, Object.assign({}, ctx, { security }));
    http.emit('connection', socket);
  }));

  endpoint.server.on('tlsClientError', shielded(services, 'tls-client-error', ([, socket]) => socket, (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    // A refused connection's refusal is on record already; its failed handshake adds nothing.
    if (takeRefusal(socket) !== undefined) {
      socket.destroy();
      return;
    }
    const ctx = takeContext(socket);
    const reason = handshakeFailure(err);
    // Probes and clients that give up are routine; a failure the operator can fix is a warning.
    const level = reason === 'closed' || reason === 'timeout' ? 'debug' : 'warn';
    audit(logger, level, 'tls-handshake-failed', Object.assign(contextFields(ctx), { reason, code: err.code }));
    socket.destroy();
  }));

  const plain: ConnectionSecurity = { encrypted: false, refusePlainCredentials: config.plainBasicAuth === 'refuse', certificate: undefined };

  const accept = async (socket: Socket): Promise<void> => {
    const ctx = getContext(socket);
    const first = await firstByte(socket, services.handshakeTimeoutMs());
    if (first === undefined) {
      socket.destroy();
      return;
    }
    if (first === TLS_HANDSHAKE) {
      const key = tupleOf(socket);
      handshaking.set(key, ctx);
      socket.once('close', () => handshaking.delete(key)).on('error', () => socket.destroy());
      endpoint.server.emit('connection', socket);
      return;
    }
    if (config.requireTls) {
      audit(logger, 'warn', 'bad-request', Object.assign(contextFields(ctx), { decision: 'deny', reason: 'tls-required', status: PROXY_ERRORS['tls-required'].status }));
      metrics.refused('request', 'tls-required');
      refuseSocket(socket, 'tls-required');
      return;
    }
    setContext(socket, Object.assign({}, ctx, { security: plain }));
    http.emit('connection', socket);
  };

  const refuse = async (socket: Socket, code: ProxyErrorCode): Promise<void> => {
    // A refused connection is not counted against the limits, so it may not stay for a handshake timeout:
    // a flood past the limit would hold that many descriptors. A real client's hello and handshake take
    // milliseconds; whatever has not been answered by then is closed.
    const cut = setTimeout(() => socket.destroy(), REFUSED_TLS_MS);
    cut.unref();
    socket.once('close', () => clearTimeout(cut));
    const first = await firstByte(socket, REFUSED_TLS_MS);
    if (first === undefined) {
      socket.destroy();
      return;
    }
    if (first !== TLS_HANDSHAKE) {
      refuseSocket(socket, code);
      return;
    }
    const key = tupleOf(socket);
    refusing.set(key, code);
    socket.once('close', () => refusing.delete(key)).on('error', () => socket.destroy());
    endpoint.server.emit('connection', socket);
  };

  return {
    accept: shielded(services, 'tls-sniff', ([socket]) => socket, accept),
    refuse: shielded(services, 'tls-sniff', ([socket]) => socket, refuse),
    close: () => endpoint.close(),
  };
}
