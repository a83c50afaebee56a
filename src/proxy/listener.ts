// Accepts TCP connections on one address, records who the client is, and hands the socket to the
// shared HTTP parser (Node's, strict). Later listener kinds (TLS, PROXY protocol) wrap the socket here.
import type { Server as HttpServer } from 'node:http';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import type { ListenerConfig } from '../config/types.js';
import { getContext, setContext } from './context.js';
import { faultSink, shielded } from './guard.js';
import { acceptFailed, admitConnection } from './limits.js';
import { proxiedClient, proxyHeaderReader } from './proxy-header.js';
import { tlsAcceptor } from '../tls/listener.js';

export interface BoundListener {
  readonly server: Server;
  readonly address: string;
  readonly port: number;
  /** Stops accepting at once (a TLS listener also stops serving its certificate); resolves when its connections have closed. */
  close(): Promise<void>;
}

export function listenerName(config: Pick<ListenerConfig, 'host' | 'port'>): string {
  return isIPv6(config.host) ? `[${config.host}]:${config.port}` : `${config.host}:${config.port}`;
}

export function openListener(config: ListenerConfig, http: HttpServer): Promise<BoundListener> {
  const server = createServer({ allowHalfOpen: true, noDelay: true });
  const proxyReader = config.proxyProtocol === undefined ? undefined : proxyHeaderReader(config.proxyProtocol);
  // Loaded before binding, so a certificate that cannot be served stops the listener from opening.
  const tls = config.tls === undefined ? undefined : tlsAcceptor(config.tls, http);
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
      server.on('error', (err: NodeJS.ErrnoException) => acceptFailed(http, err, name));
      const accept = async (socket: Socket): Promise<void> => {
        // PROXY protocol comes first: the header precedes everything else the connection carries.
        const peer = { client: socket.remoteAddress ?? 'unknown', clientPort: socket.remotePort ?? 0 };
        const client = proxyReader === undefined ? peer : await proxiedClient(socket, proxyReader, http, name);
        if (client === undefined) return;
        setContext(socket, { ...client, listener: name });
        if (!admitConnection(http, socket, getContext(socket))) return;
        // TLS comes after PROXY protocol on the wire: a TLS listener sniffs and, for TLS clients, decrypts.
        if (tls === undefined) http.emit('connection', socket);
        else tls.accept(socket);
      };
      server.on('connection', shielded(() => faultSink(http), 'accept', ([socket]) => socket, accept));
      const close = (): Promise<void> =>
        new Promise((done) => {
          tls?.close();
          server.close(() => done());
        });
      resolve({ server, address: config.host, port, close });
    });
  });
}
