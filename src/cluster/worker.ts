// One worker process of `workers: auto|N`: runs a Gateway with the configuration the supervisor sends
// (its share of the limits), writes JSON log lines to the pipe the supervisor reads, and does what the
// supervisor asks: reload, report metrics, drain. SIGTERM and SIGINT, which a service manager or a terminal
// sends to every process of the group, drain it as well; SIGHUP and SIGUSR2 are the supervisor's.

import cluster from 'node:cluster';
import { deepFreeze } from '../config/freeze.js';
import type { GatewayConfig } from '../config/types.js';
import { exitAfterFlush, openWorkerLog } from '../observability/logger.js';
import { metricsFor } from '../observability/metrics.js';
import { Gateway } from '../proxy/gateway.js';
import { isToWorker, type FromWorker, type ToWorker } from './messages.js';

function send(message: FromWorker): void {
  if (process.connected) process.send?.(message);
}

/** The first message; the supervisor sends it in answer to 'hello'. */
function configuration(): Promise<GatewayConfig> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown): void => {
      if (!isToWorker(message) || message.type !== 'start') return;
      process.off('message', onMessage);
      resolve(deepFreeze(message.config));
    };
    process.on('message', onMessage);
    send({ type: 'hello' });
  });
}

/** Records of sockets still closing (tunnel-closed) get written before the process ends by itself. */
const LINGER_MS = 5_000;

/** cluster's own disconnect marks the exit as intended; a bare process.disconnect() would exit at once. */
function endWhenIdle(code: number): void {
  process.exitCode = code;
  cluster.worker?.disconnect();
  setTimeout(() => process.exit(code), LINGER_MS).unref();
}

/**
 * Runs until the supervisor stops the worker or goes away; the process then ends by itself, so the returned
 * promise never settles (it rejects only when the worker cannot be set up).
 */
export async function runWorker(): Promise<number> {
  // Until the gateway listens, a termination signal simply ends the process.
  for (const signal of ['SIGHUP', 'SIGUSR2'] as const) process.on(signal, () => undefined);
  const config = await configuration();
  // Unbuffered into the pipe: the supervisor's destination batches, and lines keep the order they were written in.
  const logger = openWorkerLog(config.log.level);
  const workerLogger = logger.child({ worker: cluster.worker?.id });
  const gateway = new Gateway(config, workerLogger, metricsFor(config.metrics), { announce: false });

  for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
    process.on(event, (err: unknown) => {
      workerLogger.fatal({ event: 'error', eventId: 400, err }, `${event} in a worker: exiting so the supervisor replaces it`);
      exitAfterFlush(workerLogger, 1);
    });
  }

  let stopping = false;
  const stop = (graceMs: number, drainDelayMs: number): void => {
    if (stopping) return;
    stopping = true;
    send({ type: 'stopping', activeTunnels: gateway.activeTunnels });
    void gateway.stop(graceMs, drainDelayMs).then((report) => {
      send({ type: 'stopped', report });
      endWhenIdle(0);
    });
  };
  const stopWithConfiguredGrace = (): void => {
    const { timeouts } = gateway.runtime.config;
    stop(timeouts.shutdownGraceSeconds * 1000, 0);
  };
  // Should the supervisor itself die, node:cluster ends its workers at once.
  process.on('SIGTERM', stopWithConfiguredGrace);
  process.on('SIGINT', stopWithConfiguredGrace);

  process.on('message', (message: unknown) => {
    if (isToWorker(message)) void handle(message);
  });
  const handle = async (message: ToWorker): Promise<void> => {
    switch (message.type) {
      case 'reload':
        try {
          send({ type: 'reloaded', id: message.id, report: await gateway.reload(deepFreeze(message.config)) });
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          send({ type: 'reload-failed', id: message.id, code: e.code, message: e.message });
        }
        return;
      case 'metrics':
        send({ type: 'metrics', id: message.id, metrics: await gateway.metrics.registry.getMetricsAsJSON(), clients: gateway.metrics.clientAddresses() });
        return;
      case 'stop':
        stop(message.graceMs, message.drainDelayMs);
        return;
      case 'start':
        return;
    }
  };

  try {
    const listeners = await gateway.start();
    send({ type: 'started', listeners: listeners.map(({ address, port }) => ({ address, port })) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    send({ type: 'start-failed', code: e.code, message: e.message });
    exitAfterFlush(workerLogger, 1);
  }
  return new Promise<number>(() => undefined);
}
