// One configuration reload, however it was asked for (SIGHUP, `oms-gateway reload`, a watched file):
// load and validate with the same loader and flags as `start`; an invalid file keeps the running
// configuration (logged as config-invalid, counted); a valid one is applied by the gateway and logged with
// what changed, what waits for a restart (keys read only at start keep their running value) and what a flag
// of `start` pins. Every attempt ends in one ReloadResult, which the commands that asked for it read back
// (service/state-file.ts). Reloads never overlap: requests that arrive during one are folded into one more.

import { ConfigError } from '../config/load.js';
import { diffConfigs, type ConfigChange } from '../config/diff.js';
import { pinnedChanges, scopeReload, type FlagPin, type PinnedChange } from '../config/reload-scope.js';
import { presetChanges, presetSnapshot, summarizePresetChanges } from '../config/preset-changes.js';
import type { GatewayConfig } from '../config/types.js';
import { audit, type Logger } from '../observability/logger.js';
import { auditPolicyMode } from '../proxy/audit-records.js';
import type { ReloadReport } from '../proxy/gateway.js';
import type { ReloadResult, ReloadTrigger } from './state-file.js';

export type { ReloadOutcome, ReloadResult, ReloadTrigger } from './state-file.js';

/** Counts reloads (metrics.ts's configLoaded); called once per attempt. */
export interface ReloadCounter {
  configLoaded(ok: boolean, reload: boolean): void;
}

/** What a reload acts on: the gateway in this process, or the supervisor of its workers (cluster/gateway-process.ts). */
export interface Reloadable {
  readonly draining: boolean;
  /** Runs worker processes under a supervisor, which can start and retire workers at reload. */
  readonly clustered: boolean;
  readonly runtime: { readonly config: GatewayConfig };
  reload(config: GatewayConfig): Promise<ReloadReport>;
}

export interface ReloaderOptions {
  readonly gateway: Reloadable;
  readonly logger: Logger;
  /** Loads the configuration as `start` did: same file, same command-line flags. Throws ConfigError. */
  readonly load: () => GatewayConfig;
  /** The keys the flags of `start` set, and how to read the file without them (to see what they hide). */
  readonly pins?: { readonly keys: readonly FlagPin[]; readonly loadFile: () => GatewayConfig };
  readonly counter?: ReloadCounter;
  /** Runs after the gateway applied a configuration, with the one it replaced; part of the reload. */
  readonly applied?: (config: GatewayConfig, previous: GatewayConfig) => Promise<void> | void;
  /** Receives the outcome of every attempt. */
  readonly reported?: (result: ReloadResult) => Promise<void> | void;
}

export class Reloader {
  readonly #options: ReloaderOptions;
  #running: Promise<ReloadResult> | undefined;
  #queued: Promise<ReloadResult> | undefined;
  #generation = 1;
  /** The file alone, as last applied; undefined without pins or when it cannot be read without the flags. */
  #fileView: GatewayConfig | undefined;

  constructor(options: ReloaderOptions) {
    this.#options = options;
    this.#fileView = this.#readFileView();
  }

  /** The configuration generation in force: 1 at start, one more per applied reload. */
  get generation(): number {
    return this.#generation;
  }

  /** Reloads now, or once more after the reload in progress; resolves with what happened. */
  request(trigger: ReloadTrigger): Promise<ReloadResult> {
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

  #readFileView(): GatewayConfig | undefined {
    try {
      return this.#options.pins?.loadFile();
    } catch (err) {
      // Valid only with the flags (or unreadable): nothing to compare, so nothing is reported as pinned.
      if (err instanceof ConfigError) return undefined;
      throw err;
    }
  }

  async #reload(trigger: ReloadTrigger): Promise<ReloadResult> {
    const { gateway, logger, counter } = this.#options;
    const startedAt = Date.now();
    // The state file is written before the record: whoever reads the record and then asks `status` sees it.
    const finish = async (fields: Pick<ReloadResult, 'outcome'> & Partial<ReloadResult>): Promise<ReloadResult> => {
      const result: ReloadResult = { trigger, generation: this.#generation, startedAt, finishedAt: Date.now(), changes: [], restartRequired: [], pinned: [], ...fields };
      await this.#options.reported?.(result);
      return result;
    };
    if (gateway.draining) return finish({ outcome: 'skipped', reason: 'draining', message: 'the gateway is shutting down' });
    let loaded: GatewayConfig;
    try {
      loaded = this.#options.load();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      counter?.configLoaded(false, true);
      const result = await finish({ outcome: 'invalid', reason: 'config-invalid', message: err.message });
      audit(logger, 'error', 'config-invalid', {
        trigger,
        issues: err.issues.map(({ key, line, message }) => ({ key, line, message })),
      }, `configuration not reloaded, the running one is kept:\n${err.message}`);
      return result;
    }
    const previous = gateway.runtime.config;
    const all = diffConfigs(previous, loaded);
    const { config, restartRequired } = scopeReload(previous, loaded, all, gateway.clustered);
    const changes = all.filter((change) => !restartRequired.includes(change));
    const fileView = this.#readFileView();
    const pinned = this.#options.pins === undefined || this.#fileView === undefined || fileView === undefined
      ? []
      : pinnedChanges(diffConfigs(this.#fileView, fileView), this.#options.pins.keys);
    let report: ReloadReport;
    try {
      report = await gateway.reload(config);
      await this.#options.applied?.(config, previous);
    } catch (err) {
      counter?.configLoaded(false, true);
      const e = err as NodeJS.ErrnoException;
      const reason = e.code ?? 'error';
      const result = await finish({ outcome: 'failed', reason, message: e.message });
      audit(logger, 'error', 'reload-failed', { trigger, reason }, `configuration not reloaded, the running one is kept: ${e.message}`);
      return result;
    }
    this.#generation += 1;
    this.#fileView = fileView;
    counter?.configLoaded(true, true);
    // Preset entries a reload adds are named, so new preset data never widens the allowlist silently.
    const presets = presetChanges(presetSnapshot(previous), presetSnapshot(config));
    const result = await finish({ outcome: 'applied', changes, restartRequired, pinned });
    audit(
      logger,
      'info',
      'config-reloaded',
      { trigger, generation: this.#generation, changes, restartRequired, pinned, presets, ...report },
      `${reloadedMessage(this.#generation, restartRequired, pinned)}; ${summarizePresetChanges(presets)}`,
    );
    // Once for the whole gateway, however many workers applied it.
    auditPolicyMode(logger, config.policy);
    return result;
  }
}

function reloadedMessage(generation: number, restartRequired: readonly ConfigChange[], pinned: readonly PinnedChange[]): string {
  const parts = [`configuration reloaded (generation ${generation})`];
  if (restartRequired.length > 0) parts.push(`needs a restart, the running value is kept: ${restartRequired.map((c) => c.key).join(', ')}`);
  if (pinned.length > 0) parts.push(`not applied, set by a flag of start: ${pinned.map((c) => `${c.key} (${c.flag})`).join(', ')}`);
  return parts.join('; ');
}
