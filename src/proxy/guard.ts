// The backstop for event handlers that bytes from the network reach: a socket's first bytes and PROXY
// header, the TLS sniff and handshake, the request head. They run in Node's event callbacks, where a throw
// or a rejected promise ends the process and every tunnel in it (issue 16: one client certificate did). The
// parsers behind them answer typed refusals and never throw; for a fault they still miss, the handler's
// connection alone is closed, the fault logged (event 400) and counted, and the gateway serves on.

import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';

/** Where a fault happened: a closed set, logged as `surface`. */
export type Surface = 'accept' | 'tls-sniff' | 'tls-handshake' | 'tls-client-error' | 'connect' | 'request' | 'upgrade' | 'client-error';

export interface FaultSink {
  readonly logger: Logger;
  readonly metrics: Pick<GatewayMetrics, 'internalError'>;
}

interface Destroyable {
  destroy(): unknown;
}

/**
 * `handler`, made safe to register on an event: a synchronous throw or a rejection of the promise it returns
 * destroys what `victim` names for the same arguments (the connection the event is about) and is reported
 * to `sink`.
 */
export function shielded<A extends unknown[]>(sink: FaultSink, surface: Surface, victim: (args: NoInfer<A>) => Destroyable | undefined, handler: (...args: A) => unknown): (...args: A) => void {
  return (...args: A): void => {
    const fault = (err: unknown): void => {
      victim(args)?.destroy();
      const { logger, metrics } = sink;
      logger.error({ event: 'error', eventId: 400, surface, err }, `unexpected error in ${surface}; that connection was closed`);
      metrics.internalError();
    };
    try {
      const result = handler(...args);
      if (result instanceof Promise) result.catch(fault);
    } catch (err) {
      fault(err);
    }
  };
}
