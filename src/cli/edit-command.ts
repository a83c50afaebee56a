// What every editing command shares: `--config FILE` (found as for `start`), `--pid-file PATH`, `--json`;
// the edit validated in full and written atomically by config/edit.ts (comments kept, 0600 with secrets);
// the running gateway told to reload and its answer awaited; one outcome printed, a sentence for people or
// JSON for scripts. A gateway that could not apply the saved file fails the command (exit 1).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Document } from 'yaml';
import { editConfigFile } from '../config/edit.js';
import { loadConfig, parseConfigText, resolveConfigPath } from '../config/load.js';
import type { GatewayConfig } from '../config/types.js';
import { CommandFailed, UsageError } from './errors.js';
import { describeNotice, notifyGateway, noticeSucceeded, type Notice } from './notify.js';

export const EDIT_OPTIONS = {
  config: { type: 'string' },
  'pid-file': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The file an editing command changes: --config, else $OMS_GATEWAY_CONFIG; the embedded default cannot be edited. */
export function configPathFor(command: string, flag: string | undefined): string {
  const path = resolveConfigPath(flag, process.env);
  if (path === undefined) throw new UsageError(`${command}: no configuration file: give --config FILE or set OMS_GATEWAY_CONFIG`);
  return path;
}

/** The configuration before an edit, validated; a file that does not exist yet counts as an empty one. */
export function configBeforeEdit(path: string): GatewayConfig {
  return existsSync(path) ? loadConfig({ path }) : parseConfigText('', path);
}

export interface Committed {
  readonly config: GatewayConfig;
  readonly created: boolean;
  readonly notice: Notice;
}

/**
 * Applies `mutate` to the file, refusing (ConfigError, nothing written) when the result is not a valid
 * configuration, then signals the gateway of `--pid-file` or of the new configuration's pidFile.
 */
export async function commitEdit(
  path: string,
  mutate: (doc: Document) => void,
  options: { readonly create: boolean; readonly pidFile: string | undefined },
): Promise<Committed> {
  const result = await editConfigFile(path, mutate, { create: options.create });
  const pidFile = options.pidFile === undefined ? result.config.pidFile : resolve(options.pidFile);
  return { ...result, notice: await notifyGateway(pidFile, result.config.watch) };
}

/** Prints what an editing command did; `data` never holds a secret. Throws CommandFailed when the running gateway did not apply it. */
export function printOutcome(json: boolean, message: string, data: Readonly<Record<string, unknown>>, path: string, committed?: Committed): void {
  if (json) {
    const written = committed === undefined ? { changed: false } : { changed: true, created: committed.created, reload: committed.notice };
    process.stdout.write(`${JSON.stringify({ ...data, file: path, ...written })}\n`);
  } else {
    const created = committed?.created === true ? ' (file created)' : '';
    process.stdout.write(`${message}${created}\n`);
  }
  if (committed === undefined) return;
  if (!noticeSucceeded(committed.notice)) throw new CommandFailed(`${path} was saved, but ${describeNotice(committed.notice)}`, { reportedAsJson: json });
  if (!json) process.stdout.write(`${describeNotice(committed.notice)}\n`);
}
