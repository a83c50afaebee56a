// Thin wrapper over node:util parseArgs that turns its errors into UsageError in our own words, naming the
// command, the option, the closest known option and every option the command takes.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';
import { didYouMean } from '../config/suggest.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** The option parseArgs complained about, as the user wrote it (its messages quote it). */
function optionIn(message: string): string {
  return /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? '';
}

function explain(command: string, err: unknown, options: Options): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  const option = optionIn(message);
  const known = Object.keys(options).map((name) => `--${name}`);
  const name = option.replace(/=.*$/, '');
  const spec = options[name.replace(/^-+/, '')];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${name}${didYouMean(name, known)}; ${command} takes ${[...known, '--help'].join(', ')}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return spec?.type === 'boolean' ? `${name} takes no value` : `${name} needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${option}`;
    default:
      return message;
  }
}

export function parse<T extends Options>(command: string, args: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(`${command}: ${explain(command, err, options)} (see: oms-gateway ${command.split(' ')[0] ?? command} --help)`);
  }
}
