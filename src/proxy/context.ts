// Per-connection state, declared in one place. Listeners register a context when they accept a socket;
// handlers look it up. Nothing else is hung on sockets.
import type { Socket } from 'node:net';
import type { ConnectionSecurity } from '../tls/security.js';

export interface ConnectionContext {
  /** Client IP address as the audit log, metrics and limits see it. */
  readonly client: string;
  readonly clientPort: number;
  /** `host:port` of the listener that accepted the connection. */
  readonly listener: string;
  /** Set by TLS-capable listeners (tls-accept.ts): TLS or plain, and a verified client certificate. */
  readonly security?: ConnectionSecurity;
}

const contexts = new WeakMap<Socket, ConnectionContext>();

export function setContext(socket: Socket, context: ConnectionContext): void {
  contexts.set(socket, context);
}

/** The context of an accepted socket; falls back to the socket's own peer address. */
export function getContext(socket: Socket): ConnectionContext {
  return contexts.get(socket) ?? {
    client: socket.remoteAddress ?? 'unknown',
    clientPort: socket.remotePort ?? 0,
    listener: 'unknown',
  };
}
