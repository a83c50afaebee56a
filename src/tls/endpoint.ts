// The gateway's own TLS endpoint, the one proxy clients of a TLS listener handshake with (never the agent's
// session inside a tunnel): its certificate and key, reloaded when their files change (new handshakes get
// the new pair, open connections keep theirs), the check of a client certificate, and why a handshake
// failed. Which connections reach it, and what becomes of them after, is the listener's (proxy/tls-accept.ts).

import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { ListenerTlsConfig } from './config-types.js';
import { audit, type Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { loadTlsMaterial, secureContextOptions, TlsMaterialError, type MaterialFiles, type TlsMaterial } from './material.js';
import { watchFiles } from './reload.js';
import { compileSubjects, findMatch, subjectOf, type SubjectPattern } from './subjects.js';

export interface TlsEndpoint {
  /** Emits 'secureConnection' and 'tlsClientError' for the connections it is given ('connection'). */
  readonly server: TlsServer;
  /** The client certificate a connection must or may present; undefined: none is asked for. */
  readonly clientAuth: ClientAuth | undefined;
  /** Stops watching the files; open connections are not touched. */
  close(): void;
}

export interface ClientAuth {
  readonly mode: 'alternative' | 'required';
  readonly patterns: readonly SubjectPattern[];
}

/** Why a TLS handshake with a proxy client failed: a closed set, used as the audit reason. */
export type HandshakeFailure = 'timeout' | 'closed' | 'protocol-version' | 'no-shared-cipher' | 'certificate-rejected' | 'protocol-error';

export type ClientCertificateCheck =
  | { readonly ok: true; readonly subject: string | undefined }
  | { readonly ok: false; readonly reason: 'client-certificate-missing' | 'client-certificate-untrusted' | 'client-certificate-not-allowed'; readonly subject?: string; readonly verifyError?: string };

export function handshakeFailure(err: NodeJS.ErrnoException): HandshakeFailure {
  const code = err.code ?? '';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'timeout';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'closed';
  if (code.includes('NO_SHARED_CIPHER')) return 'no-shared-cipher';
  if (code.includes('PROTOCOL_VERSION') || code.includes('UNSUPPORTED_PROTOCOL')) return 'protocol-version';
  if (code.includes('CERTIFICATE') || code.includes('UNKNOWN_CA') || code.includes('DECRYPT_ERROR')) return 'certificate-rejected';
  return 'protocol-error';
}

export function checkClientCertificate(socket: TLSSocket, clientAuth: ClientAuth): ClientCertificateCheck {
  const peer = socket.getPeerX509Certificate();
  if (peer === undefined) return clientAuth.mode === 'required' ? { ok: false, reason: 'client-certificate-missing' } : { ok: true, subject: undefined };
  const subject = subjectOf(peer);
  if (!socket.authorized) {
    return { ok: false, reason: 'client-certificate-untrusted', subject: subject.text, verifyError: String(socket.authorizationError) };
  }
  if (clientAuth.patterns.length > 0 && findMatch(clientAuth.patterns, subject) === undefined) {
    return { ok: false, reason: 'client-certificate-not-allowed', subject: subject.text };
  }
  return { ok: true, subject: subject.text };
}

/**
 * Loads the listener's certificate and key (throws TlsMaterialError) and serves them, reporting their
 * expiry to `metrics` and their reloads to `logger`.
 */
export function openTlsEndpoint(config: ListenerTlsConfig, logger: Logger, metrics: GatewayMetrics, handshakeTimeoutMs: number): TlsEndpoint {
  const files: MaterialFiles = { cert: config.cert, key: config.key, ca: config.clientAuth?.ca };
  const clientAuth = config.clientAuth === undefined ? undefined : { mode: config.clientAuth.mode, patterns: compileSubjects(config.clientAuth.subjects) };
  const material = loadTlsMaterial(files);
  const served = metrics.trackCertificate(`proxy:${files.cert}`);
  const clientCa = files.ca === undefined ? undefined : metrics.trackCertificate(`client-ca:${files.ca}`);
  const record = (loaded: TlsMaterial): void => {
    served.expires(new Date(loaded.certificate.validTo));
    if (loaded.firstExpiringCa !== undefined) clientCa?.expires(new Date(loaded.firstExpiringCa.validTo));
  };

  const server = createTlsServer(
    Object.assign({}, secureContextOptions(material, config), {
      // Verification is judged after the handshake, so every refusal is audited the same way.
      requestCert: clientAuth !== undefined,
      rejectUnauthorized: false,
      handshakeTimeout: handshakeTimeoutMs,
      allowHalfOpen: true,
    }),
  );
  record(material);

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

  return {
    server,
    clientAuth,
    close: () => {
      watch.close();
      served.release();
      clientCa?.release();
    },
  };
}
