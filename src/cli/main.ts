#!/usr/bin/env -S node --max-semi-space-size=8 --no-minor-gc-task
// Entry point of the `oms-gateway` command: dispatches to one module per command and maps errors to
// exit statuses (0 ok, 1 run-time failure, 2 bad usage or bad configuration).
import { ConfigError } from '../config/load.js';
import { packageVersion } from '../observability/build-info.js';
import { COMMANDS } from './commands/index.js';
import { CommandFailed, UsageError } from './errors.js';
import { survivePipeClose } from './io.js';
import { didYouMean } from '../config/suggest.js';
import { bashCompletion, manPage } from './usage-docs.js';
import { USAGE } from './usage.js';

/** Commands about the command line itself, written from the help texts (usage-docs.ts). */
function document(command: 'completion' | 'man', args: readonly string[]): number {
  const names = Object.keys(COMMANDS);
  if (command === 'man') {
    if (args.length > 0) throw new UsageError('man: takes no arguments (see: oms-gateway man --help)');
    process.stdout.write(manPage(names, packageVersion()));
    return 0;
  }
  if (args[0] !== 'bash' || args.length > 1) throw new UsageError('completion: expected bash, e.g. oms-gateway completion bash > /etc/bash_completion.d/oms-gateway');
  process.stdout.write(bashCompletion(names));
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' ? args[0] : undefined;
    if (topic !== undefined && USAGE[topic] === undefined) throw new UsageError(`help: no command "${topic}"${didYouMean(topic, Object.keys(USAGE))}`);
    process.stdout.write(USAGE[topic ?? 'main'] ?? '');
    return 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`oms-gateway ${packageVersion()}\n`);
    return 0;
  }
  const run = COMMANDS[command];
  const documenting = command === 'completion' || command === 'man';
  if (run === undefined && !documenting) {
    throw new UsageError(`unknown command "${command}"${didYouMean(command, [...Object.keys(COMMANDS), 'completion', 'man'])} (see: oms-gateway --help)`);
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE[command] ?? '');
    return 0;
  }
  return run === undefined ? document(command as 'completion' | 'man', args) : run(args);
}

/** `--json` asks for JSON on standard output, errors included: `{"ok":false,"error":{code,message[,issues]}}`. */
function jsonError(err: unknown): string {
  const code = err instanceof ConfigError || err instanceof UsageError || err instanceof CommandFailed ? err.code : 'ERROR';
  const message = err instanceof Error ? err.message : String(err);
  const issues = err instanceof ConfigError ? { issues: err.issues } : {};
  return `${JSON.stringify({ ok: false, error: { code, message, ...issues } })}\n`;
}

const argv = process.argv.slice(2);
survivePipeClose();
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`oms-gateway: ${err instanceof Error ? err.message : String(err)}\n`);
    // One JSON object per run: a command that printed its own result (saying what failed) gets no second one.
    const reported = err instanceof CommandFailed && err.reportedAsJson;
    if (argv.includes('--json') && !reported) process.stdout.write(jsonError(err));
    process.exitCode = err instanceof ConfigError || err instanceof UsageError ? 2 : 1;
  },
);
