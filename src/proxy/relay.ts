// client ⇄ upstream byte relay of an established tunnel: backpressure through pipe(), half-close passed
// on (a FIN from one side ends the other side's writes, the other direction keeps flowing), and both
// sockets torn down together as soon as either errs or closes.
import type { Socket } from 'node:net';
import { LandedSocket } from '../net/landing.js';
import type { ClosedBy, RelayStats } from '../observability/outcomes.js';

export interface Tunnel {
  /** Ends the tunnel from the gateway's side (shutdown, policy change). */
  close(): void;
}

export interface RelayOptions {
  /** TCP keep-alive idle time for both legs: agents hold tunnels open between uploads. */
  readonly keepAliveMs: number;
  /** Closes the tunnel after this long without a byte in either direction; 0 or absent: never. */
  readonly idleTimeoutMs?: number;
  /**
   * Once one side has sent its FIN, closes the tunnel after this long without a byte from the other side;
   * 0 or absent: wait for it (up to idleTimeoutMs). A client that closed while its upstream stays silent
   * would otherwise hold both sockets for as long as the upstream does.
   */
  readonly halfClosedTimeoutMs?: number;
  /** Closes the tunnel this long after it opened; 0 or absent: never. */
  readonly maxLifetimeMs?: number;
  readonly onClose: (stats: RelayStats) => void;
}

/** Starts relaying. `head` holds bytes the client sent after the CONNECT head; they go upstream first. */
export function relay(client: Socket, upstream: Socket, head: Buffer, options: RelayOptions): Tunnel {
  const startedAt = performance.now();
  let closedBy: ClosedBy | undefined;
  let finished = false;

  for (const socket of [client, upstream]) {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, options.keepAliveMs);
    socket.setTimeout(0);
  }

  const finish = (): void => {
    if (finished) return;
    finished = true;
    options.onClose({
      bytesFromClient: upstream.bytesWritten,
      bytesToClient: upstream.bytesRead,
      durationMs: Math.round(performance.now() - startedAt),
      closedBy: closedBy ?? 'client',
    });
  };
  const teardown = (by: ClosedBy) => (): void => {
    closedBy ??= by;
    client.destroy();
    upstream.destroy();
  };

  client.once('end', () => { closedBy ??= 'client'; });
  upstream.once('end', () => { closedBy ??= 'upstream'; });
  client.on('error', teardown('error'));
  upstream.on('error', teardown('error'));
  client.once('close', teardown('client'));
  upstream.once('close', teardown('upstream'));
  let open = 2;
  const onClosed = (): void => { if (--open === 0) finish(); };
  client.once('close', onClosed);
  upstream.once('close', onClosed);

  // The client socket sees every byte of the tunnel (read from it or written to it), so its idle timer is
  // the tunnel's; TCP keep-alive probes carry no data and do not reset it. After a FIN the same timer, set
  // to the half-closed timeout when that is shorter, watches the direction still open.
  const { idleTimeoutMs = 0, halfClosedTimeoutMs = 0, maxLifetimeMs = 0 } = options;
  let halfClosed = false;
  client.setTimeout(idleTimeoutMs);
  client.on('timeout', () => {
    // The gateway ended it, whichever side sent a FIN before.
    closedBy = halfClosed ? 'half-closed-timeout' : 'idle-timeout';
    teardown(closedBy)();
  });
  const onHalfClose = (): void => {
    if (halfClosed || halfClosedTimeoutMs === 0 || (idleTimeoutMs > 0 && idleTimeoutMs <= halfClosedTimeoutMs)) return;
    halfClosed = true;
    client.setTimeout(halfClosedTimeoutMs);
  };
  client.once('end', onHalfClose);
  upstream.once('end', onHalfClose);
  if (maxLifetimeMs > 0) {
    const lifetime = setTimeout(teardown('max-lifetime'), maxLifetimeMs);
    lifetime.unref();
    client.once('close', () => clearTimeout(lifetime));
  }

  if (head.length > 0) upstream.write(head);
  client.pipe(upstream);
  // Reads of a dialled socket land in the gateway's shared buffer and go straight to the client (net/landing.ts).
  if (upstream instanceof LandedSocket) upstream.relayTo(client);
  else upstream.pipe(client);

  return { close: teardown('gateway') };
}
