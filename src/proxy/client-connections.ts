// The client connections the shared HTTP parser holds, kept by the gateway itself: that server never
// listens (listeners hand it their sockets), and Node tracks a server's connections, enforces its
// headersTimeout and finds connections for closeIdleConnections() only once it listens. So the time a
// request head may take (timeouts.requestHeadSeconds, against slowloris) is enforced here, with the
// documented socket API only: a sweep, as Node's own connectionsCheckingInterval, over each connection's
// phase and its bytesRead.
//
// A connection's first head is timed from its hand-over, so one that sends nothing is cut too. Between
// keep-alive requests a connection is idle and untimed (Node's keepAliveTimeout closes it); the first byte
// of its next head starts the clock, seen by the next sweep, so that head is cut up to one sweep late.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How often heads under way are checked against the timeout. */
const SWEEP_MS = 500;

interface Tracked {
  /** 'head': a head is awaited or under way, since `since`; 'busy': answers are awaited; 'idle': neither. */
  phase: 'head' | 'busy' | 'idle';
  since: number;
  /** Requests parsed whose answer has not finished. */
  outstanding: number;
  /** bytesRead when the connection turned idle: more means the next head has started. */
  bytesAtIdle: number;
}

export class ClientConnections {
  readonly #tracked = new Map<Socket, Tracked>();
  readonly #headTimeoutMs: () => number;
  readonly #onHeadTimeout: (socket: Socket) => void;
  #sweep: NodeJS.Timeout | undefined;

  /** `onHeadTimeout` answers a connection whose head took longer than `headTimeoutMs()`; it is no longer tracked then. */
  constructor(headTimeoutMs: () => number, onHeadTimeout: (socket: Socket) => void) {
    this.#headTimeoutMs = headTimeoutMs;
    this.#onHeadTimeout = onHeadTimeout;
  }

  /** A connection handed to the HTTP server: its first head is timed from now. The caller releases it when it closes. */
  add(socket: Socket): void {
    this.#tracked.set(socket, { phase: 'head', since: performance.now(), outstanding: 0, bytesAtIdle: 0 });
    this.#sweep ??= setInterval(() => this.#check(), SWEEP_MS).unref();
  }

  /** A request head on `socket` was parsed: the connection waits for `res` to finish. */
  requestParsed(socket: Socket, res: ServerResponse): void {
    const tracked = this.#tracked.get(socket);
    if (tracked === undefined) return;
    tracked.outstanding += 1;
    tracked.phase = 'busy';
    res.once('finish', () => {
      tracked.outstanding -= 1;
      if (tracked.outstanding > 0) return;
      tracked.phase = 'idle';
      tracked.bytesAtIdle = socket.bytesRead;
    });
  }

  /** The connection left the HTTP server (CONNECT, Upgrade, a failed parse) or closed: it has no more heads. */
  release(socket: Socket): void {
    this.#tracked.delete(socket);
    if (this.#tracked.size > 0 || this.#sweep === undefined) return;
    clearInterval(this.#sweep);
    this.#sweep = undefined;
  }

  /** Closes the connections between requests: at shutdown, no new request should start on them. */
  closeIdle(): void {
    for (const [socket, tracked] of this.#tracked) {
      if (tracked.phase === 'idle' && socket.bytesRead === tracked.bytesAtIdle) socket.destroy();
    }
  }

  /** Closes every connection the HTTP server still holds. */
  closeAll(): void {
    for (const socket of [...this.#tracked.keys()]) socket.destroy();
  }

  #check(): void {
    const now = performance.now();
    const timeout = this.#headTimeoutMs();
    for (const [socket, tracked] of [...this.#tracked]) {
      if (tracked.phase === 'idle' && socket.bytesRead > tracked.bytesAtIdle) {
        tracked.phase = 'head';
        tracked.since = now;
      } else if (tracked.phase === 'head' && now - tracked.since >= timeout) {
        this.release(socket);
        this.#onHeadTimeout(socket);
      }
    }
  }
}
