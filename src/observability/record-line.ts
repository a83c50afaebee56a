// An audit record as one JSON line in one serialisation pass. pino builds a line key by key, quoting and
// concatenating each value: about 5 KB of short-lived strings for a 600-byte record, three records per
// tunnel, which is a quarter of what a tunnel set-up allocates (docs/performance.md, issue 14). Here
// JSON.stringify writes the record's fields in one go; pino still owns the level label, the time, the
// bindings (`pid`, a worker's `worker`) and the destination, read through its public `pino.symbols`, so
// the line is the one `logger.info(record, msg)` would write.
import { pino, type Level, type Logger } from 'pino';

const lsCacheSym: typeof pino.symbols.lsCacheSym = pino.symbols.lsCacheSym;
const timeSym: typeof pino.symbols.timeSym = pino.symbols.timeSym;
const chindingsSym: typeof pino.symbols.chindingsSym = pino.symbols.chindingsSym;
const streamSym: typeof pino.symbols.streamSym = pino.symbols.streamSym;
const needsMetadataGsym: typeof pino.symbols.needsMetadataGsym = pino.symbols.needsMetadataGsym;
const formattersSym: typeof pino.symbols.formattersSym = pino.symbols.formattersSym;
const hooksSym: typeof pino.symbols.hooksSym = pino.symbols.hooksSym;

/** The members of a pino logger a line is built from, as pino's own `write` reads them. */
interface LoggerInternals {
  readonly [lsCacheSym]: Readonly<Record<number, string>>;
  readonly [timeSym]: () => string;
  readonly [chindingsSym]: string;
  readonly [streamSym]: { write(line: string): unknown; readonly [needsMetadataGsym]?: boolean };
  /** The logger's own `formatters.log` (the gateway's censors credentials) and `hooks.streamWrite` (escapes). */
  readonly [formattersSym]: { readonly log?: (record: Readonly<Record<string, unknown>>) => Record<string, unknown> };
  readonly [hooksSym]: { readonly streamWrite?: (line: string) => string };
}

/** pino's error key: its value goes through pino's error serialiser, which a plain stringify would not apply. */
const ERROR_KEY = 'err';

/**
 * Writes `record` at `level` as the line pino would, with `message` as its `msg`, through the logger's own
 * `formatters.log` and `hooks.streamWrite`. Returns false, having written
 * nothing, for a record only pino can write: one with an error under `err`, a value JSON cannot hold (a
 * cycle, a BigInt), or a destination that wants each record's metadata (pino.multistream).
 */
export function writeRecordLine(logger: Logger, level: Level, record: Readonly<Record<string, unknown>>, message: string): boolean {
  const internals = logger as unknown as LoggerInternals;
  const stream = internals[streamSym];
  if (stream[needsMetadataGsym] === true || record[ERROR_KEY] !== undefined) return false;
  let body: string;
  try {
    const format = internals[formattersSym].log;
    body = JSON.stringify(format === undefined ? record : format(record));
  } catch {
    return false;
  }
  const head = internals[lsCacheSym][logger.levels.values[level] ?? 0];
  if (head === undefined) return false;
  // body is `{…}`: the level, time and bindings come before its members and the message after them, as pino orders them.
  const members = body.length > 2 ? `,${body.slice(1, -1)}` : '';
  const line = `${head}${internals[timeSym]()}${internals[chindingsSym]}${members},"msg":${JSON.stringify(message)}}\n`;
  const streamWrite = internals[hooksSym].streamWrite;
  stream.write(streamWrite === undefined ? line : streamWrite(line));
  return true;
}
