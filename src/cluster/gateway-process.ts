// What `start` runs: the gateway itself in this process (workers: 1), or a supervisor of worker processes
// that each run one (workers: auto or N > 1). Both answer to the same calls, so start-up, signals, reloads,
// the metrics listener and the pid file work the same way for either.

import type { GatewayConfig } from '../config/types.js';
import type { GatewayState } from '../observability/health.js';
import type { LogHandle } from '../observability/logger.js';
import { metricsFor, type GatewayMetrics } from '../observability/metrics.js';
import { Gateway, type ReloadReport, type StopReport } from '../proxy/gateway.js';
import { workerCount } from './share.js';
import { Supervisor } from './supervisor.js';

/** The gateway as `start` holds it, whichever of the two it is. */
export interface GatewayProcess extends GatewayState {
  readonly metrics: GatewayMetrics;
  readonly clustered: boolean;
  readonly listeners: readonly { readonly address: string; readonly port: number }[];
  readonly runtime: { readonly config: GatewayConfig };
  start(): Promise<unknown>;
  stop(graceMs: number, drainDelayMs?: number): Promise<StopReport>;
  reload(config: GatewayConfig): Promise<ReloadReport>;
}

export function createGatewayProcess(config: GatewayConfig, log: LogHandle): GatewayProcess {
  const workers = workerCount(config.workers);
  if (workers <= 1) return new Gateway(config, log.logger, metricsFor(config.metrics));
  return new Supervisor({ config, workers, logger: log.logger, writeLog: log.write });
}
