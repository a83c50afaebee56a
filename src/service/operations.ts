// What `start` runs beside the gateway so that it can be operated without restarts: the pid file the
// editing commands signal through, SIGHUP reloads, the state file beside the pid file that answers them
// (service/state-file.ts), and the file watch (`watch: true`). Reloads that change `pidFile` or `watch`
// take effect here too: the pid file and its state file move, the watch starts or stops.

import { rmSync } from 'node:fs';
import {
  hasPresetChanges, presetChanges, presetSnapshot, presetSnapshotPath, readPresetSnapshot, summarizePresetChanges, writePresetSnapshot,
} from '../config/preset-changes.js';
import type { GatewayConfig } from '../config/types.js';
import { workerCount } from '../cluster/share.js';
import { packageVersion } from '../observability/build-info.js';
import { audit, type Logger } from '../observability/logger.js';
import { listenerName } from '../proxy/listener.js';
import { removePidFile, writePidFile } from './pid-file.js';
import { Reloader, type Reloadable, type ReloadCounter, type ReloaderOptions, type ReloadResult, type ReloadTrigger } from './reloader.js';
import { stateFileFor, writeStateFile } from './state-file.js';
import { watchFile, type FileWatch } from './watch.js';

export interface OperationsOptions {
  readonly gateway: Reloadable & { readonly listeners: readonly { readonly address: string; readonly port: number }[] };
  readonly logger: Logger;
  /** The configuration `start` loaded. */
  readonly config: GatewayConfig;
  /** Loads the configuration again as `start` did. Throws ConfigError. */
  readonly load: () => GatewayConfig;
  readonly pins?: ReloaderOptions['pins'];
  /** Applies a reloaded configuration to what runs beside the gateway (the metrics listener). */
  readonly applied?: (config: GatewayConfig) => void;
  readonly counter?: ReloadCounter;
}

export interface Operations {
  readonly reloader: Reloader;
  /** The listeners are up: reloads are served from now on, one asked for earlier included. */
  ready(): Promise<void>;
  /**
   * Stops watching and removes the pid file. SIGHUP stays handled (a drain ignores reloads) so that a late
   * one cannot end the process in the middle of its drain.
   */
  close(): void;
}

/**
 * Installs the SIGHUP handler (first, because SIGHUP ends a process that has none) and writes the pid file.
 * Throws PidFileError when the pid file names another running gateway.
 */
export async function startOperations(options: OperationsOptions): Promise<Operations> {
  const { logger, gateway } = options;
  const startedAt = Date.now();
  let pidFile = options.config.pidFile;
  let lastReload: ReloadResult | null = null;
  let ready = false;
  // Rewritten after every reload attempt; a failure to write is logged, never fatal to the gateway.
  const writeStateNow = async (): Promise<void> => {
    // Written once the listeners are up, so that it never names listeners that are not bound yet.
    if (pidFile === undefined || !ready) return;
    const config = gateway.runtime.config;
    await writeStateFile(pidFile, {
      pid: process.pid,
      startedAt,
      version: packageVersion(),
      configFile: config.sourcePath ?? null,
      generation: reloader.generation,
      policyMode: config.policy.mode,
      authMode: config.auth.mode,
      listeners: gateway.listeners.map(({ address, port }) => listenerName({ host: address, port })),
      workers: gateway.clustered ? workerCount(config.workers) : 1,
      lastReload,
    }).catch((err: NodeJS.ErrnoException) => audit(logger, 'error', 'error', { reason: 'state-file', code: err.code }, `cannot write the state file beside ${pidFile}: ${err.message}`));
  };
  // One write at a time, each reading the state when it runs: the write at start (with its fsync) and a
  // reload's could otherwise land out of order, the older last, and status would miss the reload.
  let stateWrites: Promise<void> = Promise.resolve();
  const writeState = (): Promise<void> => {
    stateWrites = stateWrites.then(writeStateNow);
    return stateWrites;
  };
  let watcher: FileWatch | undefined;
  let pending: ReloadTrigger | undefined;
  // Until the listeners are up, a request is remembered (the last one wins) and served by ready().
  const requestReload = (trigger: ReloadTrigger): void => {
    if (ready) void reloader.request(trigger);
    else pending = trigger;
  };

  const rewatch = async (config: GatewayConfig): Promise<void> => {
    watcher?.close();
    watcher = undefined;
    const path = config.sourcePath;
    if (!config.watch || path === undefined) return;
    watcher = await watchFile(path, {
      debounceMs: config.reload.debounceSeconds * 1000,
      onChange: () => requestReload('file-change'),
      onError: (err) => audit(logger, 'error', 'error', { reason: 'watch-failed', code: (err as NodeJS.ErrnoException).code }, `cannot watch ${path}: ${err.message}`),
    });
  };
  // The preset entries in force, beside the pid file, for `presets diff` and `reload`; at start, first what
  // they change since the last run (a package upgrade followed by a restart).
  const recordPresets = async (config: GatewayConfig, atStart: boolean): Promise<void> => {
    if (config.pidFile === undefined) return;
    const path = presetSnapshotPath(config.pidFile);
    const current = presetSnapshot(config);
    try {
      const previous = atStart ? await readPresetSnapshot(path) : undefined;
      const changes = previous === undefined ? undefined : presetChanges(previous, current);
      if (changes !== undefined && hasPresetChanges(changes)) {
        audit(logger, changes.added.length > 0 ? 'warn' : 'info', 'presets-changed', { ...changes }, `preset entries changed since the last run: ${summarizePresetChanges(changes)}`);
      }
      await writePresetSnapshot(path, current);
    } catch (err) {
      audit(logger, 'error', 'error', { reason: 'preset-snapshot' }, (err as Error).message);
    }
  };
  const moved = async (config: GatewayConfig, previous: GatewayConfig): Promise<void> => {
    options.applied?.(config);
    await recordPresets(config, false);
    if (config.pidFile !== previous.pidFile) {
      if (pidFile !== undefined) removeFiles(pidFile);
      pidFile = config.pidFile;
      if (pidFile !== undefined) await writePidFile(pidFile).catch((err: Error) => audit(logger, 'error', 'error', { reason: 'pid-file' }, err.message));
    }
    const watching = (c: GatewayConfig): string => JSON.stringify([c.watch, c.sourcePath, c.reload.debounceSeconds]);
    if (watching(config) !== watching(previous)) await rewatch(config);
  };
  const reported = async (result: ReloadResult): Promise<void> => {
    lastReload = result;
    await writeState();
  };
  const reloader = new Reloader({ gateway, logger, load: options.load, pins: options.pins, counter: options.counter, applied: moved, reported });

  const onHangUp = (): void => requestReload('SIGHUP');
  const onExit = (): void => {
    if (pidFile !== undefined) removeFiles(pidFile);
  };
  process.on('SIGHUP', onHangUp);
  process.on('exit', onExit);
  if (pidFile !== undefined) await writePidFile(pidFile);
  await recordPresets(options.config, true);
  // Watched from now on, so that a change made while the listeners open is not missed.
  await rewatch(options.config);

  return {
    reloader,
    ready: async () => {
      ready = true;
      await writeState();
      if (pending !== undefined) await reloader.request(pending);
    },
    close: () => {
      watcher?.close();
      onExit();
      process.off('exit', onExit);
    },
  };
}

/** The pid file and, if it still names this process, the state file beside it. */
function removeFiles(pidFile: string): void {
  if (removePidFile(pidFile)) rmSync(stateFileFor(pidFile), { force: true });
}
