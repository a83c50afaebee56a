// client ⇄ upstream byte relay of an established tunnel: backpressure (a side whose peer's buffer is full is
// paused until it drains), half-close passed on (a FIN from one side ends the other side's writes, the other
// direction keeps flowing), and both sockets torn down together as soon as either errs or closes.
//
// Built for tens of thousands of mostly idle tunnels (issue 14): one object and five listeners shared by
// both sockets rather than pipe()'s nine per direction and once() wrappers, and the idle, half-closed and
// lifetime limits watched by the shared timer wheel rather than a Node timer per socket re-armed on every
// chunk. The only per-chunk work beyond the write is storing the wheel's time.
import type { Socket } from 'node:net';
import { LandedSocket, type ChunkSink } from '../net/landing.js';
import type { ClosedBy, RelayStats } from '../observability/outcomes.js';
import { TimerWheel, type Expiring } from './timer-wheel.js';


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
  /** Watches the limits above; its resolution is how late past a limit a tunnel may be closed. */
  readonly timers: TimerWheel;
  readonly onClose: (stats: RelayStats) => void;
}

/**
 * The gateway's wheel for its tunnels: a tunnel closes at most half a second past its limit (two
 * resolutions, see Relay#silenceEnds), at four ticks a second while tunnels are open, each running only
 * the entries due; a 1 s wheel would close a tunnel of tunnelIdleSeconds: 1 up to 3 s after its last byte.
 */
export function tunnelTimers(): TimerWheel {
  return new TimerWheel(250);
}

/** Starts relaying. `head` holds bytes the client sent after the CONNECT head; they go upstream first. */
export function relay(client: Socket, upstream: Socket, head: Buffer, options: RelayOptions): Tunnel {
  return new Relay(client, upstream, head, options);
}

class Relay implements Tunnel, Expiring, ChunkSink {
  readonly #client: Socket;
  readonly #upstream: Socket;
  readonly #timers: TimerWheel;
  readonly #onClose: (stats: RelayStats) => void;
  readonly #halfClosedTimeoutMs: number;
  readonly #startedAt = performance.now();
  /** Wheel time at which tunnelMaxSeconds ends it; Infinity: never. */
  readonly #lifetimeEnds: number;
  /** The limit on silence in force: the idle timeout, or the half-closed one after a FIN; 0: none. */
  #silenceLimit: number;
  /** Wheel time of the last byte either way, or of the FIN that started the half-closed limit. */
  #lastActive: number;
  #halfClosed = false;
  #closedBy: ClosedBy | undefined;
  #open = 2;

  constructor(client: Socket, upstream: Socket, head: Buffer, options: RelayOptions) {
    this.#client = client;
    this.#upstream = upstream;
    this.#timers = options.timers;
    this.#onClose = options.onClose;
    const { idleTimeoutMs = 0, halfClosedTimeoutMs = 0, maxLifetimeMs = 0 } = options;
    this.#silenceLimit = idleTimeoutMs;
    this.#halfClosedTimeoutMs = halfClosedTimeoutMs;
    this.#lastActive = this.#timers.clockNow();
    this.#lifetimeEnds = maxLifetimeMs > 0 ? this.#lastActive + maxLifetimeMs : Infinity;

    // Listeners see the socket that emitted as `this`: one set serves both sides.
    const self = this;
    function onData(this: Socket, chunk: Buffer): void {
      self.#lastActive = self.#timers.now;
      if (!self.#peer(this).write(chunk)) this.pause();
    }
    function onDrain(this: Socket): void {
      self.#peer(this).resume();
    }
    function onEnd(this: Socket): void {
      self.#closedBy ??= this === client ? 'client' : 'upstream';
      self.#peer(this).end();
      self.#startHalfClosed();
    }
    function onError(): void {
      self.#teardown('error');
    }
    function onSocketClose(this: Socket): void {
      self.#teardown(this === client ? 'client' : 'upstream');
      if (--self.#open === 0) self.#finish();
    }
    for (const socket of [client, upstream]) {
      socket.setKeepAlive(true, options.keepAliveMs);
      // Timeouts left from the request head's stage would cut the tunnel; the wheel watches it now.
      socket.setTimeout(0);
      socket.on('data', onData).on('drain', onDrain).on('end', onEnd).on('error', onError).on('close', onSocketClose);
    }
    // A dialled socket's reads land in the gateway's shared buffer and come here as pooled chunks, not as
    // 'data' (net/landing.ts); what it read before the relay began is still in its stream, and goes first.
    if (upstream instanceof LandedSocket) upstream.redirect(this);
    this.#watch();

    if (head.length > 0) upstream.write(head);
    // The CONNECT handler paused the client until the tunnel existed; a 'data' listener alone does not resume it.
    client.resume();
    upstream.resume();
  }

  close(): void {
    this.#teardown('gateway');
  }

  /** A read of the dialled socket, landed (net/landing.ts): on to the client, pausing while its buffer is full. */
  landed(chunk: Buffer, release: () => void): boolean {
    this.#lastActive = this.#timers.now;
    if (this.#client.write(chunk, release)) return true;
    this.#upstream.pause();
    return false;
  }

  /** The wheel's call: a limit has passed, or the tunnel was active since and is watched again. */
  expire(now: number): void {
    if (now >= this.#lifetimeEnds) {
      this.#teardown('max-lifetime');
    } else if (this.#silenceLimit > 0 && now >= this.#silenceEnds()) {
      // The gateway ended it, whichever side sent a FIN before.
      this.#closedBy = this.#halfClosed ? 'half-closed-timeout' : 'idle-timeout';
      this.#teardown(this.#closedBy);
    } else {
      this.#watch();
    }
  }

  #peer(socket: Socket): Socket {
    return socket === this.#client ? this.#upstream : this.#client;
  }

  /**
   * The wheel's time lags the clock by up to a resolution, so the last byte may have come that much after
   * #lastActive says: the limit is counted from the later bound, and never ends a tunnel early. With the
   * tick at most a resolution late, a tunnel closes between its limit and two resolutions past it (its
   * lifetime, counted from the clock, at most one).
   */
  #silenceEnds(): number {
    return this.#lastActive + this.#silenceLimit + this.#timers.resolutionMs;
  }

  #watch(): void {
    const at = Math.min(this.#silenceLimit > 0 ? this.#silenceEnds() : Infinity, this.#lifetimeEnds);
    if (at !== Infinity) this.#timers.schedule(this, at);
  }

  /** After the first FIN the half-closed limit applies, from the FIN on, where it is shorter than the idle one. */
  #startHalfClosed(): void {
    const limit = this.#halfClosedTimeoutMs;
    if (this.#halfClosed || limit === 0 || (this.#silenceLimit > 0 && this.#silenceLimit <= limit)) return;
    this.#halfClosed = true;
    this.#silenceLimit = limit;
    this.#lastActive = this.#timers.now;
    this.#watch();
  }

  #teardown(by: ClosedBy): void {
    this.#closedBy ??= by;
    this.#timers.cancel(this);
    this.#client.destroy();
    this.#upstream.destroy();
  }

  #finish(): void {
    this.#onClose({
      bytesFromClient: this.#upstream.bytesWritten,
      bytesToClient: this.#upstream.bytesRead,
      durationMs: Math.round(performance.now() - this.#startedAt),
      closedBy: this.#closedBy ?? 'client',
    });
  }
}
