// The supervisor's metrics: its own (reloads, certificate expiry, worker restarts) and every worker's,
// served as one scrape. Worker values are combined by prom-client's cluster aggregator, each metric by the
// rule it was declared with (counts add up; build_info, reload state and expiry times do not). Per-worker
// series are kept only where the split is the point: open tunnels per worker show an unbalanced worker.

import { AggregatorRegistry, Counter, Gauge } from 'prom-client';
import { packageVersion } from '../observability/build-info.js';
import { GatewayMetrics, METRIC_PREFIX } from '../observability/metrics.js';
import type { MetricsConfig } from '../config/types.js';
import type { MetricsJson } from './messages.js';

export interface WorkerMetrics {
  /** cluster.worker.id: 1, 2, ... in start order; a replacement gets the next number. */
  readonly worker: number;
  readonly metrics: MetricsJson;
  readonly clients: readonly string[];
}

const ACTIVE_TUNNELS = `${METRIC_PREFIX}active_tunnels`;
// One client may hold connections to several workers: the supervisor counts the union of their addresses.
const CONNECTED_CLIENTS = `${METRIC_PREFIX}connected_clients`;

export class ClusterMetrics extends GatewayMetrics {
  readonly #collect: () => Promise<readonly WorkerMetrics[]>;
  readonly #running = new Gauge({
    name: `${METRIC_PREFIX}workers`,
    help: 'Worker processes running and serving.',
    registers: [this.registry],
  });
  readonly #restarts = new Counter({
    name: `${METRIC_PREFIX}worker_restarts_total`,
    help: 'Worker processes that ended unexpectedly and were replaced.',
    registers: [this.registry],
  });
  readonly #workerTunnels = new Gauge({
    name: `${METRIC_PREFIX}worker_active_tunnels`,
    help: 'Open CONNECT tunnels per worker process, to see how evenly connections are dealt.',
    labelNames: ['worker'],
    registers: [this.registry],
  });

  /** `collect` asks every running worker for its metrics (supervisor.ts). */
  constructor(config: MetricsConfig, collect: () => Promise<readonly WorkerMetrics[]>) {
    super({ version: packageVersion(), workspaceLabels: config.workspaceLabels, maxWorkspaces: config.maxWorkspaces });
    this.configLoaded(true, false);
    this.#collect = collect;
  }

  workersRunning(count: number): void {
    this.#running.set(count);
  }

  workerRestarted(): void {
    this.#restarts.inc();
  }

  override async expose(): Promise<string> {
    const workers = await this.#collect();
    this.#workerTunnels.reset();
    for (const { worker, metrics } of workers) {
      const tunnels = metrics.find((metric) => metric.name === ACTIVE_TUNNELS)?.values[0]?.value ?? 0;
      this.#workerTunnels.set({ worker: String(worker) }, tunnels);
    }
    this.distinctClients(new Set(workers.flatMap((w) => w.clients)).size);
    const own = await this.registry.getMetricsAsJSON();
    const theirs = workers.map((w) => w.metrics.filter((metric) => metric.name !== CONNECTED_CLIENTS));
    return AggregatorRegistry.aggregate([own, ...theirs]).metrics();
  }
}
