// One configuration reload, however it was asked for (SIGHUP, `oms-gateway reload`, a watched file):
// load and validate with the same loader and flags as `start`; an invalid file keeps the running
// configuration (logged as config-invalid, counted); a valid one is applied by the gateway and logged with
// what changed. Reloads never overlap: requests that arrive during one are folded into one more.

import { ConfigError } from '../config/load.js';
import { diffConfigs } from '../config/diff.js';
import { presetChanges, presetSnapshot, summarizePresetChanges } from '../config/preset-changes.js';
import type { GatewayConfig } from '../config/types.js';
import { audit, type Logger } from '../observability/logger.js';
import { auditPolicyMode } from '../proxy/audit-records.js';
import type { ReloadReport } from '../proxy/gateway.js';

export type ReloadTrigger = 'SIGHUP' | 'file-change';
export type ReloadOutcome = 'applied' | 'invalid' | 'failed' | 'skipped';

/** Counts reloads (metrics.ts's configLoaded); called once per attempt. */
export interface ReloadCounter {
  configLoaded(ok: boolean, reload: boolean): void;
}

/** What a reload acts on: the gateway in this process, or the supervisor of its workers (cluster/service.ts). */
export interface Reloadable {
  readonly draining: boolean;
  readonly runtime: { readonly config: GatewayConfig };
  reload(config: GatewayConfig): Promise<ReloadReport>;
}

export interface ReloaderOptions {
  readonly gateway: Reloadable;
  readonly logger: Logger;
  /** Loads the configuration as `start` did: same file, same command-line flags. Throws ConfigError. */
  readonly load: () => GatewayConfig;
  readonly counter?: ReloadCounter;
  /** Runs after a configuration was applied, with the one it replaced. */
  readonly applied?: (config: GatewayConfig, previous: GatewayConfig) => Promise<void> | void;
}

export class Reloader {
  readonly #options: ReloaderOptions;
  #running: Promise<ReloadOutcome> | undefined;
  #queued: Promise<ReloadOutcome> | undefined;

  constructor(options: ReloaderOptions) {
    this.#options = options;
  }

  /** Reloads now, or once more after the reload in progress; resolves with what happened. */
  request(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    if (this.#running === undefined) {
      this.#running = this.#reload(trigger).finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    }
    this.#queued ??= this.#running.then(() => {
      this.#queued = undefined;
      return this.request(trigger);
    });
    return this.#queued;
  }

  async #reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const { gateway, logger, counter } = this.#options;
    if (gateway.draining) return 'skipped';
    let config: GatewayConfig;
    try {
      config = this.#options.load();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      counter?.configLoaded(false, true);
      audit(logger, 'error', 'config-invalid', {
        trigger,
        issues: err.issues.map(({ key, line, message }) => ({ key, line, message })),
      }, `configuration not reloaded, the running one is kept:\n${err.message}`);
      return 'invalid';
    }
    const previous = gateway.runtime.config;
    try {
      const report = await gateway.reload(config);
      counter?.configLoaded(true, true);
      // Preset entries a reload adds are named, so new preset data never widens the allowlist silently.
      const presets = presetChanges(presetSnapshot(previous), presetSnapshot(config));
      audit(logger, 'info', 'config-reloaded', { trigger, changes: diffConfigs(previous, config), presets, ...report }, `configuration reloaded; ${summarizePresetChanges(presets)}`);
      // Once for the whole gateway, however many workers applied it.
      auditPolicyMode(logger, config.policy);
    } catch (err) {
      counter?.configLoaded(false, true);
      const e = err as NodeJS.ErrnoException;
      audit(logger, 'error', 'reload-failed', { trigger, reason: e.code ?? 'error' }, `configuration not reloaded, the running one is kept: ${e.message}`);
      return 'failed';
    }
    await this.#options.applied?.(config, previous);
    return 'applied';
  }
}
