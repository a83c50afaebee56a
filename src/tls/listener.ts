// proxy client → listener (TLS or plain, on one port) → the shared HTTP parser. The Linux agent's daemon
// speaks plain HTTP CONNECT to an `https://` proxy value while its onboarding curl speaks TLS to the same
// value, so a TLS listener serves both, told apart by the first byte of the connection: a TLS handshake
// record starts with 0x16, which no HTTP request line does. TLS clients are decrypted here (this is the
// client's session with the proxy, never the agent's session inside a tunnel) and handed on like plain
// ones. The certificate and key are reloaded when their files change: new handshakes get the new pair,
// open connections keep theirs.

import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { ListenerTlsConfig } from './config-types.js';
import { audit, type Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { getContext, setContext, type ConnectionContext } from '../proxy/context.js';
import { shielded } from '../proxy/guard.js';
import { refuseSocket } from '../proxy/respond.js';
import { loadTlsMaterial, secureContextOptions, TlsMaterialError, type MaterialFiles, type TlsMaterial } from './material.js';
import { watchFiles } from './reload.js';
import type { ConnectionSecurity } from './security.js';
import { compileSubjects, findMatch, subjectOf, type SubjectPattern } from './subjects.js';

/** What TLS listeners need from the gateway that runs them; registered once per HTTP server. */
export interface TlsServices {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** Time a new connection has to send its first byte and to finish its TLS handshake. */
  readonly handshakeTimeoutMs: () => number;
}

export interface TlsAcceptor {
  /** Takes a connection the listener accepted and admitted. */
  accept(socket: Socket): void;
  /** Stops watching the files; open connections are not touched. */
  close(): void;
}

/** Why a TLS handshake with a proxy client failed: a closed set, used as the audit reason. */
export type HandshakeFailure = 'timeout' | 'closed' | 'protocol-version' | 'no-shared-cipher' | 'certificate-rejected' | 'protocol-error';

type ClientCertificateCheck =
  | { readonly ok: true; readonly subject: string | undefined }
  | { readonly ok: false; readonly reason: 'client-certificate-missing' | 'client-certificate-untrusted' | 'client-certificate-not-allowed'; readonly subject?: string; readonly verifyError?: string };

const TLS_HANDSHAKE = 0x16;
const servicesByServer = new WeakMap<HttpServer, TlsServices>();

export function attachTlsServices(http: HttpServer, services: TlsServices): void {
  servicesByServer.set(http, services);
}

export function handshakeFailure(err: NodeJS.ErrnoException): HandshakeFailure {
  const code = err.code ?? '';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'timeout';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'closed';
  if (code.includes('NO_SHARED_CIPHER')) return 'no-shared-cipher';
  if (code.includes('PROTOCOL_VERSION') || code.includes('UNSUPPORTED_PROTOCOL')) return 'protocol-version';
  if (code.includes('CERTIFICATE') || code.includes('UNKNOWN_CA') || code.includes('DECRYPT_ERROR')) return 'certificate-rejected';
  return 'protocol-error';
}

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

function checkClientCertificate(socket: TLSSocket, mode: 'alternative' | 'required', patterns: readonly SubjectPattern[]): ClientCertificateCheck {
  const peer = socket.getPeerX509Certificate();
  if (peer === undefined) return mode === 'required' ? { ok: false, reason: 'client-certificate-missing' } : { ok: true, subject: undefined };
  const subject = subjectOf(peer);
  if (!socket.authorized) {
    return { ok: false, reason: 'client-certificate-untrusted', subject: subject.text, verifyError: String(socket.authorizationError) };
  }
  if (patterns.length > 0 && findMatch(patterns, subject) === undefined) {
    return { ok: false, reason: 'client-certificate-not-allowed', subject: subject.text };
  }
  return { ok: true, subject: subject.text };
}

function contextFields(ctx: ConnectionContext): Record<string, unknown> {
  return { client: ctx.client, clientPort: ctx.clientPort, listener: ctx.listener };
}

/** Loads the listener's certificate and key (throws TlsMaterialError) and returns the acceptor of its connections. */
export function tlsAcceptor(config: ListenerTlsConfig, http: HttpServer): TlsAcceptor {
  const services = servicesByServer.get(http);
  if (services === undefined) throw new Error('attachTlsServices() must be called for the HTTP server before a TLS listener opens');
  const { logger, metrics } = services;
  const files: MaterialFiles = { cert: config.cert, key: config.key, ca: config.clientAuth?.ca };
  const clientAuth = config.clientAuth === undefined ? undefined : { mode: config.clientAuth.mode, patterns: compileSubjects(config.clientAuth.subjects) };
  const material = loadTlsMaterial(files);
  const served = metrics.trackCertificate(`proxy:${files.cert}`);
  const clientCa = files.ca === undefined ? undefined : metrics.trackCertificate(`client-ca:${files.ca}`);
  const record = (loaded: TlsMaterial): void => {
    served.expires(new Date(loaded.certificate.validTo));
    if (loaded.firstExpiringCa !== undefined) clientCa?.expires(new Date(loaded.firstExpiringCa.validTo));
  };

  const server = createTlsServer({
    ...secureContextOptions(material, config),
    // Verification is judged after the handshake, so every refusal is audited the same way.
    requestCert: clientAuth !== undefined,
    rejectUnauthorized: false,
    handshakeTimeout: services.handshakeTimeoutMs(),
    allowHalfOpen: true,
  });
  record(material);
  /** Contexts of raw sockets in their handshake, by four-tuple: the TLS socket made from one is another object. */
  const handshaking = new Map<string, ConnectionContext>();
  const takeContext = (socket: TLSSocket): ConnectionContext => {
    const key = tupleOf(socket);
    const ctx = handshaking.get(key) ?? getContext(socket);
    handshaking.delete(key);
    return ctx;
  };

  const sink = (): TlsServices => services;
  server.on('secureConnection', shielded(sink, 'tls-handshake', ([socket]) => socket, (socket: TLSSocket) => {
    const ctx = takeContext(socket);
    let certificate: ConnectionSecurity['certificate'];
    if (clientAuth !== undefined) {
      const checked = checkClientCertificate(socket, clientAuth.mode, clientAuth.patterns);
      if (!checked.ok) {
        audit(logger, 'warn', 'auth-failed', {
          ...contextFields(ctx),
          decision: 'deny',
          reason: checked.reason,
          clientCertificate: checked.subject,
          verifyError: checked.verifyError,
        });
        socket.destroy();
        return;
      }
      certificate = checked.subject === undefined ? undefined : { subject: checked.subject, mode: clientAuth.mode };
    }
    const security: ConnectionSecurity = { encrypted: true, refusePlainCredentials: false, certificate };
    setContext(socket, { ...ctx, security });
    http.emit('connection', socket);
  }));

  server.on('tlsClientError', shielded(sink, 'tls-client-error', ([, socket]) => socket, (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    const ctx = takeContext(socket);
    const reason = handshakeFailure(err);
    // Probes and clients that give up are routine; a failure the operator can fix is a warning.
    const level = reason === 'closed' || reason === 'timeout' ? 'debug' : 'warn';
    audit(logger, level, 'tls-handshake-failed', { ...contextFields(ctx), reason, code: err.code });
    socket.destroy();
  }));

  const reload = (): void => {
    try {
      const next = loadTlsMaterial(files);
      server.setSecureContext(secureContextOptions(next, config));
      record(next);
      audit(logger, 'info', 'certificate-reloaded', {
        certificate: files.cert,
        subject: subjectOf(next.certificate).text,
        notAfter: new Date(next.certificate.validTo).toISOString(),
        fingerprint256: next.certificate.fingerprint256,
      });
    } catch (err) {
      if (!(err instanceof TlsMaterialError)) throw err;
      audit(logger, 'error', 'certificate-reload-failed', { certificate: files.cert, reason: err.problem, file: err.field }, `${err.message}; still serving the previous pair`);
    }
  };
  const watch = watchFiles([files.cert, files.key, ...(files.ca === undefined ? [] : [files.ca])], config.reloadCheckSeconds * 1000, reload);
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
      server.emit('connection', socket);
      return;
    }
    if (config.requireTls) {
      audit(logger, 'warn', 'bad-request', { ...contextFields(ctx), decision: 'deny', reason: 'tls-required', status: 400 });
      metrics.refused('request', 'tls-required');
      refuseSocket(socket, 'tls-required');
      return;
    }
    setContext(socket, { ...ctx, security: plain });
    http.emit('connection', socket);
  };

  return {
    accept: shielded(sink, 'tls-sniff', ([socket]) => socket, accept),
    close: () => {
      watch.close();
      served.release();
      clientCa?.release();
    },
  };
}
