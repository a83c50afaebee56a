// `oms-gateway config check [FILE]`: runs the same loader as `start`, then what start would hit beyond it
// (config/preflight.ts: log and pid directories, the metrics certificate) and a tier of warnings; prints the
// effective configuration in the file's own keys, secrets redacted (--json: the effective configuration as
// the gateway holds it). -q prints nothing; --strict makes warnings fail. `config get|set|unset` are in
// config-settings.ts.
import { stringify } from 'yaml';
import { allowlistComment, describeAllowlist } from '../../config/effective-allowlist.js';
import { fileView } from '../../config/file-view.js';
import { ConfigError, exposedSecretsMessage, loadConfig, redactConfig, resolveConfigPath } from '../../config/load.js';
import { preflight, type Finding } from '../../config/preflight.js';
import { parse } from '../args.js';
import { CommandFailed, UsageError } from '../errors.js';
import { configSettings } from './config-settings.js';
import { overridesFrom, START_OPTIONS } from './start.js';

const CHECK_OPTIONS = {
  ...START_OPTIONS,
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  strict: { type: 'boolean' },
} as const;

type CheckValues = ReturnType<typeof parse<typeof CHECK_OPTIONS>>['values'];

/** Exit status of `config check --strict` when the configuration is valid but has warnings. */
const WARNINGS_EXIT = 1;

export async function config(args: readonly string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'get' || action === 'set' || action === 'unset') return configSettings(action, rest);
  if (action !== 'check') throw new UsageError('config: expected check, get, set or unset (see: oms-gateway config --help)');
  const { values, positionals } = parse('config check', rest, CHECK_OPTIONS);
  if (positionals.length > 1) throw new UsageError('config check: give at most one FILE');
  if (values.quiet !== true) return check(values, positionals[0]);
  // For scripts: the exit status alone.
  try {
    return await check(values, positionals[0]);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UsageError) return 2;
    throw err;
  }
}

async function check(values: CheckValues, file: string | undefined): Promise<number> {
  const path = file ?? resolveConfigPath(values.config, process.env);
  const source = path ?? 'embedded default configuration';
  const loaded = loadConfig({
    path,
    overrides: overridesFrom(values),
    onExposedSecrets: (found) => {
      if (values.quiet !== true) process.stderr.write(`warning: ${exposedSecretsMessage(found)}\n`);
    },
  });
  const { errors, warnings } = preflight(loaded);
  const lines = (findings: readonly Finding[]): string => findings.map(({ key, message }) => `${source}: ${key}: ${message}`).join('\n');
  if (errors.length > 0) {
    // Valid as a file, but start would stop on it: a configuration problem (exit 2), as the loader's are.
    throw new UsageError(`config check: ${source} is valid, but start would fail:\n${lines(errors)}`);
  }
  if (values.quiet !== true) {
    if (values.json === true) process.stdout.write(`${JSON.stringify(redactConfig(loaded), null, 2)}\n`);
    else {
      const presets = `# preset data version ${loaded.policy.presets.version} (oms-gateway presets list)`;
      process.stdout.write(`# ${source}: valid${warnings.length > 0 ? ` (${warnings.length} warnings)` : ''}\n${stringify(fileView(loaded))}${presets}\n${allowlistComment(describeAllowlist(loaded))}\n`);
    }
    for (const warning of warnings) process.stderr.write(`warning: ${warning.key}: ${warning.message}\n`);
  }
  if (values.strict === true && warnings.length > 0) {
    if (values.quiet === true) return WARNINGS_EXIT;
    throw new CommandFailed(`config check --strict: ${warnings.length} warning(s)`);
  }
  return 0;
}
