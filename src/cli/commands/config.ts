// `oms-gateway config check [FILE]`: runs the same loader as `start` and prints the effective
// configuration with secrets redacted. `config get|set|unset` are in config-settings.ts.
import { stringify } from 'yaml';
import { allowlistComment, describeAllowlist } from '../../config/effective-allowlist.js';
import { loadConfig, redactConfig, resolveConfigPath } from '../../config/load.js';
import { parse } from '../args.js';
import { UsageError } from '../errors.js';
import { configSettings } from './config-settings.js';
import { overridesFrom, START_OPTIONS } from './start.js';

export async function config(args: readonly string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'get' || action === 'set' || action === 'unset') return configSettings(action, rest);
  if (action !== 'check') throw new UsageError('config: expected check, get, set or unset (see: oms-gateway config --help)');
  const { values, positionals } = parse('config check', rest, { ...START_OPTIONS, json: { type: 'boolean' } });
  if (positionals.length > 1) throw new UsageError('config check: give at most one FILE');
  const path = positionals[0] ?? resolveConfigPath(values.config, process.env);
  const loaded = loadConfig({ path, overrides: overridesFrom(values) });
  const redacted = redactConfig(loaded);
  if (values.json === true) process.stdout.write(`${JSON.stringify(redacted, null, 2)}\n`);
  else {
    const presets = `# preset data version ${loaded.policy.presets.version} (oms-gateway presets list)`;
    process.stdout.write(`# ${path ?? 'embedded default configuration'}: valid\n${stringify(redacted)}${presets}\n${allowlistComment(describeAllowlist(loaded))}\n`);
  }
  return 0;
}
