// How many worker processes to run, and each worker's share of the limits that are meant for the gateway as
// a whole. Connections are dealt to workers round-robin, so a client's connections and its failed logins
// spread evenly and a share of limit ÷ workers (rounded up) keeps the whole gateway close to the configured
// figure. Limits that protect one process (queued password checks, header sizes) stay as they are.

import { availableParallelism } from 'node:os';
import type { GatewayConfig, WorkersSetting } from '../config/types.js';
import { cgroupCpuQuota } from './cpu-quota.js';

/**
 * `auto`: one per core the process may run on (CPU affinity, e.g. taskset), and no more than whole CPUs its
 * cgroup quota allows (a pod limited to 1.5 CPUs runs one worker: a second would only be throttled).
 */
export function workerCount(setting: WorkersSetting, cores: number = availableParallelism(), quota: number | undefined = cgroupCpuQuota()): number {
  if (setting !== 'auto') return setting;
  const allowed = quota === undefined ? cores : Math.min(cores, Math.floor(quota));
  return Math.max(1, allowed);
}

/** `limit` split `workers` ways; 0 ("no limit") stays 0. */
export function shareOfLimit(limit: number, workers: number): number {
  return limit === 0 ? 0 : Math.ceil(limit / workers);
}

export function workerShare(config: GatewayConfig, workers: number): GatewayConfig {
  if (workers <= 1) return config;
  const share = (limit: number): number => shareOfLimit(limit, workers);
  const { limits, auth } = config;
  return {
    ...config,
    limits: {
      ...limits,
      maxConnections: share(limits.maxConnections),
      maxConnectionsPerClient: share(limits.maxConnectionsPerClient),
      maxTunnelsPerUser: share(limits.maxTunnelsPerUser),
    },
    auth: {
      ...auth,
      throttle: {
        ...auth.throttle,
        failuresBeforeDelay: share(auth.throttle.failuresBeforeDelay),
        lockoutFailures: share(auth.throttle.lockoutFailures),
      },
    },
  };
}
