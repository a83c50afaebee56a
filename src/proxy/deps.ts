// What the request handlers need from the running gateway, passed in rather than imported, so the
// data path reads: listener → handler (connect.ts | forward.ts) → admit → upstream → relay.
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { ConnectionLimiter } from './limits.js';
import type { Runtime } from './runtime.js';
import type { AdmittedTunnel } from './revoke.js';
import type { TimerWheel } from './timer-wheel.js';

export interface HandlerDeps {
  /** The runtime in force now; each request takes it once and keeps it. */
  readonly runtime: () => Runtime;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
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
