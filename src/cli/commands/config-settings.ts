// `oms-gateway config get [KEY]`, `config set KEY VALUE`, `config unset KEY` (Get-/Set-OMSGatewayConfig):
// single settings of the file by their dotted key, as written in the file. Secrets have commands of their
// own (a value on the command line is visible to every user in `ps`).
import { readFile } from 'node:fs/promises';
import { DEFAULT_CONFIG_YAML } from '../../config/defaults.js';
import { ConfigError, EMBEDDED_SOURCE, resolveConfigPath } from '../../config/load.js';
import { findSettingKey, readSettings, SETTING_KEYS, type Setting, type SettingKey } from '../../config/settings.js';
import { setValue } from '../../config/yaml-lists.js';
import { parse } from '../args.js';
import { UsageError } from '../errors.js';
import { commitEdit, configPathFor, EDIT_OPTIONS, printOutcome } from '../edit-command.js';
import { printTable } from '../io.js';
import { parseSettingValue } from '../setting-value.js';
import { didYouMean } from '../../config/suggest.js';

/** Keys that `config set` refuses, and the command that changes them instead. */
const OWN_COMMANDS: readonly [RegExp, string][] = [
  [/^auth\.users(?:\.|$)/, 'manage users with `oms-gateway user add|remove NAME`'],
  [/^metrics\.users(?:\.|$)/, 'users are added with their own command, never with a password on the command line'],
  [/(?:^|\.)password(?:Hash)?$/, 'a password on the command line is visible in `ps`; use `oms-gateway relay-proxy set URL --username NAME --password-stdin`'],
];

function settingKey(command: string, text: string | undefined): SettingKey {
  if (text === undefined) throw new UsageError(`${command}: give a KEY such as timeouts.connectSeconds (all keys: oms-gateway config get)`);
  const key = findSettingKey(text);
  if (key === undefined) throw new UsageError(`${command}: unknown key "${text}"${didYouMean(text, SETTING_KEYS.map((k) => k.path))} (all keys: oms-gateway config get)`);
  return key;
}

function refuseOwnCommand(command: string, key: SettingKey): void {
  const own = OWN_COMMANDS.find(([pattern]) => pattern.test(key.path));
  if (own !== undefined) throw new UsageError(`${command}: ${key.path}: ${own[1]}`);
}

function shown(value: unknown): string {
  if (value === null || value === undefined) return '(not set)';
  if (Array.isArray(value) && value.every((item) => typeof item !== 'object')) return value.join(', ');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

async function readText(path: string | undefined): Promise<{ text: string; source: string }> {
  if (path === undefined) return { text: DEFAULT_CONFIG_YAML, source: EMBEDDED_SOURCE };
  try {
    return { text: await readFile(path, 'utf8'), source: path };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(path, [{ key: '', line: undefined, message: `cannot read the configuration file (${code})` }]);
  }
}

async function get(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse('config get', args, { config: { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length > 1) throw new UsageError('config get: give at most one KEY');
  const { text, source } = await readText(resolveConfigPath(values.config, process.env));
  const settings = readSettings(text, source);
  const json = values.json === true;
  if (positionals[0] === undefined) {
    const all = settings.all();
    if (json) process.stdout.write(`${JSON.stringify({ file: source, settings: all })}\n`);
    else process.stdout.write(`${printTable([['KEY', 'VALUE', 'SOURCE'], ...all.map((s) => [s.key, shown(s.value), s.source])])}\n`);
    return 0;
  }
  const setting: Setting = settings.get(settingKey('config get', positionals[0]).path);
  if (json) process.stdout.write(`${JSON.stringify({ file: source, ...setting })}\n`);
  else if (Array.isArray(setting.value)) process.stdout.write(setting.value.map((item) => `${shown(item)}\n`).join(''));
  else process.stdout.write(`${shown(setting.value)}\n`);
  return 0;
}

async function set(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse('config set', args, EDIT_OPTIONS);
  const [keyText, valueText, ...extra] = positionals;
  if (valueText === undefined || extra.length > 0) throw new UsageError('config set: give KEY and one VALUE (quote a list: \'[public, usgov]\')');
  const key = settingKey('config set', keyText);
  refuseOwnCommand('config set', key);
  if (key.mapping) throw new UsageError(`config set: ${key.path} is a group of settings: set them one by one (all keys: oms-gateway config get)`);
  let value = parseSettingValue(key.path, valueText);
  if (value === null || value === undefined) throw new UsageError(`config set: no VALUE for ${key.path}; \`oms-gateway config unset ${key.path}\` goes back to the default`);
  if (key.list && !Array.isArray(value)) value = [value];
  const path = configPathFor('config set', values.config);
  const committed = await commitEdit(path, (doc) => setValue(doc, key.path.split('.'), value), { create: true, pidFile: values['pid-file'] });
  printOutcome(values.json === true, `set ${key.path} = ${shown(value)} in ${path}`, { action: 'set', key: key.path, value }, path, committed);
  return 0;
}

async function unset(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse('config unset', args, EDIT_OPTIONS);
  if (positionals.length !== 1) throw new UsageError('config unset: give exactly one KEY');
  const key = settingKey('config unset', positionals[0]);
  refuseOwnCommand('config unset', key);
  const path = configPathFor('config unset', values.config);
  const parts = key.path.split('.');
  const { text } = await readText(path);
  if (readSettings(text, path).get(key.path).source === 'default') {
    printOutcome(values.json === true, `${key.path} is not set in ${path}: it already has its default`, { action: 'unset', key: key.path }, path);
    return 0;
  }
  const committed = await commitEdit(path, (doc) => doc.deleteIn(parts), { create: false, pidFile: values['pid-file'] });
  printOutcome(values.json === true, `removed ${key.path} from ${path}: it has its default now`, { action: 'unset', key: key.path }, path, committed);
  return 0;
}

export function configSettings(action: 'get' | 'set' | 'unset', args: readonly string[]): Promise<number> {
  switch (action) {
    case 'get':
      return get(args);
    case 'set':
      return set(args);
    case 'unset':
      return unset(args);
  }
}
