// `oms-gateway reload [--config FILE] [--pid-file PATH]`: validate the configuration file with the
// loader `start` uses, tell the running gateway to reload it, and wait for its answer. An invalid file is
// refused here with every problem listed (exit 2) and the gateway is not disturbed; a reload the gateway
// could not apply, or did not answer, exits 1 with the reason.
import { resolve } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { describePresetEntries, presetChanges, presetSnapshot, presetSnapshotPath, readPresetSnapshot } from '../../config/preset-changes.js';
import { parse } from '../args.js';
import { CommandFailed, UsageError } from '../errors.js';
import { configPathFor } from '../edit-command.js';
import { describeNotice, notifyGateway, noticeSucceeded } from '../notify.js';

export async function reload(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse('reload', args, { config: { type: 'string' }, 'pid-file': { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError('reload: takes no arguments (see: oms-gateway reload --help)');
  const path = configPathFor('reload', values.config);
  const config = loadConfig({ path });
  const pidFile = values['pid-file'] === undefined ? config.pidFile : resolve(values['pid-file']);
  // Against the entries the gateway runs with, so that new preset data never widens the allowlist unannounced.
  const running = pidFile === undefined ? undefined : await readPresetSnapshot(presetSnapshotPath(pidFile)).catch(() => undefined);
  const presets = running === undefined ? undefined : presetChanges(running, presetSnapshot(config));
  const notice = await notifyGateway(pidFile, false);
  if (notice.status === 'not-running' || notice.status === 'no-pid-file') throw new CommandFailed(`reload: ${path} is valid, but ${describeNotice(notice)}`);
  if (values.json === true) process.stdout.write(`${JSON.stringify({ file: path, valid: true, reload: notice, ...(presets && { presets }) })}\n`);
  if (!noticeSucceeded(notice)) throw new CommandFailed(`reload: ${path} is valid, but ${describeNotice(notice)}`, { reportedAsJson: values.json === true });
  if (values.json !== true) {
    // Measured against the entries the gateway ran before it applied the file: what this reload changed.
    const lines = presets === undefined ? [] : [
      ...describePresetEntries(presets.added).map((entry) => `the reload added preset entry ${entry}`),
      ...describePresetEntries(presets.removed).map((entry) => `the reload removed preset entry ${entry}`),
    ];
    process.stdout.write(`${path} is valid; ${describeNotice(notice)}\n${lines.map((line) => `${line}\n`).join('')}`);
  }
  return 0;
}
