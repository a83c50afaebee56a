// The configuration a deployment file makes the gateway run with: its `start` arguments go through the real
// command-line parser and the real configuration loader, so a deployment file that passes an unknown flag,
// or a default that changes in the source, shows up as a failing test rather than as a broken rollout.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '../../src/cli/args.js';
import { overridesFrom, START_OPTIONS } from '../../src/cli/commands/start.js';
import { loadConfig, parseConfigText, resolveConfigPath } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/types.js';
import { REPO_ROOT } from '../fixtures/gateway.js';

export const DEPLOY_DIR = join(REPO_ROOT, 'deploy');

export function readRepoFile(...path: string[]): string {
  return readFileSync(join(REPO_ROOT, ...path), 'utf8');
}

/** The gateway's own defaults: the embedded configuration with no flags. */
export function defaultConfig(): GatewayConfig {
  return loadConfig({ path: undefined });
}

/**
 * `argv` is what follows the CLI's main.js (e.g. ['start', '--metrics-listen', '0.0.0.0:9464']); `env` the
 * process environment the deployment sets; `fileText` maps the configuration path the gateway would read
 * (from --config or OMS_GATEWAY_CONFIG) to the text the deployment puts there.
 */
export function effectiveConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  fileText: (path: string) => string,
): GatewayConfig {
  const [command, ...flags] = argv;
  if (command !== 'start') throw new Error(`expected the start command, got ${JSON.stringify(argv)}`);
  const { values, positionals } = parse('start', flags, START_OPTIONS);
  if (positionals.length > 0) throw new Error(`start takes no positional arguments: ${JSON.stringify(positionals)}`);
  const overrides = overridesFrom(values);
  const path = resolveConfigPath(values.config, env);
  return path === undefined ? loadConfig({ path, overrides }) : parseConfigText(fileText(path), path, overrides);
}

/** Whether a listener address accepts connections from other hosts (all IPv4 or all IPv6 addresses). */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}
