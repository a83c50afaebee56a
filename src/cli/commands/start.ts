// `oms-gateway start`: load and validate the configuration (file, then flags), start the listeners,
// reload on SIGHUP (service/operations.ts), drain on SIGTERM/SIGINT (a second signal exits at once).
import { resolve as resolvePath } from 'node:path';
import { exposedSecretsMessage, loadConfig, resolveConfigPath, type ConfigOverrides, type ExposedSecrets } from '../../config/load.js';
import { pinnedKeys } from '../../config/reload-scope.js';
import { audit, exitAfterFlush, openLog, reopenLogOnSignals } from '../../observability/logger.js';
import { startMetricsServer } from '../../observability/metrics-server.js';
import { slowPathLimits } from '../../auth/throttle.js';
import { createGatewayProcess } from '../../cluster/gateway-process.js';
import { startOperations } from '../../service/operations.js';
import { UpstreamProbe } from '../../service/upstream-probe.js';
import { parse } from '../args.js';
import { CommandFailed, UsageError } from '../errors.js';

export const START_OPTIONS = {
  config: { type: 'string' },
  listen: { type: 'string', multiple: true },
  resolve: { type: 'string', multiple: true },
  'allow-host': { type: 'string', multiple: true },
  auth: { type: 'string' },
  'log-level': { type: 'string' },
  agents: { type: 'string' },
  'policy-mode': { type: 'string' },
  'proxy-protocol-from': { type: 'string', multiple: true },
  'log-format': { type: 'string' },
  'metrics-listen': { type: 'string' },
  'pid-file': { type: 'string' },
  workers: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
} as const;

/** The flags that override the file, shared by `start` and `config check` so both see the same result. */
export function overridesFrom(values: {
  listen?: string[] | undefined;
  resolve?: string[] | undefined;
  'allow-host'?: string[] | undefined;
  auth?: string | undefined;
  'log-level'?: string | undefined;
  agents?: string | undefined;
  'policy-mode'?: string | undefined;
  'proxy-protocol-from'?: string[] | undefined;
  'log-format'?: string | undefined;
  'metrics-listen'?: string | undefined;
  'pid-file'?: string | undefined;
  workers?: string | undefined;
  'tls-cert'?: string | undefined;
  'tls-key'?: string | undefined;
}): ConfigOverrides {
  return {
    listen: values.listen,
    resolve: values.resolve,
    allowHosts: values['allow-host'],
    authMode: values.auth,
    logLevel: values['log-level'],
    agents: values.agents,
    policyMode: values['policy-mode'],
    proxyProtocolFrom: values['proxy-protocol-from'],
    logFormat: values['log-format'],
    metricsListen: values['metrics-listen'],
    pidFile: values['pid-file'] === undefined ? undefined : resolvePath(values['pid-file']),
    workers: values.workers,
    tlsCert: values['tls-cert'],
    tlsKey: values['tls-key'],
  };
}

export async function start(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse('start', args, START_OPTIONS);
  if (positionals.length > 0) throw new UsageError(`start: unexpected argument "${positionals[0]}" (see: oms-gateway start --help)`);
  const path = resolveConfigPath(values.config, process.env);
  const overrides = overridesFrom(values);
  // The log opens with the configuration, so warnings found while loading it are written once it is open.
  const exposed: ExposedSecrets[] = [];
  const config = loadConfig({ path, overrides, onExposedSecrets: (found) => exposed.push(found) });
  const log = openLog(config.log);
  const { logger } = log;
  const warnExposed = (found: ExposedSecrets): void => audit(logger, 'warn', 'secrets-exposed', { ...found }, exposedSecretsMessage(found));
  exposed.forEach(warnExposed);
  reopenLogOnSignals(log);
  const gateway = createGatewayProcess(config, log);
  // Run by the process that answers /readyz and the scrape (the supervisor, with workers), with the configuration in force.
  const upstreamProbe = new UpstreamProbe(() => gateway.runtime.config, gateway.metrics);
  // Bound before the proxy listeners, so /readyz can say "starting"; a port that cannot bind stops the start.
  const metricsServer = config.metrics.enabled
    ? await startMetricsServer({
        config: config.metrics,
        proxyAuth: config.auth,
        authLimits: slowPathLimits(config),
        metrics: gateway.metrics,
        gateway,
        logger,
        upstream: () => upstreamProbe.state(),
      })
    : undefined;
  // Reloads read the same file with the same flags, which keep overriding it.
  const operations = await startOperations({
    gateway,
    logger,
    config,
    load: () => loadConfig({ path, overrides, onExposedSecrets: warnExposed }),
    pins: { keys: pinnedKeys(overrides), loadFile: () => loadConfig({ path }) },
    applied: (next) => metricsServer?.apply(next.metrics, next.auth),
    counter: gateway.metrics,
  });

  process.on('uncaughtException', (err) => {
    logger.fatal({ event: 'error', eventId: 400, err }, 'uncaught exception: exiting so the supervisor restarts the gateway');
    exitAfterFlush(logger, 1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ event: 'error', eventId: 400, err: reason }, 'unhandled rejection: exiting so the supervisor restarts the gateway');
    exitAfterFlush(logger, 1);
  });

  // Signals are handled from before the listeners open: a SIGTERM that races start-up still drains.
  let stopping = false;
  let resolveStopped: (code: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => { resolveStopped = resolve; });
  let starting: Promise<unknown> = Promise.resolve();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      audit(logger, 'warn', 'service-stopped', { signal, outcome: 'forced' });
      logger.flush();
      process.exit(1);
    }
    stopping = true;
    audit(logger, 'info', 'signal-received', { signal }, `received ${signal}: draining`);
    void starting
      .catch(() => undefined)
      .then(() => gateway.stop(gateway.runtime.config.timeouts.shutdownGraceSeconds * 1000, gateway.runtime.config.timeouts.drainDelaySeconds * 1000))
      .then(() => metricsServer?.close())
      .then(() => {
        upstreamProbe.stop();
        operations.close();
        logger.flush();
        resolveStopped(0);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    starting = gateway.start();
    await starting;
    await operations.ready();
    upstreamProbe.start();
  } catch (err) {
    operations.close();
    await metricsServer?.close();
    const e = err as NodeJS.ErrnoException;
    audit(logger, 'error', 'error', { code: e.code }, `cannot start listeners: ${e.message}`);
    logger.flush();
    throw new CommandFailed(`cannot start listeners: ${e.message}`);
  }
  return stopped;
}
