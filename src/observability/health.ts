// What /healthz and /readyz answer. Liveness: the process runs and its event loop is not stalled (a stalled
// loop relays nothing even though the process is up). Readiness: the proxy listeners are bound and the
// gateway is not draining, so a load balancer stops sending new agents before the listeners close.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { PolicyMode } from '../config/types.js';

/** The parts of the running gateway readiness depends on (proxy/gateway.ts implements it). */
export interface GatewayState {
  isReady(): boolean;
  readonly draining: boolean;
  readonly listeners: readonly unknown[];
  /** The configuration in force; readiness shows its policy mode (report mode does not enforce the allowlist). */
  readonly runtime: { readonly config: { readonly policy: { readonly mode: PolicyMode } } };
}

/** The last outcome of the optional upstream probe (service/upstream-probe.ts). */
export interface UpstreamCheck {
  readonly url: string;
  /** undefined until the first probe has finished. */
  readonly ok: boolean | undefined;
  readonly consecutiveFailures: number;
  /** Enough probes in a row failed for readiness to fail. */
  readonly unready: boolean;
  readonly failure: string | undefined;
  readonly lastCheckedAt: string | undefined;
}

export interface HealthAnswer {
  readonly status: 200 | 503;
  readonly body: Readonly<Record<string, unknown>>;
}

/** Worst event-loop delay between two health checks, sampled by Node's own monitor. */
export class EventLoopWatch {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });

  constructor() {
    this.#histogram.enable();
  }

  /** The longest delay seen since the previous call, in seconds. */
  worstDelaySeconds(): number {
    const seconds = this.#histogram.max / 1e9;
    this.#histogram.reset();
    return seconds;
  }

  close(): void {
    this.#histogram.disable();
  }
}

export function liveness(watch: EventLoopWatch, maxDelaySeconds: number): HealthAnswer {
  const delay = watch.worstDelaySeconds();
  const ok = delay <= maxDelaySeconds;
  return {
    status: ok ? 200 : 503,
    body: { status: ok ? 'ok' : 'event-loop-stalled', eventLoopDelaySeconds: delay, maxEventLoopDelaySeconds: maxDelaySeconds },
  };
}

/**
 * The configuration in force is always a validated one: a reload that fails keeps the previous configuration
 * (and is counted in the metrics) rather than taking every instance out of rotation for one bad edit.
 */
export function readiness(gateway: GatewayState, upstream?: UpstreamCheck): HealthAnswer {
  const serving = gateway.isReady();
  const ready = serving && upstream?.unready !== true;
  const status = ready ? 'ready' : !serving && gateway.draining ? 'draining' : !serving ? 'starting' : 'upstream-unreachable';
  return {
    status: ready ? 200 : 503,
    body: {
      status,
      checks: {
        listeners: { ok: gateway.listeners.length > 0, bound: gateway.listeners.length },
        configuration: { ok: true },
        draining: { ok: !gateway.draining },
        ...(upstream !== undefined && {
          upstream: {
            ok: upstream.ok !== false,
            url: upstream.url,
            consecutiveFailures: upstream.consecutiveFailures,
            failure: upstream.failure,
            lastCheckedAt: upstream.lastCheckedAt,
          },
        }),
      },
      // Report mode is ready to serve, but it is not enforcing: said here so that no one mistakes one for the other.
      policy: { mode: gateway.runtime.config.policy.mode, enforcing: gateway.runtime.config.policy.mode === 'enforce' },
    },
  };
}
