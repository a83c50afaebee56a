// What the request handlers need from the running gateway, passed in rather than imported, so the
// data path reads: listener → gateway → handler (connect.ts | forward.ts) → exchange → relay.
import type { ExchangeDeps } from './exchange.js';
import type { ConnectionLimiter } from './limits.js';
import type { Runtime } from './runtime.js';
import type { AdmittedTunnel } from './revoke.js';
import type { TimerWheel } from './timer-wheel.js';

export interface HandlerDeps extends ExchangeDeps {
  /** The runtime in force now; each request takes it once and keeps it. */
  readonly runtime: () => Runtime;
  /**
   * Admitted CONNECT exchanges, from admission (still being set up) to their end: for shutdown and for
   * reloads that close what the new policy denies.
   */
  readonly tunnels: Set<AdmittedTunnel>;
  readonly isDraining: () => boolean;
  /** Connection and per-user tunnel limits. */
  readonly limiter: ConnectionLimiter;
  /** Watches every relayed tunnel's idle, half-closed and lifetime limits. */
  readonly timers: TimerWheel;
}
