#!/usr/bin/env node
// Entry point of the `oms-gateway` command: dispatches to one module per command and maps errors to
// exit statuses (0 ok, 1 run-time failure, 2 bad usage or bad configuration).
import { ConfigError } from '../config/load.js';
import { packageVersion } from '../observability/build-info.js';
import { agentConfig } from './commands/agent-config.js';
import { allowedClientCert } from './commands/allowed-client-cert.js';
import { allowedHost } from './commands/allowed-host.js';
import { cert } from './commands/cert.js';
import { config } from './commands/config.js';
import { doctor } from './commands/doctor.js';
import { presets } from './commands/presets.js';
import { relayProxy } from './commands/relay-proxy.js';
import { reload } from './commands/reload.js';
import { start } from './commands/start.js';
import { status } from './commands/status.js';
import { user } from './commands/user.js';
import { CommandFailed, UsageError } from './errors.js';
import { USAGE } from './usage.js';

const COMMANDS: Readonly<Record<string, (args: readonly string[]) => Promise<number>>> = {
  start,
  config,
  user,
  status,
  'allowed-host': allowedHost,
  'allowed-client-cert': allowedClientCert,
  'relay-proxy': relayProxy,
  reload,
  doctor,
  'agent-config': agentConfig,
  cert,
  presets,
};

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' ? args[0] : undefined;
    process.stdout.write(USAGE[topic ?? 'main'] ?? USAGE.main ?? '');
    return 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`oms-gateway ${packageVersion()}\n`);
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
