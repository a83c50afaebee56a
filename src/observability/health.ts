// What /healthz and /readyz answer. Liveness: the process runs and its event loop has not stalled recently
// (a stalled loop relays nothing even though the process is up). Readiness: the proxy listeners are bound
// and the gateway is not draining, so a load balancer stops sending new agents before the listeners close.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { PolicyMode } from '../policy/config-types.js';

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

/** How often the worst delay is taken from Node's monitor and kept. */
const SAMPLE_MS = 1000;
/** The longest stall report window the configuration allows (metrics.stallReportSeconds). */
const MAX_WINDOW_MS = 600_000;

/**
 * Event-loop delays, sampled by Node's own monitor once a second and kept for the longest report window.
 * Reading never resets anything: every poller (kubelet, a load balancer, a person with curl) sees the same
 * answer, where a check that cleared what it read hid a stall from whoever polled next.
 */
export class EventLoopWatch {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  /** The worst delay of each sampling period (seconds) and when the period ended (performance.now()), oldest first. */
  readonly #samples: { readonly at: number; readonly seconds: number }[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor() {
    this.#histogram.enable();
    this.#timer = setInterval(() => this.#sample(), SAMPLE_MS);
    this.#timer.unref();
  }

  /**
   * The longest delay seen within the last `windowSeconds`, in seconds. A stall is sampled when it ends
   * (the sampling timer fires late), so it counts for `windowSeconds` after it ended.
   */
  worstDelaySeconds(windowSeconds: number): number {
    const since = performance.now() - windowSeconds * 1000;
    let worst = this.#histogram.max / 1e9;
    for (const sample of this.#samples) if (sample.at >= since && sample.seconds > worst) worst = sample.seconds;
    return worst;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }

  #sample(): void {
    const at = performance.now();
    this.#samples.push({ at, seconds: this.#histogram.max / 1e9 });
    this.#histogram.reset();
    while ((this.#samples[0]?.at ?? at) < at - MAX_WINDOW_MS) this.#samples.shift();
  }
}

/**
 * 503 while the event loop stalled longer than `maxDelaySeconds` within the last `windowSeconds`
 * (metrics.maxEventLoopDelaySeconds and metrics.stallReportSeconds).
 */
export function liveness(watch: EventLoopWatch, maxDelaySeconds: number, windowSeconds: number): HealthAnswer {
  const delay = watch.worstDelaySeconds(windowSeconds);
  const ok = delay <= maxDelaySeconds;
  return {
    status: ok ? 200 : 503,
    body: {
      status: ok ? 'ok' : 'event-loop-stalled',
      eventLoopDelaySeconds: delay,
      maxEventLoopDelaySeconds: maxDelaySeconds,
      stallReportSeconds: windowSeconds,
    },
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
