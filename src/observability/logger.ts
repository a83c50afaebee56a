// pino logger for the audit trail and service messages: JSON lines (or pretty lines for a person at a
// terminal) on standard output by default (journald, containers) or appended to a file that logrotate can
// move away. The destination is asynchronous so logging never blocks the data path.
import { closeSync, constants, fchmodSync, fchownSync, openSync, statSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino, type DestinationStream, type Level, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import type { LogConfig } from '../config/types.js';
import { censorCredentials } from './censor.js';
import { EVENTS, type EventName } from './events.js';
import { LineBlocks } from './line-blocks.js';
import { PipeDestination } from './pipe-destination.js';
import { writeRecordLine } from './record-line.js';

export type { Logger } from 'pino';

const LOG_FLUSH_MS = 100;

/**
 * Characters JSON leaves raw that still break or disguise a log line: C1 controls (NEL), the Unicode line and
 * paragraph separators (line breaks to JavaScript and to many log viewers) and the bidirectional controls
 * (Trojan Source, CVE-2021-42574). A user name or header value may carry any of them; CR, LF and the other
 * C0 controls are escaped by JSON itself.
 */
const UNSAFE_IN_LINE = /[\u0080-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * Writes each such character as its JSON escape (`\u2028`). The characters occur only inside string values,
 * so a JSON line stays valid JSON with the same values; a pretty line shows the escape instead.
 */
export function escapeUnsafeCharacters(text: string): string {
  return text.replace(UNSAFE_IN_LINE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface LogHandle {
  readonly logger: Logger;
  /** The log file, or undefined for standard output. */
  readonly file: string | undefined;
  /** Reopens the log file after logrotate moved it; standard output needs no reopening. */
  reopen(): void;
  /**
   * Passes complete JSON lines written by another process (a worker, cluster/log-relay.ts) through this
   * destination and format, so one writer owns the output.
   */
  write(lines: string): void;
}

export class LogFileError extends Error {
  readonly code = 'LOG_FILE';

  constructor(file: string, cause: NodeJS.ErrnoException) {
    super(`cannot open the log file ${file}: ${cause.code ?? cause.message}`, { cause });
    this.name = 'LogFileError';
  }
}

/** Opens and closes the file once, so a missing directory or a permission problem stops the start with a clear error. */
function checkWritable(file: string): void {
  try {
    closeSync(openSync(file, 'a', 0o640));
  } catch (err) {
    throw new LogFileError(file, err as NodeJS.ErrnoException);
  }
}

/** The mode and owner a log file had when it was opened, to give a recreated one. */
interface FileAttributes {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

function attributesOf(file: string): FileAttributes {
  const { mode, uid, gid } = statSync(file);
  return { mode: mode & 0o7777, uid, gid };
}

/**
 * Before a reopen: when logrotate moved the file away without creating a new one (nocreate, or a hand-made
 * `mv`), creates it with the mode and owner the file had, so a 0640 log does not come back 0644 (umask) or
 * with another group. A file that exists already is logrotate's `create`: left alone. A change of owner the
 * process may not make (not root) keeps its own.
 */
function recreateLike(file: string, { mode, uid, gid }: FileAttributes): void {
  let created: number;
  try {
    created = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL, mode);
  } catch {
    return; // exists already, or cannot be created: the reopen itself reports a file it cannot open
  }
  try {
    fchmodSync(created, mode);
    try {
      fchownSync(created, uid, gid);
    } catch {
      // EPERM for an unprivileged gateway whose file had another owner: the mode is kept all the same.
    }
  } finally {
    closeSync(created);
  }
}

/**
 * Opens the configured destination and builds the logger. Pretty output is colourised only when it goes to
 * a terminal (`isTerminal`), never into a file. JSON lines into a pipe or socket (journald, a container
 * runtime, a supervisor) are written from the event loop (pipe-destination.ts); a file, a terminal and
 * pretty output go through pino's asynchronous file destination.
 */
export function openLog(config: LogConfig, isTerminal = process.stdout.isTTY === true): LogHandle {
  if (config.file === undefined && config.format === 'json' && PipeDestination.suits(1)) return openPipeLog(config);
  if (config.file !== undefined) checkWritable(config.file);
  let attributes = config.file === undefined ? undefined : attributesOf(config.file);
  // JSON lines are collected into blocks here (line-blocks.ts); pretty lines pass pino-pretty first.
  const blocked = config.format === 'json' && config.bufferBytes > 0;
  const destination = pino.destination({ dest: config.file ?? 1, sync: false, minLength: config.bufferBytes, append: true, mkdir: false });
  const blocks = blocked ? new LineBlocks(destination, config.bufferBytes) : undefined;
  // A file that cannot be reopened (directory removed) must not take the gateway down with it.
  // Buffered lines still reach the file promptly when traffic is light.
  if (config.bufferBytes > 0) setInterval(() => (blocks ?? destination).flush(), LOG_FLUSH_MS).unref();
  // After every (re)open: the file as it is now (logrotate's `create` may have given it another mode).
  destination.on('ready', () => {
    if (config.file === undefined) return;
    try {
      attributes = attributesOf(config.file);
    } catch {
      // moved again already: the attributes known so far stay
    }
  });
  destination.on('error', (err: NodeJS.ErrnoException) => {
    process.stderr.write(`oms-gateway: cannot write the log: ${err.code ?? err.message}\n`);
  });
  const stream: DestinationStream =
    config.format === 'pretty'
      ? pretty({
          // pino-pretty parses the JSON line again, undoing its escapes: escape its output too.
          destination: escapingPipe(destination),
          colorize: config.file === undefined && isTerminal,
          translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
          ignore: 'pid,hostname',
          singleLine: true,
        })
      : (blocks ?? destination);
  const logger = pino(loggerOptions(config.level), stream);
  return {
    logger,
    file: config.file,
    reopen: () => {
      if (config.file === undefined) return;
      if (attributes !== undefined) recreateLike(config.file, attributes);
      destination.reopen();
    },
    write: (lines) => {
      stream.write(escapeUnsafeCharacters(lines));
    },
  };
}

/** JSON lines into the pipe or socket on standard output, batched as log.bufferBytes says. */
function openPipeLog(config: LogConfig): LogHandle {
  const destination = new PipeDestination(process.stdout, config.bufferBytes);
  if (config.bufferBytes > 0) setInterval(() => destination.flush(), LOG_FLUSH_MS).unref();
  return {
    logger: pino(loggerOptions(config.level), destination),
    file: undefined,
    reopen: () => undefined,
    write: (lines) => destination.write(escapeUnsafeCharacters(lines)),
  };
}

/** What every destination's records share: level labels, ISO times, credentials censored, unsafe characters escaped. */
function loggerOptions(level: LogConfig['level']): LoggerOptions {
  return {
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }), log: censorCredentials },
    hooks: { streamWrite: escapeUnsafeCharacters },
  };
}

/**
 * A worker's logger: JSON lines, unbuffered, into its standard output, which the supervisor reads and
 * passes on through its own destination (cluster/log-relay.ts) — a pipe, as the supervisor starts its
 * workers; anything else is written as openLog() would.
 */
export function openWorkerLog(level: LogConfig['level']): Logger {
  return openLog({ level, format: 'json', file: undefined, bufferBytes: 0 }, false).logger;
}

/** A stream that passes text on to `destination` with escapeUnsafeCharacters applied, keeping its backpressure. */
function escapingPipe(destination: ReturnType<typeof pino.destination>): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      if (!destination.write(escapeUnsafeCharacters(chunk.toString()))) destination.once('drain', () => done());
      else done();
    },
    // pino-pretty ends its destination when the logger closes; pass that on, as its own pipe would.
    final(done) {
      destination.end();
      done();
    },
  });
}

/** How long a process ending on a fatal error waits for its last lines to reach the log, should the reader be stuck. */
export const EXIT_FLUSH_MS = 5_000;

/**
 * Ends the process with `code` once every line logged so far has been handed to the log, and after
 * EXIT_FLUSH_MS at the latest: lines still queued behind a slow reader would be lost to an exit at once.
 */
export function exitAfterFlush(logger: Logger, code: number): void {
  setTimeout(() => process.exit(code), EXIT_FLUSH_MS).unref();
  logger.flush(() => process.exit(code));
}

/** Writes one audit record: a stable event name, its numeric ID and the record's fields. */
export function audit(
  logger: Logger,
  level: Level,
  event: EventName,
  fields: Readonly<Record<string, unknown>>,
  message?: string,
): void {
  if (!logger.isLevelEnabled(level)) return;
  const record = { event, eventId: EVENTS[event], ...fields };
  if (!writeRecordLine(logger, level, record, message ?? event)) logger[level](record, message ?? event);
}

/**
 * Reopens the log file on each signal logrotate may send. SIGHUP also reloads the configuration (another
 * listener does that); SIGUSR2 is handled even without a file, so a stray one never ends the process.
 */
export function reopenLogOnSignals(log: LogHandle, signals: readonly NodeJS.Signals[] = ['SIGHUP', 'SIGUSR2']): void {
  for (const signal of signals) {
    process.on(signal, () => {
      if (log.file === undefined) return;
      log.reopen();
      audit(log.logger, 'info', 'log-reopened', { signal, file: log.file });
    });
  }
}
