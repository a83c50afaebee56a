// Entry point of the configuration layer: text or file → validated, deep-frozen GatewayConfig, or one
// ConfigError listing every problem. `start` and `config check` both come through here.

import { readFileSync, statSync } from 'node:fs';
import { buildConfig } from './build.js';
import { DEFAULT_CONFIG_YAML } from './defaults.js';
import { readYaml } from './document.js';
import { deepFreeze } from './freeze.js';
import { ConfigError, fromZodIssues, sortIssues, type ConfigIssue } from './issues.js';
import { parseOverrides, type ConfigOverrides } from './overrides.js';
import { loadPresetData, presetsDir } from './preset-data.js';
import { configFileSchema, type ConfigFile } from './schema.js';
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

/** What a configuration file can hold that no other user of the host should read. */
export type SecretKind = 'password hashes' | 'the relay proxy password';

/** A file the configuration was read from that holds secrets and that its group or other users can read. */
export interface ExposedSecrets {
  readonly file: string;
  /** Permission bits, octal (`0644`). */
  readonly mode: string;
  readonly holds: readonly SecretKind[];
}

/** The secrets each file holds: the configuration file itself and auth.usersFile. */
function secretsByFile(file: ConfigFile, sourcePath: string | undefined): Map<string, SecretKind[]> {
  const found = new Map<string, SecretKind[]>();
  const own: SecretKind[] = [];
  if (file.auth.users.length > 0 || file.metrics.users.length > 0) own.push('password hashes');
  if (file.relayProxy?.password !== undefined) own.push('the relay proxy password');
  if (sourcePath !== undefined && own.length > 0) found.set(sourcePath, own);
  const usersFile = file.auth.usersFile;
  if (usersFile !== undefined && usersFile.users.length > 0) found.set(usersFile.path, [...(found.get(usersFile.path) ?? []), 'password hashes']);
  return found;
}

/**
 * The files among `secrets` whose group or other users may read them (mode & 0o044). A hash can be
 * guessed against offline at any speed, so it deserves a file only the gateway's user reads.
 */
function exposedFiles(secrets: ReadonlyMap<string, readonly SecretKind[]>): ExposedSecrets[] {
  const exposed: ExposedSecrets[] = [];
  for (const [file, holds] of secrets) {
    let mode: number;
    try {
      mode = statSync(file).mode & 0o777;
    } catch {
      continue; // Read a moment ago; a file gone since is the next load's problem.
    }
    if ((mode & 0o044) !== 0) exposed.push({ file, mode: `0${mode.toString(8).padStart(3, '0')}`, holds });
  }
  return exposed;
}

/** The warning an operator reads, with the fix. */
export function exposedSecretsMessage({ file, mode, holds }: ExposedSecrets): string {
  return `${file} holds ${holds.join(' and ')} and can be read by other users (mode ${mode}): \`chmod 600 ${file}\` (owned by the gateway's user); in Kubernetes, mount it from a Secret with defaultMode: 0400`;
}

interface Compiled {
  readonly config: GatewayConfig;
  readonly secrets: ReadonlyMap<string, readonly SecretKind[]>;
}

function compile(text: string, source: string, sourcePath: string | undefined, overrides: ConfigOverrides): Compiled {
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
  return { config: deepFreeze(built.config), secrets: secretsByFile(file.data, sourcePath) };
}

/** `source` names the text in messages and becomes `sourcePath`. Throws ConfigError. */
export function parseConfigText(text: string, source: string, overrides: ConfigOverrides = {}): GatewayConfig {
  return compile(text, source, source, overrides).config;
}

export interface LoadOptions {
  readonly path: string | undefined;
  readonly overrides?: ConfigOverrides;
  /**
   * Told about each file holding secrets that its group or other users can read (start, reload and
   * `config check` warn); the configuration is loaded all the same.
   */
  readonly onExposedSecrets?: (exposed: ExposedSecrets) => void;
}

/** Reads `path`, or uses the embedded default when it is undefined. Throws ConfigError. */
export function loadConfig(options: LoadOptions): GatewayConfig {
  const { path, overrides = {}, onExposedSecrets } = options;
  if (path === undefined) return compile(DEFAULT_CONFIG_YAML, EMBEDDED_SOURCE, undefined, overrides).config;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const message = `cannot read the configuration file: ${osReason(error)}`;
    throw new ConfigError(path, [{ key: '', line: undefined, message }]);
  }
  const { config, secrets } = compile(text, path, path, overrides);
  if (onExposedSecrets !== undefined) for (const exposed of exposedFiles(secrets)) onExposedSecrets(exposed);
  return config;
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
