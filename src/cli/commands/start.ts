// `oms-gateway start`: load and validate the configuration (file, then flags), start the listeners,
// drain on SIGTERM/SIGINT (a second signal exits at once).
import { loadConfig, resolveConfigPath, type ConfigOverrides } from '../../config/load.js';
import { audit, createLogger } from '../../observability/logger.js';
import { Gateway } from '../../proxy/gateway.js';
import { parse } from '../args.js';
import { CommandFailed, UsageError } from '../errors.js';

export const START_OPTIONS = {
  config: { type: 'string' },
  listen: { type: 'string', multiple: true },
  resolve: { type: 'string', multiple: true },
  'allow-host': { type: 'string', multiple: true },
  auth: { type: 'string' },
  'log-level': { type: 'string' },
} as const;

/** The flags that override the file, shared by `start` and `config check` so both see the same result. */
export function overridesFrom(values: {
  listen?: string[] | undefined;
  resolve?: string[] | undefined;
  'allow-host'?: string[] | undefined;
  auth?: string | undefined;
  'log-level'?: string | undefined;
}): ConfigOverrides {
  return {
    listen: values.listen,
    resolve: values.resolve,
    allowHosts: values['allow-host'],
    authMode: values.auth,
    logLevel: values['log-level'],
  };
}

export async function start(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse('start', args, START_OPTIONS);
  if (positionals.length > 0) throw new UsageError(`start: unexpected argument "${positionals[0]}" (see: oms-gateway start --help)`);
  const config = loadConfig({ path: resolveConfigPath(values.config, process.env), overrides: overridesFrom(values) });
  const logger = createLogger(config.log.level);
  const gateway = new Gateway(config, logger);

  process.on('uncaughtException', (err) => {
    logger.fatal({ event: 'error', eventId: 400, err }, 'uncaught exception: exiting so the supervisor restarts the gateway');
    logger.flush();
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ event: 'error', eventId: 400, err: reason }, 'unhandled rejection: exiting so the supervisor restarts the gateway');
    logger.flush();
    process.exit(1);
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
    logger.info({ event: 'signal', signal }, `received ${signal}: draining`);
    void starting
      .catch(() => undefined)
      .then(() => gateway.stop(config.timeouts.shutdownGraceSeconds * 1000))
      .then(() => {
        logger.flush();
        resolveStopped(0);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    starting = gateway.start();
    await starting;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    audit(logger, 'error', 'error', { code: e.code }, `cannot start listeners: ${e.message}`);
    logger.flush();
    throw new CommandFailed(`cannot start listeners: ${e.message}`);
  }
  return stopped;
}
