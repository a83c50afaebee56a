// Accepts TCP connections on one address, records who the client is, and hands the socket to the
// shared HTTP parser (Node's, strict). A PROXY-protocol listener reads the client from the header first
// (proxy-header.ts); a TLS listener sniffs and decrypts (tls-accept.ts).
import type { Server as HttpServer } from 'node:http';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import type { ListenerConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { getContext, setContext } from './context.js';
import { shielded, type FaultSink } from './guard.js';
import type { ConnectionLimiter, LimitCode } from './limits.js';
import { proxiedClient, proxyHeaderReader, type ProxyHeaderRefusal } from './proxy-header.js';
import { tlsAcceptor } from './tls-accept.js';

/**
 * What every listener needs from the gateway that runs it, given when the listener is opened. The limiter
 * is required: a listener that could be opened without one would admit connections no limit counts.
 */
export interface ListenerServices extends FaultSink {
  /** The shared HTTP parser every admitted connection is handed to. */
  readonly http: HttpServer;
  readonly limiter: Pick<ConnectionLimiter, 'admitConnection' | 'acceptFailed'>;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** Time a new connection has to send its first byte and to finish its TLS handshake. */
  readonly handshakeTimeoutMs: () => number;
  /** Records a connection closed over its PROXY header. */
  readonly proxyHeaderRefused: (refusal: ProxyHeaderRefusal) => void;
}

export interface BoundListener {
  readonly server: Server;
  readonly address: string;
  readonly port: number;
  /** The configuration it was opened from (a port-0 listener's bound port differs from it). */
  readonly config: ListenerConfig;
  /** Stops accepting at once (a TLS listener also stops serving its certificate); resolves when its connections have closed. */
  close(): Promise<void>;
}

export function listenerName(config: Pick<ListenerConfig, 'host' | 'port'>): string {
  return isIPv6(config.host) ? `[${config.host}]:${config.port}` : `${config.host}:${config.port}`;
}

export function openListener(config: ListenerConfig, services: ListenerServices): Promise<BoundListener> {
  const { http, limiter } = services;
  const server = createServer({ allowHalfOpen: true, noDelay: true });
  const proxyReader = config.proxyProtocol === undefined ? undefined : proxyHeaderReader(config.proxyProtocol);
  // Loaded before binding, so a certificate that cannot be served stops the listener from opening.
  const tls = config.tls === undefined ? undefined : tlsAcceptor(config.tls, services);
  return new Promise((resolve, reject) => {
    server.once('error', (err) => {
      tls?.close();
      reject(err);
    });
    server.listen({ host: config.host, port: config.port, ipv6Only: isIPv6(config.host), backlog: 1024 }, () => {
      server.removeAllListeners('error');
      const bound = server.address();
      const port = typeof bound === 'object' && bound !== null ? bound.port : config.port;
      const name = listenerName({ host: config.host, port });
      server.on('error', (err: NodeJS.ErrnoException) => limiter.acceptFailed(err, name));
      const accept = async (socket: Socket): Promise<void> => {
        // PROXY protocol comes first: the header precedes everything else the connection carries.
        const peer = { client: socket.remoteAddress ?? 'unknown', clientPort: socket.remotePort ?? 0 };
        const client = proxyReader === undefined ? peer : await proxiedClient(socket, proxyReader, services.proxyHeaderRefused, name);
        if (client === undefined) return;
        setContext(socket, Object.assign({}, client, { listener: name }));
        const answer = tls === undefined ? undefined : (code: LimitCode): void => tls.refuse(socket, code);
        if (!limiter.admitConnection(socket, getContext(socket), answer)) return;
        // TLS comes after PROXY protocol on the wire: a TLS listener sniffs and, for TLS clients, decrypts.
        if (tls === undefined) http.emit('connection', socket);
        else tls.accept(socket);
      };
      server.on('connection', shielded(services, 'accept', ([socket]) => socket, accept));
      const close = (): Promise<void> =>
        new Promise((done) => {
          tls?.close();
          server.close(() => done());
        });
      resolve({ server, address: config.host, port, config, close });
    });
  });
}
