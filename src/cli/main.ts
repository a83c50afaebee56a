#!/usr/bin/env node
// Entry point of the `oms-gateway` command: dispatches to one module per command and maps errors to
// exit statuses (0 ok, 1 run-time failure, 2 bad usage or bad configuration).
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load.js';
import { config } from './commands/config.js';
import { start } from './commands/start.js';
import { user } from './commands/user.js';
import { CommandFailed, UsageError } from './errors.js';
import { USAGE } from './usage.js';

const COMMANDS: Readonly<Record<string, (args: readonly string[]) => Promise<number>>> = { start, config, user };

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' ? args[0] : undefined;
    process.stdout.write(USAGE[topic ?? 'main'] ?? USAGE.main ?? '');
    return 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`oms-gateway ${version()}\n`);
    return 0;
  }
  const run = COMMANDS[command];
  if (run === undefined) throw new UsageError(`unknown command "${command}" (see: oms-gateway --help)`);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE[command] ?? '');
    return 0;
  }
  return run(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof UsageError) {
      process.stderr.write(`oms-gateway: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof CommandFailed) {
      process.stderr.write(`oms-gateway: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`oms-gateway: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
