// Entry point of the configuration layer: text or file → validated, deep-frozen GatewayConfig, or one
// ConfigError listing every problem. `start` and `config check` both come through here.

import { readFileSync } from 'node:fs';
import { buildConfig } from './build.js';
import { DEFAULT_CONFIG_YAML } from './defaults.js';
import { readYaml } from './document.js';
import { deepFreeze } from './freeze.js';
import { ConfigError, fromZodIssues, sortIssues, type ConfigIssue } from './issues.js';
import { parseOverrides, type ConfigOverrides } from './overrides.js';
import { loadPresetData, presetsDir } from './preset-data.js';
import { configFileSchema } from './schema.js';
import type { GatewayConfig } from './types.js';

export { ConfigError, type ConfigIssue } from './issues.js';
export type { ConfigOverrides } from './overrides.js';
export { redactConfig } from './redact.js';

/** How the embedded default is named in messages. */
export const EMBEDDED_SOURCE = '(embedded default configuration)';
export const CONFIG_ENV = 'OMS_GATEWAY_CONFIG';

/** A key with no value (`allowedHosts:` with every item commented out) means the key's default. */
function withoutEmptyKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmptyKeys);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value).filter(([, child]) => child !== null);
  return Object.fromEntries(entries.map(([key, child]) => [key, withoutEmptyKeys(child)]));
}

function compile(text: string, source: string, sourcePath: string | undefined, overrides: ConfigOverrides): GatewayConfig {
  const flags = parseOverrides(overrides);
  const yaml = readYaml(text);
  if (!yaml.ok) throw new ConfigError(source, sortIssues([...yaml.issues, ...flags.issues]));
  const file = configFileSchema.safeParse(withoutEmptyKeys(yaml.value ?? {}));
  const fileIssues: ConfigIssue[] = file.success ? [] : fromZodIssues(file.error.issues, yaml.locate);
  if (!file.success || flags.issues.length > 0) {
    throw new ConfigError(source, sortIssues([...fileIssues, ...flags.issues]));
  }
  // Read with every load, so that a reload applies newly installed preset data (and says what it adds).
  const presets = loadPresetData(presetsDir(process.env));
  const built = buildConfig(file.data, flags.values, sourcePath, yaml.locate, presets);
  if (!built.ok) throw new ConfigError(source, built.issues);
  return deepFreeze(built.config);
}

/** `source` names the text in messages and becomes `sourcePath`. Throws ConfigError. */
export function parseConfigText(text: string, source: string, overrides: ConfigOverrides = {}): GatewayConfig {
  return compile(text, source, source, overrides);
}

/** Reads `path`, or uses the embedded default when it is undefined. Throws ConfigError. */
export function loadConfig(options: { path: string | undefined; overrides?: ConfigOverrides }): GatewayConfig {
  const { path, overrides = {} } = options;
  if (path === undefined) return compile(DEFAULT_CONFIG_YAML, EMBEDDED_SOURCE, undefined, overrides);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const message = `cannot read the configuration file: ${osReason(error)}`;
    throw new ConfigError(path, [{ key: '', line: undefined, message }]);
  }
  return compile(text, path, path, overrides);
}

/** `--config` wins, then OMS_GATEWAY_CONFIG (ignored when empty), else the embedded default. */
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag !== undefined) return flag;
  const fromEnv = env[CONFIG_ENV];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

/** "no such file or directory (ENOENT)" from Node's "ENOENT: no such file or directory, open '/x'". */
function osReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const description = error.message.replace(/^[A-Z0-9_]+: /, '').replace(/, \w+ '.*'$/s, '');
  return code === undefined ? description : `${description} (${code})`;
}
