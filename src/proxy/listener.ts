// Accepts TCP connections on one address, records who the client is, and hands the socket to the
// shared HTTP parser (Node's, strict). Later listener kinds (TLS, PROXY protocol) wrap the socket here.
import type { Server as HttpServer } from 'node:http';
import { createServer, isIPv6, type Server } from 'node:net';
import type { ListenerConfig } from '../config/types.js';
import { setContext } from './context.js';

export interface BoundListener {
  readonly server: Server;
  readonly address: string;
  readonly port: number;
}

export function listenerName(config: Pick<ListenerConfig, 'host' | 'port'>): string {
  return isIPv6(config.host) ? `[${config.host}]:${config.port}` : `${config.host}:${config.port}`;
}

export function openListener(config: ListenerConfig, http: HttpServer): Promise<BoundListener> {
  const server = createServer({ allowHalfOpen: true, noDelay: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: config.host, port: config.port, ipv6Only: isIPv6(config.host), backlog: 1024 }, () => {
      server.removeListener('error', reject);
      const bound = server.address();
      const port = typeof bound === 'object' && bound !== null ? bound.port : config.port;
      const name = listenerName({ host: config.host, port });
      server.on('connection', (socket) => {
        setContext(socket, { client: socket.remoteAddress ?? 'unknown', clientPort: socket.remotePort ?? 0, listener: name });
        http.emit('connection', socket);
      });
      resolve({ server, address: config.host, port });
    });
  });
}
