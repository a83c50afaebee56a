// Connecting to one of several already-checked addresses, Happy Eyeballs style (RFC 8305): address families
// interleaved (§4), a new attempt started every `attemptDelayMs` while earlier ones keep running, or at once
// when one fails (§5), the first to connect wins and the others are dropped. Node's own `autoSelectFamily`
// does this only for a host name it resolves itself, and the gateway must dial exactly the addresses its
// policy checked, so it cannot be used here.

import { connect, isIPv6, type Socket } from 'node:net';
import { LandedSocket, type Landing } from './landing.js';

export type ConnectErrorCode = 'timeout' | 'refused' | 'failed';

export class ConnectError extends Error {
  readonly code: ConnectErrorCode;

  constructor(code: ConnectErrorCode, options?: { cause?: unknown }) {
    super(`connect ${code}`, options);
    this.name = 'ConnectError';
    this.code = code;
  }
}

export interface StaggeredConnectOptions {
  readonly port: number;
  /** For the whole attempt, all addresses together. */
  readonly timeoutMs: number;
  /** RFC 8305 §5 "Connection Attempt Delay"; 250 ms recommended. */
  readonly attemptDelayMs: number;
  /** Where the dialled socket's reads land (landing.ts); without one, Node's own per-read buffers. */
  readonly landing?: Landing | undefined;
}

/**
 * Alternates families, starting with the family of the first address (the system resolver's preference),
 * keeping each family's own order.
 */
export function interleaveFamilies(addresses: readonly string[]): string[] {
  const first = addresses[0];
  if (first === undefined) return [];
  const preferV6 = isIPv6(first);
  const preferred = addresses.filter((address) => isIPv6(address) === preferV6);
  const other = addresses.filter((address) => isIPv6(address) !== preferV6);
  const order: string[] = [];
  for (let i = 0; i < Math.max(preferred.length, other.length); i += 1) {
    const a = preferred[i];
    const b = other[i];
    if (a !== undefined) order.push(a);
    if (b !== undefined) order.push(b);
  }
  return order;
}

/** Resolves with the first connected socket; rejects with ConnectError when none connects in time. */
export function connectStaggered(addresses: readonly string[], options: StaggeredConnectOptions): Promise<Socket> {
  const order = interleaveFamilies(addresses);
  return new Promise((resolve, reject) => {
    const attempts = new Set<Socket>();
    let next = 0;
    let settled = false;
    let lastError: unknown;
    let stagger: NodeJS.Timeout | undefined;

    const finish = (winner: Socket | undefined, error?: ConnectError): void => {
      settled = true;
      clearTimeout(stagger);
      clearTimeout(deadline);
      for (const socket of attempts) if (socket !== winner) socket.destroy();
      attempts.clear();
      if (winner !== undefined) resolve(winner);
      else reject(error);
    };

    const startNext = (): void => {
      clearTimeout(stagger);
      const address = order[next];
      if (address === undefined) return;
      next += 1;
      const socket =
        options.landing === undefined
          ? connect({ host: address, port: options.port, allowHalfOpen: true, noDelay: true })
          : new LandedSocket(options.landing, { allowHalfOpen: true }).connect({ host: address, port: options.port, noDelay: true });
      attempts.add(socket);
      const onError = (err: Error): void => {
        attempts.delete(socket);
        socket.destroy();
        if (settled) return;
        lastError = err;
        if (next < order.length) startNext();
        else if (attempts.size === 0) finish(undefined, failure(lastError));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.removeListener('error', onError);
        if (!settled) finish(socket);
        else socket.destroy();
      });
      if (next < order.length) stagger = setTimeout(startNext, options.attemptDelayMs);
    };

    const deadline = setTimeout(() => finish(undefined, new ConnectError('timeout')), options.timeoutMs);
    if (order.length === 0) finish(undefined, new ConnectError('failed'));
    else startNext();
  });
}

function failure(err: unknown): ConnectError {
  const refused = (err as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED';
  return new ConnectError(refused ? 'refused' : 'failed', { cause: err });
}
